package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// severityForm is a small form like the CVSS dialog.
func severityForm(submitted *[]string) *bot.Form {
	return &bot.Form{
		ID:    "triage",
		Title: "Triage",
		Fields: []bot.FormField{
			{Name: "av", Label: "Attack Vector", Kind: bot.FieldChoice, Options: []bot.Option{
				{Value: "N", Label: "Network"}, {Value: "A", Label: "Adjacent"}, {Value: "L", Label: "Local"}, {Value: "P", Label: "Physical"}}},
			{Name: "repo", Label: "Repository", Validate: func(s string) error {
				if !strings.Contains(s, "/") {
					return errors.New("write it as owner/repo")
				}
				return nil
			}},
			{Name: "note", Label: "Note", Optional: true},
		},
		Progress: func(v bot.FormValues) string { return "AV:" + v["av"] },
		Submit: func(ctx context.Context, req *bot.Request) error {
			f := req.Form
			*submitted = append(*submitted, fmt.Sprintf("%s av=%s repo=%s note=%q report=%s by=%s", f.FormID, f.Values["av"], f.Values["repo"], f.Values["note"], f.Hidden["report"], req.Actor()))
			return req.Replyf(ctx, "saved")
		},
	}
}

func formHarness(t *testing.T, h *bottest.Harness, submitted *[]string) {
	t.Helper()
	if err := h.Engine.RegisterForm(severityForm(submitted)); err != nil {
		t.Fatal(err)
	}
	err := h.Engine.Register(&bot.Command{Name: "triage", MaxArgs: 1, MinArgs: 1, Run: func(ctx context.Context, req *bot.Request) error {
		return req.StartForm(ctx, "triage", map[string]string{"report": req.Args[0]})
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFormStepByStep(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	var submitted []string
	formHarness(t, h, &submitted)

	q := only(t, h.Command("bob", "triage VIG-2026-7"))
	for _, w := range []string{"Triage (1/3)", "Attack Vector", "1. Network", "4. Physical", "cancel"} {
		if !strings.Contains(q, w) {
			t.Errorf("first question lacks %q:\n%s", w, q)
		}
	}
	if got := only(t, h.Say("bob", "7")); !strings.Contains(got, `"7" is not one of the choices`) || !strings.Contains(got, "Triage (1/3)") {
		t.Errorf("a bad choice should re-ask the same question: %q", got)
	}
	// Someone else talking in the room does not answer bob's form.
	if sent := h.Say("alice", "Local"); len(sent) != 0 {
		t.Errorf("alice's message was taken as bob's answer: %q", bottest.Texts(sent))
	}
	sent := h.Say("bob", "net")
	if got := only(t, sent); !strings.Contains(got, "Triage (2/3)") || !strings.Contains(got, "AV:N") {
		t.Errorf("second question should show the progress AV:N: %q", got)
	}
	if got := only(t, h.Say("bob", "acme")); !strings.Contains(got, "Write it as owner/repo") {
		t.Errorf("validation message not shown: %q", got)
	}
	h.Chat.TakeEdits()
	h.Say("bob", "acme/web")
	if got := only(t, h.Say("bob", "-")); got != "saved" {
		t.Errorf("final answer reply %q", got)
	}
	// Issue 16: each answered question shows its answer (the question
	// re-asked after a bad answer being the one edited).
	var answered []string
	for _, e := range h.Chat.TakeEdits() {
		answered = append(answered, e.Msg.PlainText())
	}
	if want := []string{"Triage (2/3)\n*Repository*\n✓ acme/web", "Triage (3/3)\n*Note*\n✓ (skipped)"}; strings.Join(answered, "|") != strings.Join(want, "|") {
		t.Errorf("answered questions %q, want %q", answered, want)
	}
	want := `triage av=N repo=acme/web note="" report=VIG-2026-7 by=bob`
	if len(submitted) != 1 || submitted[0] != want {
		t.Errorf("submitted %q, want [%q]", submitted, want)
	}
	if sent := h.Say("bob", "more chatter"); len(sent) != 0 {
		t.Errorf("the form kept listening after it was submitted: %q", bottest.Texts(sent))
	}
}

func TestFormButtonsAndCancel(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	var submitted []string
	formHarness(t, h, &submitted)
	sent := h.Command("bob", "triage VIG-1")
	if len(sent) != 1 || len(sent[0].Msg.Buttons) != 4 {
		t.Fatalf("want the question with 4 choice buttons, got %+v", sent)
	}
	question := bot.MessageRef{Room: bottest.Room, ID: "q1"}
	if got := only(t, h.PressOn("bob", question, sent[0].Msg.Buttons[2])); !strings.Contains(got, "AV:L") {
		t.Errorf("pressing Local: %q", got)
	}
	// Issue 16: the answered question shows its answer, without buttons.
	if edits := h.Chat.TakeEdits(); len(edits) != 1 || edits[0].Ref != question || len(edits[0].Msg.Buttons) != 0 || !strings.Contains(edits[0].Msg.Text, "✓ Local") {
		t.Errorf("edits %+v; want the question edited to show the answer", edits)
	}
	if got := only(t, h.Say("bob", "cancel")); !strings.Contains(got, "cancelled; nothing was saved") {
		t.Errorf("cancel: %q", got)
	}
	if len(submitted) != 0 {
		t.Errorf("a cancelled form was submitted: %q", submitted)
	}
}

func TestFormSurvivesARestart(t *testing.T) {
	st := bottest.OpenStore(t)
	var submitted []string
	first := bottest.New(t, bottest.Options{Store: st})
	formHarness(t, first, &submitted)
	first.Command("bob", "triage VIG-9")
	first.Say("bob", "1")

	second := bottest.New(t, bottest.Options{Store: st, Clock: first.Clock})
	formHarness(t, second, &submitted)
	second.Say("bob", "acme/api")
	second.Say("bob", "seen in the wild")
	if len(submitted) != 1 || !strings.Contains(submitted[0], `av=N repo=acme/api note="seen in the wild" report=VIG-9`) {
		t.Errorf("after a restart submitted %q", submitted)
	}
}

// modalChat is an adapter with native dialogs, like Slack.
type modalChat struct {
	*bottest.Chat
	opened []bot.FormSession
}

func (m *modalChat) PresentForm(_ context.Context, _ bot.Event, s bot.FormSession, _ *bot.Form) error {
	m.opened = append(m.opened, s)
	return nil
}

func TestFormAsModalValidatesEveryField(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	modal := &modalChat{Chat: h.Chat}
	h.Engine.AddAdapter(modal)
	var submitted []string
	formHarness(t, h, &submitted)
	ev := bot.Event{Kind: bot.EventCommand, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: "bob"}, Text: "triage VIG-3", Trigger: "trigger-1"}
	if sent := h.Event(ev); len(sent) != 0 {
		t.Errorf("a modal adapter should get no step-by-step questions: %q", bottest.Texts(sent))
	}
	if len(modal.opened) != 1 {
		t.Fatalf("modal opened %d times", len(modal.opened))
	}
	sid := modal.opened[0].ID
	ctx := context.Background()
	problems, err := h.Engine.SubmitForm(ctx, ev, sid, bot.FormValues{"av": "Nowhere", "repo": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[av repo]" || len(submitted) != 0 {
		t.Errorf("problems %v (want av and repo), submitted %q", problems, submitted)
	}
	other := ev
	other.User = bot.UserRef{Adapter: "test", ID: "alice"}
	if _, err := h.Engine.SubmitForm(ctx, other, sid, bot.FormValues{"av": "N", "repo": "a/b"}); !errors.Is(err, bot.ErrForbidden) {
		t.Errorf("someone else submitting bob's modal: %v", err)
	}
	problems, err = h.Engine.SubmitForm(ctx, ev, sid, bot.FormValues{"av": "A", "repo": "acme/web"})
	if err != nil || len(problems) != 0 {
		t.Fatalf("valid submission: %v %v", problems, err)
	}
	if len(submitted) != 1 || !strings.Contains(submitted[0], "av=A repo=acme/web") {
		t.Errorf("submitted %q", submitted)
	}
	if _, err := h.Engine.SubmitForm(ctx, ev, sid, bot.FormValues{"av": "A", "repo": "acme/web"}); err == nil {
		t.Errorf("a second submit of the same modal was accepted")
	}
}
