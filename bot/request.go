package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// Request is one event being handled: who, where, what. Commands, button
// actions, form submissions and message hooks all receive one.
type Request struct {
	Event  Event
	Person *Person // nil when the speaker is not in the directory
	// Private is true in a private security room, and in a DM with a
	// member of the team: the places report details may be shown.
	Private bool
	Command *Command
	Args    []string
	Flags   Flags
	// Form is set when the request completes a form.
	Form *FormResult

	engine *Engine
	to     Destination
}

// Engine returns the engine handling the request.
func (r *Request) Engine() *Engine { return r.engine }

// Now is the engine clock's time.
func (r *Request) Now() time.Time { return r.engine.clock.Now() }

// Prefix is how commands are written where the request came from.
func (r *Request) Prefix() string {
	if r.Event.Prefix != "" {
		return r.Event.Prefix
	}
	return "/sec"
}

// ReplyTo is where replies go: the same thread, room or DM.
func (r *Request) ReplyTo() Destination { return r.to }

// Actor names the person for the audit log and messages.
func (r *Request) Actor() string {
	if r.Person != nil {
		return r.Person.Name
	}
	return r.Event.User.String()
}

// Reply answers the asker only: help, lists, usage errors, refusals, a
// dialog's questions, "already done". Adapters that can show a message to
// one person do so (Slack: ephemeral); the others answer in the command's
// thread (Matrix); in a DM and on the console it is an ordinary answer.
// With --public it answers the room, as Announce does. Sensitive content
// is refused outside the private room and replaced by a pointer to it.
func (r *Request) Reply(ctx context.Context, msg Message) (MessageRef, error) {
	if r.Public() {
		return r.Announce(ctx, r.sharedBy(msg))
	}
	return r.answer(ctx, r.askerOnly(), msg)
}

// Announce answers the room (or DM) the request came from, for everyone
// there: state changes (acknowledged, assigned, released, an incident's
// status). The message should say who did what (ActorMention).
func (r *Request) Announce(ctx context.Context, msg Message) (MessageRef, error) {
	return r.answer(ctx, r.to, msg)
}

func (r *Request) answer(ctx context.Context, to Destination, msg Message) (MessageRef, error) {
	ref, err := r.engine.reply(ctx, r.Event, to, msg)
	if errors.Is(err, ErrPrivacy) {
		r.engine.log.Info("sensitive reply withheld", "to", to.String(), "reason", err)
		return r.engine.reply(ctx, r.Event, to, Text("Details are only shown in the private security room."))
	}
	return ref, err
}

// Replyf answers the asker with plain text.
func (r *Request) Replyf(ctx context.Context, format string, args ...any) error {
	_, err := r.Reply(ctx, Text(fmt.Sprintf(format, args...)))
	return err
}

// Announcef tells the room with plain text, which should say who did what.
func (r *Request) Announcef(ctx context.Context, format string, args ...any) error {
	_, err := r.Announce(ctx, Text(fmt.Sprintf(format, args...)))
	return err
}

// Record writes an audit entry for a state change made by this request.
func (r *Request) Record(ctx context.Context, action, target, detail string) error {
	return r.engine.audit.Record(ctx, AuditEntry{
		Actor:  r.Actor(),
		Action: action,
		Target: target,
		Detail: detail,
		Where:  r.where(),
	})
}

func (r *Request) where() string {
	if r.Event.DM {
		return "DM " + r.Event.User.String()
	}
	if !r.Event.Thread.IsZero() {
		return r.Event.Room.String() + " thread " + r.Event.Thread.ID
	}
	return r.Event.Room.String()
}

// HandleEvent is the adapters' entry point: it routes one event and
// answers it. It never returns an error: every failure is answered in chat
// and logged, so an adapter only has to acknowledge the event.
func (e *Engine) HandleEvent(ctx context.Context, ev Event) {
	// Whatever a person typed is outside text: it must not carry the
	// untrusted markers, or it could end its own marking when echoed back.
	ev.Text, ev.Value = StripSentinels(ev.Text), StripSentinels(ev.Value)
	seenKey := ""
	if ev.ID != "" {
		// Slack retries and Matrix replays deliver the same event again.
		seenKey = "event:" + ev.Room.Adapter + ":" + ev.ID
	}
	// One round trip: the seen-once mark and the stamps of the cached
	// documents (what a repeat reads is discarded).
	ctx, first, err := e.cache.begin(ctx, seenKey, e.clock.Now())
	if err == nil && !first {
		e.log.Debug("ignoring an event already handled", "event", ev.ID)
		return
	}
	e.refreshPeople(ctx)
	person, _ := e.directory.ByChat(ev.User)
	req := &Request{Event: ev, Person: person, engine: e}
	req.Private = e.IsPrivate(ev.Room) || (ev.DM && person.OnTeam())
	if ev.DM {
		req.to = ToUser(ev.User)
	} else {
		req.to = ToRoom(ev.Room, ev.Thread)
	}
	switch ev.Kind {
	case EventCommand:
		err = e.runCommand(ctx, req)
	case EventButton:
		err = e.runAction(ctx, req)
	case EventMessage:
		var handled bool
		handled, err = e.answerConfirmation(ctx, req)
		if !handled && err == nil {
			handled, err = e.forms.answer(ctx, req)
		}
		if !handled && err == nil {
			err = e.runHooks(ctx, req, e.messageHooks())
		}
	case EventReaction:
		err = e.runHooks(ctx, req, e.reactionHooks())
	case EventEdit:
		err = e.runHooks(ctx, req, e.editHooks())
	case EventDelete:
		err = e.runHooks(ctx, req, e.deleteHooks())
	default:
		err = fmt.Errorf("unknown event kind %d", ev.Kind)
	}
	if err != nil {
		e.answerError(ctx, req, err)
	}
	e.wakeUp()
}

func (e *Engine) messageHooks() []func(context.Context, *Request) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.onMessage
}

func (e *Engine) reactionHooks() []func(context.Context, *Request) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.onReact
}

func (e *Engine) runHooks(ctx context.Context, req *Request, hooks []func(context.Context, *Request) error) error {
	var errs []error
	for _, h := range hooks {
		if err := h(ctx, req); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) runCommand(ctx context.Context, req *Request) error {
	text := strings.TrimSpace(req.Event.Text)
	if text == "" {
		text = "help"
	}
	if c, ok := e.router.helpAsked(text); ok {
		_, err := req.Reply(ctx, commandHelp(c, req.Prefix()))
		return err
	}
	c, args, flags, err := e.router.parseCommand(text)
	req.Command = c
	if err != nil {
		return err
	}
	req.Args, req.Flags = args, flags
	if err := e.permit(req, c.Roles, c.Where); err != nil {
		return err
	}
	start := e.clock.Now()
	err = c.Run(ctx, req)
	took := e.clock.Now().Sub(start)
	e.observer.CommandDone(c.Path(), outcomeOf(err), took)
	e.log.Debug("command", "verb", c.Path(), "actor", req.Actor(), "took", took, "err", err)
	return err
}

func (e *Engine) runAction(ctx context.Context, req *Request) error {
	e.mu.RLock()
	a, ok := e.actions[req.Event.Action]
	e.mu.RUnlock()
	if !ok {
		if handled, err := e.forms.button(ctx, req); handled {
			return err
		}
		return fmt.Errorf("no handler for button action %q", req.Event.Action)
	}
	if !req.Event.DM && req.Event.Thread.IsZero() && !req.Event.Message.IsZero() {
		// A press answers once, in the thread of the message the button
		// sat on, never at the top of the room.
		req.to = ToRoom(req.Event.Room, ThreadRef{ID: req.Event.Message.ID})
	}
	if err := e.permit(req, a.Roles, a.Where); err != nil {
		return err
	}
	if a.Confirm != nil && !req.Event.Confirmed {
		return e.askConfirmation(ctx, req, a)
	}
	return a.Run(ctx, req, req.Event.Value)
}

// answerError turns an error into the reply a person should see: the usage
// line for usage errors, a friendly note for "already done", a short
// message for the rest, with the cause in the log only.
func (e *Engine) answerError(ctx context.Context, req *Request, err error) {
	var (
		usage   *UsageError
		notice  *NoticeError
		unknown *unknownCommandError
		reply   string
	)
	switch {
	case errors.As(err, &notice):
		reply = notice.Msg
	case errors.As(err, &unknown):
		reply = fmt.Sprintf("%s. Try `%s help`.", capitalize(unknown.Error()), req.Prefix())
	case errors.As(err, &usage):
		reply = capitalize(usage.Msg) + "."
		if req.Command != nil {
			reply += fmt.Sprintf("\nUsage: `%s`\nMore: `%s help %s`", req.Command.UsageLine(req.Prefix()), req.Prefix(), req.Command.Path())
		}
	case errors.Is(err, ErrForbidden):
		reply = "Sorry, " + strings.TrimPrefix(err.Error(), ErrForbidden.Error()+": ") + "."
	case errors.Is(err, store.ErrUnavailable):
		e.log.Error("store unavailable while handling an event", "kind", req.Event.Kind.String(), "err", err)
		reply = "Vigil's store is unavailable right now, so nothing was changed. Please try again in a moment."
	case errors.Is(err, store.ErrConflict):
		reply = "Someone else changed this at the same moment; nothing was changed. Please try again."
	default:
		verb := "that"
		if req.Command != nil {
			verb = "`" + req.Prefix() + " " + req.Command.Path() + "`"
		}
		e.log.Error("handling an event failed", "kind", req.Event.Kind.String(), "actor", req.Actor(), "err", err)
		reply = "Sorry, " + verb + " failed. The error is in Vigil's log."
	}
	// The engine's own answers are for the asker, even with --public.
	if _, sendErr := e.reply(ctx, req.Event, req.askerOnly(), Text(reply)); sendErr != nil {
		e.log.Warn("could not deliver an error reply", "to", req.to.String(), "err", sendErr)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
