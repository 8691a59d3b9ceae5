//go:build goolm

package matrix

import (
	"context"
	"strings"
	"sync"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

// shown is what p's client shows of the messages in room: each message
// once, by event id, with its newest edit applied when the edit comes from
// the message's own sender (the rule Matrix clients follow; an edit by
// anyone else is not shown).
func (p *person) shown(room id.RoomID) map[id.EventID]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	senders := map[id.EventID]id.UserID{}
	out := map[id.EventID]string{}
	for _, e := range p.events {
		c := e.Content.AsMessage()
		if e.RoomID != room || e.Type != event.EventMessage || c == nil {
			continue
		}
		if c.RelatesTo != nil && c.RelatesTo.Type == event.RelReplace {
			orig := c.RelatesTo.EventID
			if s, ok := senders[orig]; ok && s == e.Sender && c.NewContent != nil {
				out[orig] = c.NewContent.Body
			}
			continue
		}
		senders[e.ID] = e.Sender
		out[e.ID] = c.Body
	}
	return out
}

// edits returns the m.replace events of target that p received.
func (p *person) edits(target id.EventID) []*event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*event.Event
	for _, e := range p.events {
		if c := e.Content.AsMessage(); e.Type == event.EventMessage && c != nil && c.RelatesTo != nil && c.RelatesTo.Type == event.RelReplace && c.RelatesTo.EventID == target {
			out = append(out, e)
		}
	}
	return out
}

// The bot edits its message in place: alice's client gets one encrypted
// m.replace carrying the new content (a pill for her, and her in
// m.mentions), and shows one message with it. The same edit sent again
// after a crash (its record lost) is the same event; the buttons follow.
func TestEditShowsInPlace(t *testing.T) {
	w, alice, room := setup(t)
	r := w.start()
	botID := id.UserID(w.botAcct.UserID)
	warmUp(t, r, alice, room, botID)
	ctx := context.Background()
	to := bot.ToRoom(roomRef(string(room)), bot.ThreadRef{})
	ref, err := r.adapter.Send(ctx, to, bot.Message{Header: "VIG-2026-1 summary", Text: "☐ triage", Buttons: []bot.Button{{Label: "Acknowledge", Action: "report.ack", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	alice.waitBot(botID, "VIG-2026-1 summary")
	me := userRef(alice.id())
	edited := bot.Message{Header: "VIG-2026-1 summary", Text: "☑ triage, acknowledged by " + bot.AccountToken(me, "Alice")}
	before, _, err := r.adapter.loadRecord(ctx, id.EventID(ref.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.adapter.Edit(ctx, ref, edited); err != nil {
		t.Fatal(err)
	}
	// In doubt after a crash: the record of the edit is lost, the outbox
	// sends it again.
	r.adapter.mu.Lock()
	r.adapter.buttons[id.EventID(ref.ID)] = before
	r.adapter.mu.Unlock()
	if err := r.adapter.Edit(ctx, ref, edited); err != nil {
		t.Fatal(err)
	}
	// A marker after both, so that a second replacement would have
	// arrived by the time it has.
	if _, err := r.adapter.Send(ctx, to, bot.Text("marker after the edits")); err != nil {
		t.Fatal(err)
	}
	alice.waitBot(botID, "marker after the edits")

	edits := alice.edits(id.EventID(ref.ID))
	if len(edits) != 1 {
		t.Fatalf("alice got %d replacements, want 1 (the resend must be the same event)", len(edits))
	}
	e := edits[0]
	c := e.Content.AsMessage()
	if !e.Mautrix.WasEncrypted || c.NewContent == nil || c.MsgType != event.MsgNotice {
		t.Fatalf("replacement: encrypted %v, content %+v", e.Mautrix.WasEncrypted, c)
	}
	if want := "VIG-2026-1 summary\n☑ triage, acknowledged by Alice"; c.NewContent.Body != want || c.Body != "* "+want {
		t.Errorf("new body %q, fallback %q", c.NewContent.Body, c.Body)
	}
	if pill := `<a href="https://matrix.to/#/` + string(alice.id()) + `">Alice</a>`; !strings.Contains(c.NewContent.FormattedBody, pill) {
		t.Errorf("new formatted_body %q lacks the pill", c.NewContent.FormattedBody)
	}
	if m := c.Mentions; m == nil || len(m.UserIDs) != 1 || m.UserIDs[0] != alice.id() {
		t.Errorf("the edit's m.mentions %+v, want alice (newly mentioned)", m)
	}
	n := 0
	for evID, body := range alice.shown(room) {
		if strings.Contains(body, "VIG-2026-1 summary") {
			n++
			if evID != id.EventID(ref.ID) || !strings.Contains(body, "☑ triage") {
				t.Errorf("alice shows %s: %q", evID, body)
			}
		}
	}
	if n != 1 {
		t.Errorf("alice shows %d summaries, want 1", n)
	}
	if rec, ok := r.adapter.buttonsOf(ctx, id.EventID(ref.ID)); !ok || len(rec.Buttons) != 0 {
		t.Errorf("the buttons record after the edit %+v: the summary has no buttons any more", rec)
	}
}

// An edit counts only from the message's author: bob's edit of alice's
// message and alice's edit of the bot's message reach the homeserver (it
// accepts them) but not the engine, and the bot's message still shows as
// the bot wrote it; alice's edit of her own message does reach it.
func TestEditByAnotherUserIsIgnored(t *testing.T) {
	w, alice, room := setup(t)
	bob := newPerson(t, w.hs, "bob")
	bob.joinOn = true
	w.addPerson("bob", bob, bot.RoleResponder)
	r := w.start()
	botID := id.UserID(w.botAcct.UserID)
	var mu sync.Mutex
	var edits []bot.Event
	r.engine.OnEdit(func(_ context.Context, req *bot.Request) error {
		mu.Lock()
		defer mu.Unlock()
		edits = append(edits, req.Event)
		return nil
	})
	ctx := context.Background()
	if _, err := alice.cli.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: bob.id()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob to join", func() bool { return alice.membership(room, bob.id()) == event.MembershipJoin })
	warmUp(t, r, alice, room, botID)
	bob.sees(room, botID)
	bob.sees(room, alice.id())
	alice.sees(room, bob.id())

	said := alice.send(room, "Token revoked at the provider", "")
	ref, err := r.adapter.Send(ctx, bot.ToRoom(roomRef(string(room)), bot.ThreadRef{}), bot.Text("Status: investigating"))
	if err != nil {
		t.Fatal(err)
	}
	bob.waitBot(botID, "Status: investigating")
	replace := func(p *person, target id.EventID, text string) id.EventID {
		t.Helper()
		content := &event.MessageEventContent{MsgType: event.MsgText, Body: text}
		content.SetEdit(target)
		resp, err := p.cli.SendMessageEvent(ctx, room, event.EventMessage, content)
		if err != nil {
			t.Fatalf("%s edits %s: %v", p.id(), target, err)
		}
		return resp.EventID
	}
	forged := replace(bob, said, "Nothing happened")
	forgedBot := replace(alice, id.EventID(ref.ID), "Status: resolved")
	own := replace(alice, said, "Token revoked at the provider at 14:00")
	waitFor(t, "alice's own edit to reach the engine", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range edits {
			if ev.ID == string(own) {
				return true
			}
		}
		return false
	})
	mu.Lock()
	for _, ev := range edits {
		if ev.ID == string(forged) || ev.ID == string(forgedBot) {
			t.Errorf("an edit by someone other than the author reached the engine: %+v", ev)
		}
	}
	if len(edits) != 1 || edits[0].Message.ID != string(said) || edits[0].Text != "Token revoked at the provider at 14:00" {
		t.Errorf("edits that reached the engine %+v, want alice's own", edits)
	}
	mu.Unlock()
	// Bob's client shows the bot's message as the bot wrote it.
	waitFor(t, "bob to receive alice's edits", func() bool { return len(bob.edits(id.EventID(ref.ID))) == 1 })
	if got := bob.shown(room)[id.EventID(ref.ID)]; got != "Status: investigating" {
		t.Errorf("bob shows the bot's message as %q", got)
	}
}
