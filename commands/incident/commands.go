package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
)

var idFlag = bot.FlagSpec{Name: "id", Value: "INC-ID", Help: "the incident (default: the war room you are in, or the one open incident)"}

func (inc *Incidents) command() *bot.Command {
	team := teamRoles
	return &bot.Command{
		Name:    "incident",
		Summary: "War rooms, the timeline and the public write-up of security incidents",
		Help: "An incident gets a war-room thread in the private room with a status header. React " + inc.o.PinReaction +
			" to a message in it to put it on the timeline, " + inc.o.EvidenceReaction + " to keep it as evidence.",
		Roles: team,
		Sub: []*bot.Command{
			{Name: "start", Summary: "open a war room and lead it", Usage: `"TITLE"`, Roles: team, MinArgs: 1, MaxArgs: -1,
				Flags:    []bot.FlagSpec{{Name: "room", Bool: true, Help: "a new private channel or room for the war room, with the team invited (Slack, Matrix)"}},
				Examples: []string{`incident start "Leaked deploy token"`}, Run: inc.runStart},
			{Name: "list", Summary: "incidents, open first", Roles: team, Run: inc.runList},
			{Name: "role", Summary: "name the lead, scribe or comms", Usage: "lead|scribe|comms @person", Roles: team, MinArgs: 2, MaxArgs: 2,
				Flags: []bot.FlagSpec{idFlag}, Run: inc.runRole},
			{Name: "status", Summary: "set the status line of the header", Usage: `"TEXT"`, Roles: team, MinArgs: 1, MaxArgs: -1,
				Flags: []bot.FlagSpec{idFlag}, Run: inc.runStatus},
			{Name: "log", Summary: "add a timeline entry by hand", Usage: `"TEXT" [--at TIME] [--evidence]`, Roles: team, MinArgs: 1, MaxArgs: -1,
				Flags: []bot.FlagSpec{idFlag, {Name: "at", Value: "TIME", Help: "when it happened: 14:05, \"2026-01-05 14:05\" (your time zone, else UTC) or RFC 3339"},
					{Name: "evidence", Bool: true, Help: "keep it as evidence"}},
				Examples: []string{`incident log "token revoked" --at 14:05`}, Run: inc.runLog},
			{Name: "entry", Summary: "correct or remove a timeline entry", Usage: `N "TEXT" | N --remove`, Roles: team, MinArgs: 1, MaxArgs: -1,
				Flags: []bot.FlagSpec{idFlag, {Name: "remove", Bool: true, Help: "take it off the record"}}, Run: inc.runEntry},
			{Name: "timeline", Summary: "the timeline so far", Roles: team, Flags: []bot.FlagSpec{idFlag}, Run: inc.runTimeline},
			{Name: "evidence", Summary: "the evidence kept", Roles: team, Flags: []bot.FlagSpec{idFlag}, Run: inc.runEvidence},
			{Name: "resolve", Summary: "record the end of the incident", Roles: team, Flags: []bot.FlagSpec{idFlag}, Run: inc.runResolve},
			{Name: "writeup", Summary: "preview the public write-up", Roles: team, Flags: []bot.FlagSpec{idFlag}, Run: inc.runWriteup,
				Sub: []*bot.Command{
					{Name: "edit", Summary: "replace one section", Usage: `tldr|summary|timeline|references|evidence "TEXT"`, Roles: team, MinArgs: 2, MaxArgs: -1,
						Flags: []bot.FlagSpec{idFlag}, Run: inc.runWriteupEdit},
					{Name: "authors", Summary: "who signs the write-up", Usage: "@a,@b", Roles: team, MinArgs: 1, MaxArgs: 1,
						Flags: []bot.FlagSpec{idFlag}, Run: inc.runAuthors},
				}},
			{Name: "publish", Summary: "publish the write-up as a pinned GitHub issue (after the scan and a confirmation)", Roles: team,
				Flags: []bot.FlagSpec{idFlag, {Name: "confirm", Bool: true, Help: "publish the write-up whose scan was shown"}}, Run: inc.runPublish},
			{Name: "unpin", Summary: "unpin the published issue (no sooner than three days after resolution)", Roles: team,
				Flags: []bot.FlagSpec{idFlag}, Run: inc.runUnpinNow},
		},
	}
}

// target finds the incident a command is about: --id, else the war room
// the command was given in, else the one open incident, else the latest.
func (inc *Incidents) target(ctx context.Context, req *bot.Request) (*Incident, error) {
	if id, ok := req.Flags.Lookup("id"); ok {
		in, _, err := inc.load(ctx, strings.ToUpper(strings.TrimSpace(id)))
		return in, err
	}
	if !req.Event.DM {
		if in, err := inc.ownRoomIncident(ctx, req.Event.Room); in != nil || err != nil {
			return in, err
		}
	}
	if !req.Event.Thread.IsZero() {
		ids, err := inc.e.Store().List(ctx, coll)
		if err != nil {
			return nil, fmt.Errorf("incidents: %w", err)
		}
		for _, id := range ids {
			ref, ok, err := inc.e.Outbox().PostedRef(ctx, rootID(id))
			if err != nil {
				return nil, err
			}
			if ok && ref.Room == req.Event.Room && ref.ID == req.Event.Thread.ID {
				in, _, err := inc.load(ctx, id)
				return in, err
			}
		}
	}
	open, err := inc.openIncidents(ctx)
	if err != nil {
		return nil, err
	}
	switch len(open) {
	case 1:
		return open[0], nil
	case 0:
		all, err := inc.all(ctx)
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, bot.Noticef("There is no incident yet (`%s incident start \"TITLE\"`).", req.Prefix())
		}
		return all[0], nil
	}
	ids := make([]string, len(open))
	for i, in := range open {
		ids[i] = in.ID
	}
	sort.Strings(ids)
	return nil, bot.Usagef("several incidents are open (%s): say which with --id, or speak in its war room", strings.Join(ids, ", "))
}

// ownRoomIncident finds the incident whose own room (start --room) room
// is, or nil.
func (inc *Incidents) ownRoomIncident(ctx context.Context, room bot.RoomRef) (*Incident, error) {
	all, err := inc.all(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		if in.OwnRoom && in.Room == room {
			return in, nil
		}
	}
	return nil, nil
}

// all lists every incident, newest first.
func (inc *Incidents) all(ctx context.Context) ([]*Incident, error) {
	ids, err := inc.e.Store().List(ctx, coll)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	var out []*Incident
	for _, id := range ids {
		in, _, err := inc.load(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func (inc *Incidents) reply(ctx context.Context, req *bot.Request, msg bot.Message) error {
	msg.Sensitive = true
	_, err := req.Reply(ctx, msg)
	return err
}

func (inc *Incidents) replyf(ctx context.Context, req *bot.Request, format string, args ...any) error {
	return inc.reply(ctx, req, bot.Message{Text: fmt.Sprintf(format, args...)})
}

// announcef tells the room about a change to an incident (the text says
// who did what), where replyf answers the asker only.
func (inc *Incidents) announcef(ctx context.Context, req *bot.Request, format string, args ...any) error {
	_, err := req.Announce(ctx, bot.Message{Text: fmt.Sprintf(format, args...), Sensitive: true})
	return err
}

func (inc *Incidents) runStart(ctx context.Context, req *bot.Request) error {
	title := strings.TrimSpace(strings.Join(req.Args, " "))
	if title == "" {
		return bot.Usagef("an incident needs a title")
	}
	ownRoom := req.Flags.Has("room")
	adapter := req.Event.User.Adapter
	if ownRoom && !inc.e.CanCreateRooms(adapter) {
		return bot.Noticef("`--room` is not available on %s: this chat cannot create rooms for Vigil, so start the incident without `--room` and its war room is a thread in the private room.", adapter)
	}
	room := req.Event.Room
	if req.Event.DM || !inc.e.IsPrivate(room) {
		to, ok := inc.e.SecurityRoom(req.Event.Room.Adapter)
		if !ok {
			return bot.Noticef("There is no private security room to open the war room in (`rooms:` in the configuration).")
		}
		room = to.Room
	}
	now := req.Now()
	id, err := inc.nextID(ctx, now.UTC().Year())
	if err != nil {
		return err
	}
	in := &Incident{ID: id, Title: bot.Untrusted(title), State: stateOpen, Room: room, Started: now, StartedBy: req.Actor(),
		Roles: map[string]string{"lead": req.Actor()}, Headers: 1}
	in.Authors = []string{req.Actor()}
	privateRoom := room
	if ownRoom {
		in.RoomName = roomName(id, title)
		created, err := inc.e.CreatePrivateRoom(ctx, adapter, in.RoomName, id+": "+title+" (war room, private)", inc.teamAccounts(adapter))
		if err != nil {
			return inc.roomFailed(ctx, req, id, err)
		}
		in.Room, in.OwnRoom = created, true
	}
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if _, err := inc.e.Store().Put(ctx, coll, id, data, 0); err != nil {
		return fmt.Errorf("save incident %s: %w", id, err)
	}
	if err := inc.e.Store().SetAdd(ctx, openSet, id); err != nil {
		return fmt.Errorf("incident %s: %w", id, err)
	}
	if err := req.Record(ctx, "incident.start", id, title); err != nil {
		return err
	}
	if ownRoom {
		if err := req.Record(ctx, "incident.room", id, in.Room.String()+" "+in.RoomName); err != nil {
			return err
		}
	}
	if err := inc.postHeader(ctx, in); err != nil {
		return err
	}
	if !ownRoom {
		return inc.announcef(ctx, req, "%s opened incident %s; its war room is the thread under the status header. %s leads.", req.ActorMention(), id, bot.PersonToken(in.Roles["lead"]))
	}
	where := fmt.Sprintf("%s opened incident %s (%s); its war room is the private room %s, with the team invited. %s leads.",
		req.ActorMention(), id, title, bot.RoomMention(in.Room, in.RoomName), bot.PersonToken(in.Roles["lead"]))
	if req.Event.DM || req.Event.Room != privateRoom {
		// Tell the private room too, not only the person who asked.
		if err := inc.e.Post(ctx, "incident:"+id+":room-pointer", bot.ToRoom(privateRoom, bot.ThreadRef{}), bot.Message{Text: where, Sensitive: true}); err != nil {
			return err
		}
	}
	return inc.announcef(ctx, req, "%s", where)
}

// teamAccounts are the accounts on adapter of everyone on the team
// (responders and admins), to invite into a new war room.
func (inc *Incidents) teamAccounts(adapter string) []bot.UserRef {
	var out []bot.UserRef
	for _, p := range inc.e.Directory().All() {
		if !p.OnTeam() {
			continue
		}
		if ref, ok := p.ChatRef(adapter); ok {
			out = append(out, ref)
		}
	}
	return out
}

// roomFailed answers a room that could not be created. The incident's
// number is spent; nothing else was stored, so starting again is safe.
func (inc *Incidents) roomFailed(ctx context.Context, req *bot.Request, id string, err error) error {
	inc.e.Logger().Warn("could not create an incident room", "incident", id, "err", err)
	if rerr := req.Record(ctx, "incident.room.failed", id, err.Error()); rerr != nil {
		return rerr
	}
	why := "the chat service refused"
	switch {
	case errors.Is(err, bot.ErrRateLimited):
		why = "the chat service is rate-limiting Vigil"
	case errors.Is(err, bot.ErrUnavailable):
		why = "the chat service did not answer"
	}
	return bot.Noticef("Could not create the war room for %s (%s); no incident was opened. Try again, or start it without `--room` for a thread in the private room.", id, why)
}

// roomName names an incident's room from its id and title, e.g.
// inc-2026-1-leaked-deploy-token: lower case, hyphens, at most 60
// characters (adapters apply their own rules on top).
func roomName(id, title string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(id))
	dash := true
	for _, r := range strings.ToLower(title) {
		if b.Len() >= 60 {
			break
		}
		if unicode.IsLetter(r) && r < utf8.RuneSelf || unicode.IsDigit(r) && r < utf8.RuneSelf {
			if dash {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	name := strings.TrimRight(b.String(), "-")
	if b.Len() >= 60 && strings.LastIndexByte(name, '-') > len(id) {
		name = name[:strings.LastIndexByte(name, '-')] // no cut word
	}
	return name
}

// listState is an incident's state in "incident list": an open incident
// runs since its start, a resolved one says when it ended and how long it
// lasted (its start is not when it was resolved).
func listState(in *Incident) string {
	if in.State == stateResolved && !in.Resolved.IsZero() {
		return fmt.Sprintf("started %s, resolved %s after %s", stamp(in.Started, true), stamp(in.Resolved, true), textutil.Duration(in.Resolved.Sub(in.Started)))
	}
	return fmt.Sprintf("%s since %s", in.State, stamp(in.Started, true))
}

func (inc *Incidents) runList(ctx context.Context, req *bot.Request) error {
	all, err := inc.all(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return inc.replyf(ctx, req, "No incidents.")
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].State == stateOpen && all[j].State != stateOpen })
	var b strings.Builder
	for _, in := range all {
		fmt.Fprintf(&b, "%s %s (%s, lead @%s)", in.ID, in.Title, listState(in), in.Roles["lead"])
		if in.OwnRoom {
			fmt.Fprintf(&b, " in %s", bot.RoomMention(in.Room, in.RoomName))
		}
		if in.Issue != nil {
			fmt.Fprintf(&b, " <%s|published>", in.Issue.URL)
		}
		b.WriteByte('\n')
	}
	return inc.reply(ctx, req, bot.Message{Header: "Incidents", Text: strings.TrimRight(b.String(), "\n")})
}

func (inc *Incidents) person(arg string) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(arg), "@"))
	if _, ok := inc.e.Directory().ByName(name); !ok {
		return "", bot.Usagef("there is no @%s in the people directory", name)
	}
	return name, nil
}

func (inc *Incidents) runRole(ctx context.Context, req *bot.Request) error {
	role := strings.ToLower(req.Args[0])
	if !slices.Contains(roleNames, role) {
		return bot.Usagef("the roles are %s, not %q", strings.Join(roleNames, ", "), req.Args[0])
	}
	who, err := inc.person(req.Args[1])
	if err != nil {
		return err
	}
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	if in.Roles[role] == who {
		return bot.Noticef("@%s is already %s of %s.", who, role, in.ID)
	}
	in, err = inc.changeHeader(ctx, in.ID, func(in *Incident) error {
		in.Roles[role] = who
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "incident.role", in.ID, role+" @"+who); err != nil {
		return err
	}
	return inc.announcef(ctx, req, "%s made %s %s of %s.", req.ActorMention(), bot.PersonToken(who), role, in.ID)
}

func (inc *Incidents) runStatus(ctx context.Context, req *bot.Request) error {
	text := strings.TrimSpace(strings.Join(req.Args, " "))
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	in, err = inc.changeHeader(ctx, in.ID, func(in *Incident) error {
		in.Status = text
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "incident.status", in.ID, text); err != nil {
		return err
	}
	return inc.announcef(ctx, req, "%s updated the status of %s in the war room's header.", req.ActorMention(), in.ID)
}

func (inc *Incidents) runResolve(ctx context.Context, req *bot.Request) error {
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	if in.State == stateResolved {
		return bot.Noticef("%s was resolved at %s.", in.ID, stamp(in.Resolved, true))
	}
	in, err = inc.changeHeader(ctx, in.ID, func(in *Incident) error {
		if in.State == stateResolved {
			return bot.Noticef("%s was resolved at %s.", in.ID, stamp(in.Resolved, true))
		}
		in.State, in.Resolved, in.ResolvedBy = stateResolved, req.Now(), req.Actor()
		return nil
	})
	if err != nil {
		return err
	}
	if err := inc.e.Store().SetRemove(ctx, openSet, in.ID); err != nil {
		return fmt.Errorf("incident %s: %w", in.ID, err)
	}
	if err := req.Record(ctx, "incident.resolve", in.ID, ""); err != nil {
		return err
	}
	return inc.announcef(ctx, req, "%s resolved %s after %s. Next: `%s incident writeup` to preview the public write-up.", req.ActorMention(), in.ID, textutil.Duration(in.Resolved.Sub(in.Started)), req.Prefix())
}

func (inc *Incidents) runAuthors(ctx context.Context, req *bot.Request) error {
	var names []string
	for _, part := range strings.Split(req.Args[0], ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, err := inc.person(part)
		if err != nil {
			return err
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return bot.Usagef("name at least one author")
	}
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	in, err = inc.update(ctx, in.ID, func(in *Incident) error {
		in.Authors = names
		return nil
	})
	if err != nil {
		return err
	}
	return inc.announcef(ctx, req, "%s set the authors of the %s write-up: @%s.", req.ActorMention(), in.ID, strings.Join(names, ", @"))
}
