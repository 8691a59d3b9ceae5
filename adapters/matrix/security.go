package matrix

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/internal/reconnect"
)

// The security rooms are checked at start, again when sync shows a change
// (the bot invited to one, joining or leaving it, its m.room.encryption or
// m.room.join_rules changed), and every RecheckEvery for what sync did not
// tell. Each check promotes or demotes the room in the engine: report
// details go only to a room the bot is in that is invite-only and end-to-end
// encrypted; messages held for it meanwhile go out once it is.

func (a *Adapter) isSecurityRoom(rid id.RoomID) bool {
	return slices.Contains(a.rooms, string(rid))
}

// checkRooms checks every security room and reports whether a check failed
// for a reason that may pass (so the next one comes sooner). With join,
// the bot joins rooms it is not in (accepting a pending invite).
func (a *Adapter) checkRooms(ctx context.Context, join bool) (transient bool) {
	for _, r := range a.rooms {
		j := join
		if !j {
			// A room that is held may have an invite sync did not show.
			a.mu.Lock()
			j = a.verdicts[r] != ""
			a.mu.Unlock()
		}
		if a.checkRoom(ctx, id.RoomID(r), j) {
			transient = true
		}
	}
	return transient
}

// checkRoom checks one room, promotes or demotes it, and reports whether
// the check failed for a reason that may pass.
func (a *Adapter) checkRoom(ctx context.Context, rid id.RoomID, join bool) (transient bool) {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	reason, transient := a.roomProblem(ctx, rid, join)
	if ctx.Err() != nil {
		return false
	}
	a.setVerdict(rid, reason)
	return transient
}

// setVerdict records a room's verdict in the engine, logging a change.
func (a *Adapter) setVerdict(rid id.RoomID, reason string) {
	r := string(rid)
	a.mu.Lock()
	prev, seen := a.verdicts[r]
	a.verdicts[r] = reason
	a.mu.Unlock()
	if reason == "" {
		if !seen || prev != "" {
			a.log.Info("security room is invite-only and encrypted", "room", r)
		}
		a.engine.PromoteRoom(roomRef(r))
		return
	}
	if !seen || prev != reason {
		a.log.Error("security room refused: report details wait until it is fixed", "room", r, "reason", reason)
	}
	a.engine.DemoteRoom(roomRef(r), reason)
}

// roomProblem says what keeps a room from being a security room, or ""
// when nothing does; transient when the check itself failed for a reason
// that may pass. Failing closed: a room that cannot be checked is refused.
func (a *Adapter) roomProblem(ctx context.Context, rid id.RoomID, join bool) (reason string, transient bool) {
	unreachable := func(what string, err error) (string, bool) {
		if mayPass(err) {
			return fmt.Sprintf("Vigil could not %s (%s); it tries again shortly", what, cause(err)), true
		}
		return "", false
	}
	if join {
		// A no-op when the bot is in the room already; accepts a pending
		// invite to a configured room.
		if _, err := a.client.JoinRoomByID(ctx, rid); err != nil {
			if r, t := unreachable("join the room", err); t {
				return r, t
			}
			return fmt.Sprintf("the bot is not in the room and could not join it (%s); invite it", cause(err)), false
		}
	} else {
		var m event.MemberEventContent
		err := a.client.StateEvent(ctx, rid, event.StateMember, string(a.userID), &m)
		if err != nil {
			if r, t := unreachable("read the bot's membership", err); t {
				return r, t
			}
			return fmt.Sprintf("the bot is not in the room (%s); invite it", cause(err)), false
		}
		if m.Membership != event.MembershipJoin {
			return fmt.Sprintf("the bot is not in the room (membership %q); invite it", m.Membership), false
		}
	}
	var jr event.JoinRulesEventContent
	if err := a.client.StateEvent(ctx, rid, event.StateJoinRules, "", &jr); err != nil {
		if r, t := unreachable("read the room's join rule", err); t {
			return r, t
		}
		return fmt.Sprintf("Vigil could not read the room's join rule (%s)", cause(err)), false
	}
	if jr.JoinRule != event.JoinRuleInvite {
		return fmt.Sprintf("people can join without an invitation (join rule %q); make the room invite-only", jr.JoinRule), false
	}
	var enc event.EncryptionEventContent
	if err := a.client.StateEvent(ctx, rid, event.StateEncryption, "", &enc); err != nil && !errors.Is(err, mautrix.MNotFound) {
		if r, t := unreachable("read the room's encryption", err); t {
			return r, t
		}
	}
	if enc.Algorithm == "" {
		return "the room is not end-to-end encrypted; turn encryption on in its settings", false
	}
	if a.client.StateStore != nil {
		// The state store learns this from sync too; recording it now
		// means nothing is ever sent in plain text before the next sync.
		if err := a.client.StateStore.SetEncryptionEvent(ctx, rid, &enc); err != nil {
			a.log.Warn("could not record the room's encryption", "room", rid, "err", err)
		}
		// And the members: a room the bot just joined is not in the
		// state store until the next sync, and a message encrypted before
		// then would be readable by nobody.
		if _, err := a.client.Members(ctx, rid); err != nil {
			if r, t := unreachable("read the room's members", err); t {
				return r, t
			}
			return fmt.Sprintf("Vigil could not read the room's members (%s)", cause(err)), false
		}
	}
	return "", false
}

// recheckRooms checks the security rooms every RecheckEvery until ctx
// ends, sooner (with backoff) while a check fails for a reason that may
// pass.
func (a *Adapter) recheckRooms(ctx context.Context, transient bool) {
	if len(a.rooms) == 0 {
		return
	}
	failures := 0
	if transient {
		failures = 1
	}
	clk := a.engine.Clock()
	for {
		wait := a.recheckEvery
		if failures > 0 {
			wait = min(a.retry.Wait(failures), a.recheckEvery)
		}
		armed := func() {
			a.mu.Lock()
			a.nextRecheck = clk.Now().Add(wait)
			a.mu.Unlock()
		}
		if reconnect.Sleep(ctx, clk, wait, armed) != nil {
			return
		}
		if a.checkRooms(ctx, false) {
			failures++
		} else {
			failures = 0
		}
	}
}

// onRoomState notes a change of a security room's encryption or join
// rule, to check it again once the batch is processed.
func (a *Adapter) onRoomState(ctx context.Context, evt *event.Event) {
	if !a.isSecurityRoom(evt.RoomID) || initialSync(ctx) {
		return
	}
	a.noteRecheck(evt.RoomID)
}

// onOwnMembership handles a change of the bot's own membership in a
// security room: joined, it is checked again once the batch is processed;
// removed (left, kicked, banned), it is held at once.
func (a *Adapter) onOwnMembership(ctx context.Context, evt *event.Event, m *event.MemberEventContent) {
	if !a.isSecurityRoom(evt.RoomID) || evt.Mautrix.EventSource&event.SourceInvite != 0 {
		return
	}
	switch m.Membership {
	case event.MembershipJoin:
		if !initialSync(ctx) {
			a.noteRecheck(evt.RoomID)
		}
	case event.MembershipLeave, event.MembershipBan:
		if _, ready := a.gate.Base(); !ready {
			// History before the start-up check; it knows better.
			return
		}
		a.checkMu.Lock()
		defer a.checkMu.Unlock()
		a.setVerdict(evt.RoomID, fmt.Sprintf("the bot is no longer in the room (%s by %q); invite it again", m.Membership, evt.Sender))
	}
}

func (a *Adapter) noteRecheck(rid id.RoomID) {
	a.mu.Lock()
	a.recheck[string(rid)] = true
	a.mu.Unlock()
}

// runRechecks checks the rooms noted during a batch, after the batch is in
// the state store and before its events run, so a command in the same
// batch sees the room as it is now.
func (a *Adapter) runRechecks(ctx context.Context) {
	a.mu.Lock()
	rooms := make([]string, 0, len(a.recheck))
	for r := range a.recheck {
		rooms = append(rooms, r)
	}
	clear(a.recheck)
	a.mu.Unlock()
	slices.Sort(rooms)
	for _, r := range rooms {
		a.log.Debug("checking a security room again after a change", "room", r)
		a.checkRoom(ctx, id.RoomID(r), false)
	}
}
