package bot

import (
	"context"
	"fmt"
)

// Who sees an answer (issue 16). A command's answer is for the asker only
// (help, lists, usage errors, refusals, a dialog's questions) unless it
// changes something the room should know about (Request.Announce) or the
// asker adds --public.

// PublicFlag is the flag every command accepts: the answer goes to the
// room instead of the asker alone. The router adds it; commands must not
// declare it themselves.
const PublicFlag = "public"

var publicFlagSpec = FlagSpec{Name: PublicFlag, Bool: true, Help: "show the answer to everyone here, not just to you"}

// Public reports whether the asker wants the answer shared with the room.
func (r *Request) Public() bool { return r.Flags.Has(PublicFlag) }

// ActorMention names the person who made the request in a message: a
// person token (shown as a mention where they have an account), or the
// account itself for someone not in the directory.
func (r *Request) ActorMention() string {
	if r.Person != nil {
		return PersonToken(r.Person.Name)
	}
	return AccountToken(r.Event.User, r.Event.User.ID)
}

// askerOnly is where an answer for the asker alone goes: where the request
// came from, for the asker only. A DM and the console (the operator's own
// terminal) are already private to the asker.
func (r *Request) askerOnly() Destination {
	to := r.to
	if r.Event.DM || to.IsDM() || to.Adapter() == AdapterConsole || r.Event.User.IsZero() {
		return to
	}
	to.Only = r.Event.User
	return to
}

// sharedBy says in the message's context line who shared an answer with
// the room (--public), unless the message has a context of its own.
func (r *Request) sharedBy(msg Message) Message {
	if msg.Context != "" || r.Command == nil {
		return msg
	}
	msg.Context = fmt.Sprintf("Shared by %s · `%s %s`", r.ActorMention(), r.Prefix(), r.Command.Path())
	return msg
}

// inAskerThread returns the request as it continues in the thread where
// its asker-only answers land on an adapter that cannot show a message to
// one person alone (Matrix): a dialog started there is answered there.
// Elsewhere it returns r.
func (r *Request) inAskerThread() *Request {
	to := r.engine.privateFallback(r.Event, r.askerOnly())
	if to.Thread == r.to.Thread {
		return r
	}
	c := *r
	c.Event.Thread = to.Thread
	c.to.Thread = to.Thread
	return &c
}

// privateFallback is the destination of an asker-only answer on an adapter
// without PrivateReplier: the event's thread, or a new thread rooted at the
// command message, so the room's timeline stays for the room. Other
// destinations are returned as they are.
func (e *Engine) privateFallback(ev Event, to Destination) Destination {
	if to.Only.IsZero() || !to.Thread.IsZero() || ev.Message.IsZero() {
		return to
	}
	if a, ok := e.adapter(to.Adapter()); ok {
		if _, private := a.(PrivateReplier); private {
			return to
		}
	}
	to.Thread = ThreadRef{Room: to.Room, ID: ev.Message.ID}
	return to
}

// reply sends a direct answer to ev (not through the outbox): to the asker
// alone when to.Only is set, through the adapter's PrivateReplier or in the
// command's thread, otherwise to the room.
func (e *Engine) reply(ctx context.Context, ev Event, to Destination, msg Message) (MessageRef, error) {
	return e.deliverTo(ctx, &ev, e.privateFallback(ev, to), msg)
}
