package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/report"
)

// The summary's Reject button: offered only where the state machine allows
// a rejection, asked first, then the reason is asked in the report's thread
// (on an adapter without modals) and the answer rejects: the summary is
// edited, the reporter told. A used Reject button changes nothing.
func TestRejectButtonAsksTheReason(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("reject@example.org"))
	f.Advance(0)
	root, ok, err := f.Engine.Outbox().PostedRef(context.Background(), "report:VIG-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("the summary was not posted: %v", err)
	}
	reject := func(m bot.Message) *bot.Button {
		for i, b := range m.Buttons {
			if b.Action == "report.reject" {
				return &m.Buttons[i]
			}
		}
		return nil
	}
	f.Chat.TakeEdits()
	f.PressOn("bob", root, bot.Button{Action: "report.ack", Value: "VIG-2026-1"})
	edits := f.Chat.TakeEdits()
	if len(edits) != 1 {
		t.Fatalf("the acknowledgement made %d edits", len(edits))
	}
	b := reject(edits[0].Msg)
	if b == nil || b.Confirm == nil || b.Confirm.Title != "Reject VIG-2026-1?" || b.Style != bot.ButtonDanger {
		t.Fatalf("an acknowledged report's Reject button: %+v", b)
	}

	has(t, joined(f.PressOn("bob", root, *b)), "Reject VIG-2026-1?", "Reply `yes`")
	sent := f.Say("bob", "yes")
	has(t, joined(sent), "Reject report", "Reason", "The reporter is told.")
	inThread := bot.ThreadRef{Room: bottest.Room, ID: root.ID}
	for _, s := range sent {
		if s.To.Thread != inThread {
			t.Errorf("the question %q went to %v, not the report's thread", s.Msg.PlainText(), s.To)
		}
	}
	if len(f.Chat.TakeEdits()) != 0 {
		t.Error("the summary changed before the reason was given")
	}
	answer := func(text string) []bottest.Sent {
		return f.Event(bot.Event{Kind: bot.EventMessage, Room: bottest.Room, Thread: inThread,
			User: bot.UserRef{Adapter: "test", ID: "bob"}, Text: text, Prefix: "/sec"})
	}
	has(t, joined(answer(strings.Repeat("x", 501))), "Reason is 501 characters long; at most 500 are allowed.")
	has(t, joined(answer("a duplicate of VIG-2025-9")), "rejected VIG-2026-1: a duplicate of VIG-2025-9")
	var m bot.Message
	for _, e := range f.Chat.TakeEdits() {
		if e.Ref == root {
			m = e.Msg
		}
	}
	has(t, m.PlainText(), "State: rejected")
	if reject(m) != nil {
		t.Errorf("a rejected report still offers Reject")
	}
	f.Advance(time.Minute)
	if mails := f.mail.all(); len(mails) == 0 || !strings.Contains(mails[len(mails)-1].Body, "a duplicate of VIG-2025-9") {
		t.Errorf("the reporter was not told the reason: %+v", mails)
	}

	// The old button, pressed again (and confirmed), changes nothing.
	f.PressOn("bob", root, *b)
	if got := joined(f.Say("bob", "yes")); !strings.Contains(got, "already rejected") {
		t.Errorf("a used Reject button: %q", got)
	}
	if len(f.Chat.TakeEdits()) != 0 {
		t.Error("a used Reject button edited the summary")
	}
}
