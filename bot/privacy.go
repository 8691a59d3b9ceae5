package bot

import (
	"fmt"
	"sort"
	"strings"
)

// IsPrivate reports whether report details may be shown in room.
func (e *Engine) IsPrivate(room RoomRef) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.private[room] && e.demoted[room] == ""
}

// DemoteRoom withdraws a configured room's private status for now: the
// adapter found the channel public, the bot not a member, the room not
// encrypted, or could not check it yet. Sensitive content is not shown
// there until PromoteRoom; messages the outbox holds for it wait. Calling
// it again with the same reason changes nothing (adapters re-check rooms
// periodically), so only a change is logged.
func (e *Engine) DemoteRoom(room RoomRef, reason string) {
	if reason == "" {
		reason = "not usable"
	}
	e.mu.Lock()
	prev := e.demoted[room]
	e.demoted[room] = reason
	e.mu.Unlock()
	if prev != reason {
		e.log.Warn("security room not usable for report details; messages for it wait", "room", room.String(), "reason", reason)
	}
}

// PromoteRoom ends a demotion: the adapter checked the room again and it
// is private (invite-only, encrypted, the bot a member). Messages held for
// it go out at once. A room that was never configured or created private
// stays what it was: promotion restores, it never grants.
func (e *Engine) PromoteRoom(room RoomRef) {
	e.mu.Lock()
	prev, was := e.demoted[room]
	delete(e.demoted, room)
	e.mu.Unlock()
	if !was {
		return
	}
	e.log.Info("security room checked: private again, report details may be posted there", "room", room.String(), "was", prev)
	e.wakeUp()
}

// DemotionReason says why a room is demoted, or "" when it is not.
func (e *Engine) DemotionReason(room RoomRef) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.demoted[room]
}

// PrivateRooms returns the rooms that count as private now.
func (e *Engine) PrivateRooms() []RoomRef {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []RoomRef
	for r := range e.private {
		if e.demoted[r] == "" {
			out = append(out, r)
		}
	}
	return out
}

// adapterOrder lists the connected adapters in order of preference: the
// one asked for, then Slack, Matrix, any others by name, the console last.
func (e *Engine) adapterOrder(prefer string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rank := func(name string) int {
		switch name {
		case prefer:
			return 0
		case AdapterSlack:
			return 1
		case AdapterMatrix:
			return 2
		case AdapterConsole:
			return 4
		}
		return 3
	}
	names := make([]string, 0, len(e.adapters))
	for name := range e.adapters {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// DMFor returns the destination for a direct message to p, preferring the
// adapter given (the one the person just spoke on) and otherwise the first
// connected adapter the person has an account on.
func (e *Engine) DMFor(p *Person, prefer string) (Destination, bool) {
	for _, name := range e.adapterOrder(prefer) {
		if ref, ok := p.ChatRef(name); ok {
			return ToUser(ref), true
		}
	}
	return Destination{}, false
}

// SecurityRoom returns the destination for announcements in the private
// room of the preferred adapter (or any connected one): a configured
// security room that is usable now, never a room Vigil created.
func (e *Engine) SecurityRoom(prefer string) (Destination, bool) {
	var rooms []RoomRef
	e.mu.RLock()
	for r := range e.configured {
		if e.private[r] && e.demoted[r] == "" {
			rooms = append(rooms, r)
		}
	}
	e.mu.RUnlock()
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].String() < rooms[j].String() })
	for _, name := range e.adapterOrder(prefer) {
		for _, r := range rooms {
			if r.Adapter == name {
				return ToRoom(r, ThreadRef{}), true
			}
		}
	}
	return Destination{}, false
}

// checkPrivacy enforces the privacy rule: sensitive content goes only to a
// private security room or a DM with a person who is on the team or named
// in the message's audience.
func (e *Engine) checkPrivacy(to Destination, msg Message) error {
	if !msg.Sensitive {
		return nil
	}
	if to.IsDM() {
		p, ok := e.directory.ByChat(to.DM)
		if !ok {
			return fmt.Errorf("%w: %s is not in the people directory", ErrPrivacy, to.DM)
		}
		if p.OnTeam() {
			return nil
		}
		for _, name := range msg.Audience {
			if name == p.Name {
				return nil
			}
		}
		return fmt.Errorf("%w: @%s is not on the security team", ErrPrivacy, p.Name)
	}
	if !e.IsPrivate(to.Room) {
		return fmt.Errorf("%w: %s is not a private security room", ErrPrivacy, to.Room)
	}
	return nil
}

// heldFor reports whether a message must wait for its room instead of
// being sent or refused: the room is a configured (or created) private
// room that cannot take it now, because its adapter is not connected yet
// or, for sensitive content, because an adapter found it not private yet
// (the bot not invited, the channel still public). Such a message waits
// uncapped and goes out when the room is promoted; a room that is not a
// private room at all is refused instead (checkPrivacy).
func (e *Engine) heldFor(to Destination, msg Message) (bool, string) {
	if to.IsDM() || to.Room.IsZero() {
		return false, ""
	}
	e.mu.RLock()
	private := e.private[to.Room]
	demoted := e.demoted[to.Room]
	a, connected := e.adapters[to.Room.Adapter]
	e.mu.RUnlock()
	if !private {
		return false, ""
	}
	if !connected {
		return true, fmt.Sprintf("the %s adapter is not connected yet", to.Room.Adapter)
	}
	if c, ok := a.(Connector); ok && !c.Connected() {
		return true, fmt.Sprintf("the %s adapter is not connected yet", to.Room.Adapter)
	}
	if demoted != "" && msg.Sensitive {
		return true, "the room is not usable as a private room yet: " + demoted
	}
	return false, ""
}

// roomsFingerprint sums up which rooms and adapters this replica can use
// now; the outbox re-arms held messages when it changes.
func (e *Engine) roomsFingerprint() string {
	rooms := e.PrivateRooms()
	parts := make([]string, 0, len(rooms)+4)
	for _, r := range rooms {
		parts = append(parts, r.String())
	}
	for name, up := range e.AdapterStates() {
		parts = append(parts, fmt.Sprintf("%s=%t", name, up))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// permit applies a command's or action's role and place rules.
func (e *Engine) permit(req *Request, roles []Role, where Where) error {
	if !allowed(req.Person, roles) {
		if req.Person == nil {
			return fmt.Errorf("%w: you are not in Vigil's people directory; ask an admin to add you", ErrForbidden)
		}
		return fmt.Errorf("%w: this needs the %s role", ErrForbidden, rolesText(roles))
	}
	if where == PrivateOnly && !req.Private {
		return fmt.Errorf("%w: this works only in the private security room", ErrForbidden)
	}
	return nil
}
