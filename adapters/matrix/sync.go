package matrix

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

// Documents the adapter keeps in Vigil's store.
const (
	stateCollection = "matrix"
	dmCollection    = "matrix.dms"
)

// syncer is mautrix's DefaultSyncer (which the crypto helper extends with
// its own listeners) with one change: after a batch is processed it runs
// the batch's events, waits for them, and only then stores the next-batch
// token. mautrix saves the token before processing; Vigil's syncStore
// ignores that save, so a crash mid-batch replays the batch (the engine
// drops events it has already handled, by event id) instead of losing it.
type syncer struct {
	*mautrix.DefaultSyncer
	a *Adapter
}

func newSyncer(a *Adapter) *syncer {
	s := &syncer{DefaultSyncer: mautrix.NewDefaultSyncer(), a: a}
	s.OnEventType(event.EventMessage, a.onMessage)
	s.OnEventType(event.EventReaction, a.onReaction)
	s.OnEventType(event.EventRedaction, a.onRedaction)
	s.OnEventType(event.StateMember, a.onMember)
	s.OnEventType(event.StateEncryption, a.onRoomState)
	s.OnEventType(event.StateJoinRules, a.onRoomState)
	return s
}

// OnFailedSync hands a failed /sync back to the adapter's sync loop, which
// waits on the engine's clock and reports the outage (mautrix's default
// sleeps 10 s on the wall clock, out of sight of /readyz).
func (s *syncer) OnFailedSync(_ *mautrix.RespSync, err error) (time.Duration, error) {
	return 0, err
}

// ProcessResponse handles one sync batch, then records its token.
func (s *syncer) ProcessResponse(ctx context.Context, res *mautrix.RespSync, since string) error {
	batch := []bot.Event{}
	s.a.mu.Lock()
	s.a.batch = &batch
	s.a.mu.Unlock()
	err := s.DefaultSyncer.ProcessResponse(ctx, res, since)
	s.a.mu.Lock()
	events := *s.a.batch
	s.a.batch = nil
	s.a.mu.Unlock()
	if err != nil {
		return err
	}
	s.a.conn.Up()
	s.a.runRechecks(ctx)
	s.a.runBatch(events)
	if err := s.a.saveNextBatch(ctx, res.NextBatch); err != nil {
		// The sync loop stops on this error; Run reports it. Going on
		// would risk replaying or skipping after a restart.
		return err
	}
	return nil
}

// runBatch handles a batch's events: one goroutine per conversation, each
// in order, then the edits and redactions, and returns when all are done.
func (a *Adapter) runBatch(events []bot.Event) {
	if len(events) == 0 {
		return
	}
	ctx, _ := a.gate.Base()
	conversations, changes := splitBatch(events)
	var wg sync.WaitGroup
	for _, evs := range conversations {
		wg.Go(func() {
			for _, ev := range evs {
				a.engine.HandleEvent(ctx, ev)
			}
		})
	}
	wg.Wait()
	for _, ev := range changes {
		a.engine.HandleEvent(ctx, ev)
	}
}

// splitBatch groups a batch's events by conversation (room and thread), in
// order, and sets the edits and redactions apart, in order, to run after
// them all: they name the message they change but not its thread, so the
// message may be in another conversation of the same batch.
func splitBatch(events []bot.Event) (conversations [][]bot.Event, changes []bot.Event) {
	index := map[string]int{}
	for _, ev := range events {
		if ev.Kind == bot.EventEdit || ev.Kind == bot.EventDelete {
			changes = append(changes, ev)
			continue
		}
		k := conversationKey(ev)
		i, ok := index[k]
		if !ok {
			i = len(conversations)
			index[k] = i
			conversations = append(conversations, nil)
		}
		conversations[i] = append(conversations[i], ev)
	}
	return conversations, changes
}

func conversationKey(ev bot.Event) string { return ev.Room.ID + "|" + ev.Thread.ID }

// accept queues an event: into the sync batch being processed, or (for a
// message decrypted after its batch, when its keys came late) behind the
// conversation's earlier work.
func (a *Adapter) accept(ev bot.Event) {
	a.mu.Lock()
	if a.batch != nil {
		*a.batch = append(*a.batch, ev)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	a.gate.Admit(func(ctx context.Context) {
		a.serial.Do(conversationKey(ev), func() { a.engine.HandleEvent(ctx, ev) })
	})
}

// initialSync reports whether ctx is the first sync without a stored token:
// its timeline is history, and old commands must not run again.
func initialSync(ctx context.Context) bool {
	since, ok := ctx.Value(mautrix.SyncTokenContextKey).(string)
	return ok && since == ""
}

func (a *Adapter) onMessage(ctx context.Context, evt *event.Event) {
	if evt.Sender == a.userID || initialSync(ctx) {
		return
	}
	if evt.Mautrix.EventSource&event.SourceTimeline == 0 && evt.Mautrix.EventSource&event.SourceDecrypted == 0 {
		return
	}
	content := evt.Content.AsMessage()
	if content == nil || content.MsgType == event.MsgNotice {
		// Notices are what bots send; answering them invites loops.
		return
	}
	rel := content.RelatesTo
	room := string(evt.RoomID)
	dm := a.isDMRoom(room, evt.Sender)
	if (rel != nil && rel.Type == event.RelReplace) || content.NewContent != nil {
		a.onEdit(ctx, evt, content, dm)
		return
	}
	text := stripReplyFallback(content.Body)
	ev := bot.Event{
		Kind:    bot.EventMessage,
		ID:      string(evt.ID),
		Room:    roomRef(room),
		User:    userRef(evt.Sender),
		DM:      dm,
		Message: bot.MessageRef{Room: roomRef(room), ID: string(evt.ID)},
		Text:    text,
		Prefix:  a.prefix,
	}
	if root := rel.GetThreadParent(); root != "" && !dm {
		ev.Thread = bot.ThreadRef{Room: ev.Room, ID: string(root)}
	}
	if rest, ok := commandText(text, a.prefix); ok {
		ev.Kind, ev.Text = bot.EventCommand, rest
		if ev.Thread.IsZero() && !dm {
			// The answer starts a thread on the command, where a form's
			// questions follow.
			ev.Thread = bot.ThreadRef{Room: ev.Room, ID: string(evt.ID)}
		}
		a.accept(ev)
		return
	}
	// "2" in reply to a message with buttons presses its second button.
	// Form choices stay messages: the form reads the number against the
	// question it is on now, whichever message was replied to.
	if n, err := strconv.Atoi(strings.TrimSpace(text)); err == nil {
		if target := rel.GetReplyTo(); target != "" {
			if rec, ok := a.buttonsOf(ctx, target); ok && n >= 1 && n <= len(rec.Buttons) && rec.Buttons[n-1].Action != bot.ActionFormChoice && !a.wasRedacted(ctx, target) {
				a.accept(a.pressEvent(evt, rec, target, n, dm))
				return
			}
		}
	}
	a.accept(ev)
}

func (a *Adapter) onReaction(ctx context.Context, evt *event.Event) {
	if evt.Sender == a.userID || initialSync(ctx) {
		return
	}
	content := evt.Content.AsReaction()
	if content == nil || content.RelatesTo.Type != event.RelAnnotation {
		return
	}
	target, key := content.RelatesTo.EventID, content.RelatesTo.Key
	if a.wasRedacted(ctx, target) {
		a.log.Info("ignoring a reaction on a removed message", "room", evt.RoomID, "event", evt.ID, "target", target)
		return
	}
	room := string(evt.RoomID)
	dm := a.isDMRoom(room, evt.Sender)
	if n := keycapNumber(key); n > 0 {
		if rec, ok := a.buttonsOf(ctx, target); ok && n <= len(rec.Buttons) {
			a.accept(a.pressEvent(evt, rec, target, n, dm))
			return
		}
	}
	ev := bot.Event{
		Kind:     bot.EventReaction,
		ID:       string(evt.ID),
		Room:     roomRef(room),
		User:     userRef(evt.Sender),
		DM:       dm,
		Message:  bot.MessageRef{Room: roomRef(room), ID: string(target)},
		Reaction: key,
		Prefix:   a.prefix,
	}
	if rec, ok := a.buttonsOf(ctx, target); ok && rec.Thread != "" {
		ev.Thread = bot.ThreadRef{Room: ev.Room, ID: rec.Thread}
	}
	a.accept(ev)
}

// onEdit turns an edit (m.replace, the new text in m.new_content) into an
// EventEdit of the message it replaces. An edited command does not run
// again.
func (a *Adapter) onEdit(ctx context.Context, evt *event.Event, content *event.MessageEventContent, dm bool) {
	rel := content.RelatesTo
	if rel == nil || rel.Type != event.RelReplace || rel.EventID == "" {
		return
	}
	if !a.editByAuthor(ctx, evt, rel.EventID) {
		return
	}
	text := strings.TrimPrefix(content.Body, "* ") // the fallback for clients without edits
	if content.NewContent != nil {
		text = content.NewContent.Body
	}
	room := string(evt.RoomID)
	ev := bot.Event{
		Kind:    bot.EventEdit,
		ID:      string(evt.ID),
		Room:    roomRef(room),
		User:    userRef(evt.Sender),
		DM:      dm,
		Message: bot.MessageRef{Room: roomRef(room), ID: string(rel.EventID)},
		Text:    stripReplyFallback(text),
		Prefix:  a.prefix,
	}
	if rec, ok := a.buttonsOf(ctx, rel.EventID); ok && rec.Thread != "" && !dm {
		ev.Thread = bot.ThreadRef{Room: ev.Room, ID: rec.Thread}
	}
	a.accept(ev)
}

// editByAuthor reports whether evt, an edit of target, was made by the
// person who wrote target, as Matrix clients require before they show an
// edit: the homeserver accepts an m.replace from anyone. Other edits are
// ignored, logged without their content; so is an edit that cannot be
// checked now (the homeserver does not answer), since a pinned message
// rewritten by someone else would change an incident's record.
func (a *Adapter) editByAuthor(ctx context.Context, evt *event.Event, target id.EventID) bool {
	ignore := func(why string, args ...any) bool {
		a.log.Info("ignoring an edit: "+why, append([]any{"room", evt.RoomID, "event", evt.ID, "edited", target, "editor", evt.Sender}, args...)...)
		return false
	}
	if _, vigils, _ := a.loadRecord(ctx, target); vigils {
		return ignore("the message is Vigil's own", "author", a.userID)
	}
	orig, err := a.client.GetEvent(ctx, evt.RoomID, target)
	if err != nil {
		return ignore("the edited message could not be read", "err", classify("read the edited message", err))
	}
	if orig.Sender != evt.Sender {
		return ignore("not made by the message's author", "author", orig.Sender)
	}
	if orig.Unsigned.RedactedBecause != nil {
		return ignore("the message was removed")
	}
	return true
}

// redactedFor is how long a removed message is remembered, so reactions
// on it are ignored (longer than any report or incident stays open).
const redactedFor = 365 * 24 * time.Hour

func redactedKey(evt id.EventID) string { return "matrix.redacted:" + string(evt) }

// noteRedacted remembers that evt was removed.
func (a *Adapter) noteRedacted(ctx context.Context, evt id.EventID) {
	if _, err := a.engine.Store().MarkSeen(ctx, redactedKey(evt), a.engine.Clock().Now(), redactedFor); err != nil {
		a.log.Warn("could not record a removed message; reactions on it may still count", "event", evt, "err", err)
	}
}

// wasRedacted reports whether evt is a message seen removed. If that
// cannot be known (the store does not answer), it says so: a press or a
// pin on a message that may be gone is not acted on.
func (a *Adapter) wasRedacted(ctx context.Context, evt id.EventID) bool {
	gone, err := a.engine.Store().WasSeen(ctx, redactedKey(evt), a.engine.Clock().Now())
	if err != nil {
		a.log.Warn("could not check whether a message was removed; ignoring a reaction or reply to it", "event", evt, "err", err)
		return true
	}
	return gone
}

// onRedaction turns a redaction into an EventDelete of the message it
// removes ("redacts": in the content since room version 11, at the top
// level before).
func (a *Adapter) onRedaction(ctx context.Context, evt *event.Event) {
	target := evt.Content.AsRedaction().Redacts
	if target == "" {
		target = evt.Redacts
	}
	if target == "" {
		return
	}
	// Remembered whoever removed it and also from history (the first
	// sync), so a reaction on it never counts.
	a.noteRedacted(ctx, target)
	if evt.Sender == a.userID || initialSync(ctx) {
		return
	}
	room := string(evt.RoomID)
	ev := bot.Event{
		Kind:    bot.EventDelete,
		ID:      string(evt.ID),
		Room:    roomRef(room),
		User:    userRef(evt.Sender),
		DM:      a.isDMRoom(room, evt.Sender),
		Message: bot.MessageRef{Room: roomRef(room), ID: string(target)},
		Prefix:  a.prefix,
	}
	a.accept(ev)
}

// pressEvent is button n of the message target, pressed by evt's sender.
func (a *Adapter) pressEvent(evt *event.Event, rec buttonRecord, target id.EventID, n int, dm bool) bot.Event {
	room := string(evt.RoomID)
	b := rec.Buttons[n-1]
	ev := bot.Event{
		Kind:    bot.EventButton,
		ID:      string(evt.ID),
		Room:    roomRef(room),
		User:    userRef(evt.Sender),
		DM:      dm,
		Message: bot.MessageRef{Room: roomRef(room), ID: string(target)},
		Action:  b.Action,
		Value:   b.Value,
		Prefix:  a.prefix,
	}
	if rec.Thread != "" && !dm {
		ev.Thread = bot.ThreadRef{Room: ev.Room, ID: rec.Thread}
	}
	return ev
}

// onMember accepts invites from people in the directory (or from the
// configured servers, or to a configured room) and declines the rest.
func (a *Adapter) onMember(ctx context.Context, evt *event.Event) {
	if evt.GetStateKey() != string(a.userID) {
		return
	}
	content := evt.Content.AsMember()
	if content == nil {
		return
	}
	if evt.Mautrix.EventSource&event.SourceInvite == 0 {
		a.onOwnMembership(ctx, evt, content)
		return
	}
	if content.Membership != event.MembershipInvite {
		return
	}
	inviter := evt.Sender
	room := evt.RoomID
	if !a.mayInvite(inviter, room) {
		a.log.Warn("declining an invite from someone outside the directory", "room", room, "inviter", inviter)
		_, err := a.client.LeaveRoom(ctx, room, &mautrix.ReqLeave{Reason: "Vigil joins rooms only at the invitation of people in its directory."})
		if err != nil {
			a.log.Warn("could not decline an invite", "room", room, "err", classify("leave", err))
		}
		return
	}
	if _, err := a.client.JoinRoomByID(ctx, room); err != nil {
		a.log.Warn("could not accept an invite", "room", room, "inviter", inviter, "err", classify("join", err))
		return
	}
	a.log.Info("joined a room", "room", room, "inviter", inviter, "direct", content.IsDirect)
	if a.isSecurityRoom(room) {
		// Invited to a security room after the start: check it now, so
		// what waits for it goes out.
		a.noteRecheck(room)
	}
	if content.IsDirect {
		if err := a.rememberDM(ctx, inviter, string(room)); err != nil {
			a.log.Warn("could not record a direct room", "room", room, "err", err)
		}
	}
}

func (a *Adapter) mayInvite(inviter id.UserID, room id.RoomID) bool {
	for _, r := range a.rooms {
		if r == string(room) {
			return true
		}
	}
	if _, ok := a.engine.Directory().ByChat(userRef(inviter)); ok {
		return true
	}
	return a.inviteServers[strings.ToLower(inviter.Homeserver())]
}

// commandText returns what follows the prefix ("!sec help" -> "help").
func commandText(text, prefix string) (string, bool) {
	text = strings.TrimSpace(text)
	if text == prefix {
		return "", true
	}
	if rest, ok := strings.CutPrefix(text, prefix); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\n' || rest[0] == '\t') {
		return strings.TrimSpace(rest), true
	}
	return "", false
}

// stripReplyFallback drops the "> quoted" lines older clients put before a
// reply's text.
func stripReplyFallback(body string) string {
	if !strings.HasPrefix(body, "> ") {
		return body
	}
	lines := strings.Split(body, "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], ">") {
		i++
	}
	if i < len(lines) && lines[i] == "" {
		i++
	}
	return strings.Join(lines[i:], "\n")
}

// syncStore keeps the next-batch token in Vigil's store. Saves from
// mautrix's sync loop (made before processing) are ignored; the syncer
// saves after the batch is handled. The filter id only lives in memory: a
// new one per start costs one request.
type syncStore struct {
	a        *Adapter
	mu       sync.Mutex
	filterID string
}

var _ mautrix.SyncStore = (*syncStore)(nil)

func (s *syncStore) SaveFilterID(_ context.Context, _ id.UserID, filterID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filterID = filterID
	return nil
}

func (s *syncStore) LoadFilterID(context.Context, id.UserID) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filterID, nil
}

func (s *syncStore) SaveNextBatch(context.Context, id.UserID, string) error { return nil }

func (s *syncStore) LoadNextBatch(ctx context.Context, _ id.UserID) (string, error) {
	doc, err := s.a.engine.Store().Get(ctx, stateCollection, s.a.tokenKey())
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load the sync token: %w", err)
	}
	return string(doc.Data), nil
}

func (a *Adapter) tokenKey() string { return "next_batch:" + string(a.userID) }

func (a *Adapter) saveNextBatch(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if _, err := a.engine.Store().Put(ctx, stateCollection, a.tokenKey(), []byte(token), store.AnyVersion); err != nil {
		return fmt.Errorf("store the sync token: %w", err)
	}
	return nil
}
