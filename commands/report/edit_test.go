package report_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/report"
)

// Issue 16: the summary at the top of a report's thread is edited in place
// on every change: a checklist press ticks it and takes its button away,
// the acknowledgement says who and when, the state shows, and a closed
// report offers no buttons. Each press answers once, in the thread; a
// button already used changes nothing.
func TestThePressedSummaryIsEditedInPlace(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("edit@example.org"))
	f.Advance(0)
	root, ok, err := f.Engine.Outbox().PostedRef(context.Background(), "report:VIG-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("the summary was not posted: %v", err)
	}
	f.Chat.TakeEdits()
	buttons := func(m bot.Message) string {
		var l []string
		for _, b := range m.Buttons {
			l = append(l, b.Label)
		}
		return strings.Join(l, ",")
	}
	oneEdit := func(what string) bot.Message {
		t.Helper()
		edits := f.Chat.TakeEdits()
		if len(edits) != 1 || edits[0].Ref != root {
			t.Fatalf("%s: %d edits (%+v); want the summary %v edited once", what, len(edits), edits, root)
		}
		return edits[0].Msg
	}
	// inThread: the press's one answer, and whatever else it causes (the
	// note that the reporter was mailed), all in the report's thread.
	inThread := func(what string, sent []bottest.Sent) {
		t.Helper()
		answers := 0
		for _, s := range sent {
			if s.To.Thread.ID != root.ID {
				t.Errorf("%s: %q went to %v, not the report's thread", what, s.Msg.PlainText(), s.To)
			}
			if strings.Contains(bottest.Read(s.Msg), "@bob") {
				answers++
			}
		}
		if answers != 1 {
			t.Fatalf("%s answered %d times (%q); want once", what, answers, bottest.Texts(sent))
		}
	}

	verify := bot.Button{Action: "report.check", Value: "VIG-2026-1|verify"}
	inThread("a tick", f.PressOn("bob", root, verify))
	m := oneEdit("a tick")
	has(t, m.PlainText(), "☑ Verify the report", "☐ Reply to the reporter", "State: new")
	if strings.Contains(buttons(m), "Verified") || !strings.HasPrefix(buttons(m), "Acknowledge,") {
		t.Errorf("buttons after the tick: %s", buttons(m))
	}

	sent := f.PressOn("carol", root, verify)
	if edits := f.Chat.TakeEdits(); len(edits) != 0 {
		t.Errorf("a used button edited the summary again: %+v", edits)
	}
	if len(sent) != 1 || !strings.Contains(joined(sent), "already ticked") {
		t.Errorf("a used button: %q; want one note that it is already ticked", bottest.Texts(sent))
	}

	inThread("the acknowledgement", f.PressOn("bob", root, bot.Button{Action: "report.ack", Value: "VIG-2026-1"}))
	m = oneEdit("the acknowledgement")
	has(t, bottest.Read(m), "Acknowledged: Mon 5 Jan 2026 09:00 UTC by @bob", "State: acknowledged", "☑ Reply to the reporter")
	if strings.Contains(buttons(m), "Acknowledge") {
		t.Errorf("still offers Acknowledge: %s", buttons(m))
	}

	f.Command("bob", "report reject VIG-2026-1 --reason duplicate")
	m = oneEdit("the rejection")
	has(t, m.PlainText(), "State: rejected")
	if got := buttons(m); got != "Close" {
		t.Errorf("a rejected report offers %s; want Close only", got)
	}
	if sent := f.PressOn("bob", root, bot.Button{Action: "report.check", Value: "VIG-2026-1|score"}); len(f.Chat.TakeEdits()) != 0 {
		t.Errorf("a press on the rejected report's old button changed it (%q)", bottest.Texts(sent))
	}

	// Close asks first; after "yes" the summary has no buttons left.
	closeBtn := m.Buttons[0]
	if closeBtn.Confirm == nil || closeBtn.Confirm.Title != "Close VIG-2026-1?" {
		t.Errorf("Close asks nothing first: %+v", closeBtn.Confirm)
	}
	has(t, joined(f.PressOn("bob", root, closeBtn)), "Close VIG-2026-1?", "Reply `yes`")
	if len(f.Chat.TakeEdits()) != 0 {
		t.Error("the summary changed before the close was confirmed")
	}
	inThread("the close", f.Say("bob", "yes"))
	m = oneEdit("the close")
	has(t, m.PlainText(), "State: closed")
	if len(m.Buttons) != 0 {
		t.Errorf("a closed report still offers %s", buttons(m))
	}
}

// A button on another message than the summary (the one `report show`
// answers with) also answers once: the note in the report's thread, with
// the summary edited, and nothing in the pressed message's own thread.
func TestAPressOnReportShowAnswersOnce(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("show-press@example.org"))
	f.Advance(0)
	root, ok, err := f.Engine.Outbox().PostedRef(context.Background(), "report:VIG-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("the summary was not posted: %v", err)
	}
	f.Chat.TakeEdits()
	shown := bot.MessageRef{Room: root.Room, ID: "show-1"} // not the summary
	sent := f.PressOn("bob", shown, bot.Button{Action: "report.check", Value: "VIG-2026-1|verify"})
	var answers []string
	for _, s := range sent {
		if strings.Contains(bottest.Read(s.Msg), "ticked") {
			answers = append(answers, s.To.String())
			if s.To.Thread.ID != root.ID {
				t.Errorf("the press answered in %v, not the report's thread", s.To)
			}
		}
	}
	if len(answers) != 1 {
		t.Errorf("the press answered %d times (%v); want once, in the report's thread", len(answers), answers)
	}
	if edits := f.Chat.TakeEdits(); len(edits) == 0 || edits[len(edits)-1].Ref != root {
		t.Errorf("the summary was not edited: %+v", edits)
	}
}
