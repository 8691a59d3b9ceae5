package cvss_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/cvss"
)

// scored is one call of the OnScored hook.
type scored struct {
	report, vector, by string
}

type fixture struct {
	*bottest.Harness
	scored []scored
	// hookErr, when set, is what OnScored returns.
	hookErr error
}

// newFixture registers the feature, and a "score ID [--v4]" command that
// starts a dialog for a report the way the report feature does.
func newFixture(t *testing.T, withHook bool) *fixture {
	t.Helper()
	f := &fixture{Harness: bottest.New(t, bottest.Options{})}
	var o cvss.Options
	if withHook {
		o.OnScored = func(_ context.Context, req *bot.Request, reportID string, r cvss.Result) error {
			if f.hookErr != nil {
				return f.hookErr
			}
			f.scored = append(f.scored, scored{reportID, r.Vector, req.Actor()})
			return nil
		}
	}
	if _, err := cvss.Register(f.Engine, o); err != nil {
		t.Fatal(err)
	}
	err := f.Engine.Register(&bot.Command{
		Name: "score", MinArgs: 1, MaxArgs: 1,
		Flags: []bot.FlagSpec{{Name: "v4", Bool: true}},
		Run: func(ctx context.Context, req *bot.Request) error {
			form := cvss.Form31
			if req.Flags.Has("v4") {
				form = cvss.Form40
			}
			return req.StartForm(ctx, form, map[string]string{cvss.HiddenReport: req.Args[0]})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// one returns the only message sent, failing otherwise.
func one(t *testing.T, sent []bottest.Sent) bot.Message {
	t.Helper()
	if len(sent) != 1 {
		t.Fatalf("want one message, got %d: %q", len(sent), bottest.Texts(sent))
	}
	return sent[0].Msg
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// step is one answer in a dialog and what the next question must show.
type step struct {
	answer   string
	progress string // the vector so far shown with the next question
}

// runDialog answers each question and checks the question count, the
// running vector and the option list, and returns the final reply.
func runDialog(t *testing.T, f *fixture, start, title string, steps []step) bot.Message {
	t.Helper()
	q := one(t, f.Command("bob", start))
	prefix := "CVSS:" + strings.Fields(title)[1]
	if want := "Vector so far: `" + prefix + "/…`"; q.Context != want {
		t.Errorf("first question's progress %q, want %q", q.Context, want)
	}
	for i, s := range steps {
		if want := fmt.Sprintf("%s (%d/%d)", title, i+1, len(steps)); q.Header != want {
			t.Fatalf("question %d header %q, want %q", i+1, q.Header, want)
		}
		if len(q.Buttons) < 2 || !strings.Contains(q.Text, "1. ") || !strings.Contains(q.Text, " — ") {
			t.Errorf("question %d has no numbered, explained choices: %+v", i+1, q)
		}
		sent := f.Say("bob", s.answer)
		if i == len(steps)-1 {
			return one(t, sent)
		}
		q = one(t, sent)
		if want := "Vector so far: `" + s.progress + "`"; q.Context != want {
			t.Errorf("after answer %d (%q) progress %q, want %q", i+1, s.answer, q.Context, want)
		}
	}
	panic("unreachable")
}

func TestDialog31StepByStep(t *testing.T) {
	f := newFixture(t, true)
	q := one(t, f.Command("bob", "cvss"))
	contains(t, "first question", q.PlainText(),
		"CVSS 3.1 score (1/8)", "Attack Vector (AV)",
		"1. Network — exploitable over the network", "2. Adjacent — ", "3. Local — ", "4. Physical — ",
		"Reply with a number or a name")
	if len(q.Buttons) != 4 || q.Buttons[0].Label != "Network" || q.Buttons[0].Value != "N" {
		t.Errorf("buttons %+v", q.Buttons)
	}
	// A wrong answer asks again, naming the problem.
	contains(t, "bad answer", one(t, f.Say("bob", "Nowhere")).PlainText(), `"Nowhere" is not one of the choices`, "CVSS 3.1 score (1/8)")
	f.Say("bob", "cancel")

	// By number, by name, by value, by prefix, by button.
	final := runDialog(t, f, "cvss", "CVSS 3.1 score", []step{
		{"1", "CVSS:3.1/AV:N/…"},
		{"Low", "CVSS:3.1/AV:N/AC:L/…"},
		{"none", "CVSS:3.1/AV:N/AC:L/PR:N/…"},
		{"N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/…"},
		{"unch", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/…"},
		{"High", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/…"},
		{"h", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/…"},
		{"3", ""},
	})
	const vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"
	if final.Header != "CVSS 3.1: 9.1 Critical" {
		t.Errorf("final header %q", final.Header)
	}
	contains(t, "final reply", final.PlainText(),
		"`"+vector+"`",
		"Attack Vector: Network — exploitable over the network",
		"Attack Complexity: Low — ",
		"Privileges Required: None — ",
		"User Interaction: None — ",
		"Scope: Unchanged — ",
		"Confidentiality: High — ",
		"Integrity: High — ",
		"Availability: None — no impact on availability",
		"https://www.first.org/cvss/calculator/3.1#"+vector)
	if final.Sensitive {
		t.Errorf("a score not tied to a report was marked sensitive")
	}
	if len(f.scored) != 0 {
		t.Errorf("OnScored ran for a dialog without a report: %+v", f.scored)
	}
	if sent := f.Say("bob", "1"); len(sent) != 0 {
		t.Errorf("the dialog kept listening after it was submitted: %q", bottest.Texts(sent))
	}
}

func TestDialog31Buttons(t *testing.T) {
	f := newFixture(t, false)
	q := one(t, f.Command("bob", "cvss"))
	for i := 0; i < 7; i++ {
		q = one(t, f.Press("bob", q.Buttons[len(q.Buttons)-1]))
	}
	final := one(t, f.Press("bob", q.Buttons[0])) // Availability: High
	if final.Header != "CVSS 3.1: 4.6 Medium" {
		t.Errorf("header %q for %s", final.Header, final.Text)
	}
	contains(t, "reply", final.Text, "`CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:C/C:N/I:N/A:H`")
}

func TestDialog40StepByStep(t *testing.T) {
	f := newFixture(t, true)
	q := one(t, f.Command("bob", "cvss --v4"))
	contains(t, "first question", q.PlainText(), "CVSS 4.0 score (1/11)", "Attack Vector (AV)", "1. Network — ")
	f.Say("bob", "cancel")

	final := runDialog(t, f, "cvss --v4", "CVSS 4.0 score", []step{
		{"Network", "CVSS:4.0/AV:N/…"},
		{"Low", "CVSS:4.0/AV:N/AC:L/…"},
		{"Present", "CVSS:4.0/AV:N/AC:L/AT:P/…"},
		{"2", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/…"},
		{"pass", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/…"},
		{"High", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:H/…"},
		{"L", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:H/VI:L/…"},
		{"None", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:H/VI:L/VA:N/…"},
		{"low", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:H/VI:L/VA:N/SC:L/…"},
		{"none", "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:H/VI:L/VA:N/SC:L/SI:N/…"},
		{"N", ""},
	})
	const vector = "CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:H/VI:L/VA:N/SC:L/SI:N/SA:N"
	want, err := cvss.Score(vector)
	if err != nil {
		t.Fatal(err)
	}
	if wantHeader := fmt.Sprintf("CVSS 4.0: %.1f %s", want.Score, want.Severity); final.Header != wantHeader {
		t.Errorf("final header %q, want %q", final.Header, wantHeader)
	}
	contains(t, "final reply", final.PlainText(),
		"`"+vector+"`",
		"Attack Requirements: Present — ",
		"User Interaction: Passive — ",
		"Vulnerable System Confidentiality: High — ",
		"Subsequent System Confidentiality: Low — ",
		"Subsequent System Availability: None — ",
		"https://www.first.org/cvss/calculator/4.0#"+vector)
}

// modalChat is an adapter with native dialogs, like Slack: it records the
// sessions it was asked to present.
type modalChat struct {
	*bottest.Chat
	opened []bot.FormSession
	forms  []*bot.Form
}

func (m *modalChat) PresentForm(_ context.Context, _ bot.Event, s bot.FormSession, f *bot.Form) error {
	m.opened = append(m.opened, s)
	m.forms = append(m.forms, f)
	return nil
}

func modalFixture(t *testing.T) (*fixture, *modalChat) {
	f := newFixture(t, true)
	modal := &modalChat{Chat: f.Chat}
	f.Engine.AddAdapter(modal)
	return f, modal
}

func modalEvent(text string) bot.Event {
	return bot.Event{Kind: bot.EventCommand, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: "bob"}, Text: text, Trigger: "trigger-1", Prefix: "/sec"}
}

func TestDialogAsModal(t *testing.T) {
	for _, tt := range []struct {
		command, form string
		fields        int
		good          bot.FormValues
		vector        string
	}{
		{"cvss", cvss.Form31, 8,
			bot.FormValues{"AV": "N", "AC": "L", "PR": "N", "UI": "R", "S": "C", "C": "L", "I": "L", "A": "N"},
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"},
		{"cvss --v4", cvss.Form40, 11,
			bot.FormValues{"AV": "L", "AC": "L", "AT": "N", "PR": "L", "UI": "N", "VC": "H", "VI": "H", "VA": "H", "SC": "N", "SI": "N", "SA": "N"},
			"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
	} {
		t.Run(tt.form, func(t *testing.T) {
			f, modal := modalFixture(t)
			ev := modalEvent(tt.command)
			if sent := f.Event(ev); len(sent) != 0 {
				t.Errorf("a modal adapter got step-by-step questions: %q", bottest.Texts(sent))
			}
			if len(modal.opened) != 1 || modal.opened[0].FormID != tt.form || len(modal.forms[0].Fields) != tt.fields {
				t.Fatalf("opened %+v, want one %s with %d fields", modal.opened, tt.form, tt.fields)
			}
			for _, fld := range modal.forms[0].Fields {
				if fld.Kind != bot.FieldChoice || fld.Label == "" || fld.Help == "" {
					t.Errorf("field %s: %+v", fld.Name, fld)
				}
				for _, o := range fld.Options {
					if o.Label == "" || o.Help == "" {
						t.Errorf("field %s option %+v has no label or help", fld.Name, o)
					}
					// Slack cuts an option's description at 75 bytes.
					if len(o.Help) > 75 {
						t.Errorf("field %s option %s: help is %d bytes, Slack shows 75: %q", fld.Name, o.Value, len(o.Help), o.Help)
					}
				}
			}
			// And a modal's title at 24.
			if title := modal.forms[0].Title; len(title) > 24 {
				t.Errorf("title %q is longer than Slack's 24", title)
			}
			ctx := context.Background()
			sid := modal.opened[0].ID

			// One bad value and one missing: each is named, nothing is scored.
			bad := bot.FormValues{}
			for k, v := range tt.good {
				bad[k] = v
			}
			bad["AV"] = "Q"
			delete(bad, "AC")
			problems, err := f.Engine.SubmitForm(ctx, ev, sid, bad)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != 2 || !strings.Contains(problems["AV"], `"Q" is not one of the choices`) || !strings.Contains(problems["AC"], "required") {
				t.Errorf("problems %q, want AV (not a choice) and AC (required)", problems)
			}
			if sent := f.Chat.Take(); len(sent) != 0 {
				t.Errorf("an invalid modal submission replied: %q", bottest.Texts(sent))
			}

			problems, err = f.Engine.SubmitForm(ctx, ev, sid, tt.good)
			if err != nil || len(problems) != 0 {
				t.Fatalf("valid submission: %v %v", problems, err)
			}
			want, err := cvss.Score(tt.vector)
			if err != nil {
				t.Fatal(err)
			}
			final := one(t, f.Chat.Take())
			if h := fmt.Sprintf("CVSS %s: %.1f %s", want.Version, want.Score, want.Severity); final.Header != h {
				t.Errorf("header %q, want %q", final.Header, h)
			}
			contains(t, "reply", final.Text, "`"+tt.vector+"`", want.CalculatorURL)
			if len(f.scored) != 0 {
				t.Errorf("OnScored ran without a report: %+v", f.scored)
			}
		})
	}
}

func TestOnScoredWithReport(t *testing.T) {
	f := newFixture(t, true)
	final := runDialog(t, f, "score VIG-2026-7", "CVSS 3.1 score", []step{
		{"N", "CVSS:3.1/AV:N/…"}, {"L", "CVSS:3.1/AV:N/AC:L/…"}, {"N", "CVSS:3.1/AV:N/AC:L/PR:N/…"},
		{"N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/…"}, {"U", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/…"},
		{"H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/…"}, {"H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/…"}, {"H", ""},
	})
	want := []scored{{"VIG-2026-7", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "bob"}}
	if fmt.Sprint(f.scored) != fmt.Sprint(want) {
		t.Errorf("OnScored calls %+v, want %+v", f.scored, want)
	}
	if final.Header != "VIG-2026-7 — CVSS 3.1: 9.8 Critical" || !final.Sensitive || !strings.Contains(final.Context, "Stored on VIG-2026-7, scored by @bob") {
		t.Errorf("reply for a report: %+v", final)
	}
}

func TestOnScoredWithReportInModal(t *testing.T) {
	f, modal := modalFixture(t)
	ev := modalEvent("score VIG-2026-8 --v4")
	f.Event(ev)
	if len(modal.opened) != 1 || modal.opened[0].Hidden[cvss.HiddenReport] != "VIG-2026-8" {
		t.Fatalf("opened %+v", modal.opened)
	}
	vals := bot.FormValues{"AV": "N", "AC": "L", "AT": "N", "PR": "N", "UI": "N", "VC": "H", "VI": "H", "VA": "H", "SC": "N", "SI": "N", "SA": "N"}
	if problems, err := f.Engine.SubmitForm(context.Background(), ev, modal.opened[0].ID, vals); err != nil || len(problems) > 0 {
		t.Fatalf("submit: %v %v", problems, err)
	}
	want := []scored{{"VIG-2026-8", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "bob"}}
	if fmt.Sprint(f.scored) != fmt.Sprint(want) {
		t.Errorf("OnScored calls %+v, want %+v", f.scored, want)
	}
	if final := one(t, f.Chat.Take()); final.Header != "VIG-2026-8 — CVSS 4.0: 9.3 Critical" {
		t.Errorf("reply %q", final.Header)
	}
}

// answerAll answers every question of the 3.1 dialog with its first choice.
func answerAll(f *fixture) []bottest.Sent {
	var sent []bottest.Sent
	for range 8 {
		sent = f.Say("bob", "1")
	}
	return sent
}

func TestOnScoredFailureShowsNoScore(t *testing.T) {
	f := newFixture(t, true)
	f.hookErr = bot.Noticef("VIG-2026-9 is closed; its score can no longer change.")
	f.Command("bob", "score VIG-2026-9")
	got := one(t, answerAll(f))
	if got.PlainText() != "VIG-2026-9 is closed; its score can no longer change." {
		t.Errorf("reply %q, want the hook's notice only", got.PlainText())
	}

	f.hookErr = errors.New("disk on fire")
	f.Command("bob", "score VIG-2026-9")
	got = one(t, answerAll(f))
	if p := got.PlainText(); strings.Contains(p, "CVSS 3.1:") || strings.Contains(p, "disk on fire") || !strings.Contains(p, "failed") {
		t.Errorf("a failed store must not show a score or the cause: %q", p)
	}
}

func TestReportDialogWithoutHookFails(t *testing.T) {
	f := newFixture(t, false)
	f.Command("bob", "score VIG-2026-9")
	if p := one(t, answerAll(f)).PlainText(); strings.Contains(p, "CVSS 3.1:") || !strings.Contains(p, "failed") {
		t.Errorf("a score that cannot be stored must not look stored: %q", p)
	}
}

func TestCommandScoresAPastedVector(t *testing.T) {
	f := newFixture(t, false)
	got := one(t, f.Command("bob", "cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))
	if got.Header != "CVSS 3.1: 9.8 Critical" {
		t.Errorf("header %q", got.Header)
	}
	contains(t, "reply", got.PlainText(), "Attack Vector: Network — ", "Availability: High — ",
		"<https://www.first.org/cvss/calculator/3.1#CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H|")

	tests := []struct{ who, text, want string }{
		// Prefix-less, reordered, in backticks, quoted with spaces.
		{"bob", "cvss `A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N`", "CVSS 3.1: 9.8 Critical"},
		{"bob", `cvss "  AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H  "`, "CVSS 3.1: 9.8 Critical"},
		{"bob", "cvss AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "CVSS 4.0: 9.3 Critical"},
		{"bob", "cvss --v4 CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "CVSS 4.0: 9.3 Critical"},
		// Anyone in the directory, without a role.
		{"mallory", "cvss AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "CVSS 3.1: 5.3 Medium"},
		// Errors name the metric and come with the usage line.
		{"bob", "cvss CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "Not a valid CVSS vector: metric \"AV\" has no value \"Q\" (want N, A, L or P).\nUsage: `/sec cvss [VECTOR] [--v4]`"},
		{"bob", "cvss AV:N/AC:L/UI:N/S:U/C:H/I:H/A:H", `missing metric "PR"`},
		{"bob", "cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:1", `unknown metric "XX"`},
		{"bob", "cvss --v4 AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", `metric "C" is from CVSS 3.1, but the vector is read as CVSS 4.0`},
		{"bob", "cvss --v4 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "--v4 is for CVSS 4.0 vectors, but this one starts with CVSS:3.1"},
		{"bob", "cvss AV:N AC:L", `takes at most 1 argument`},
		// Strangers are not in the directory.
		{"zed", "cvss AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "Sorry, you are not in Vigil's people directory"},
	}
	for _, tt := range tests {
		got := one(t, f.Command(tt.who, tt.text)).PlainText()
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s: /sec %s\n got %q\nwant %q in it", tt.who, tt.text, got, tt.want)
		}
	}
}

func TestCommandWorksAnywhereButNotForStrangers(t *testing.T) {
	f := newFixture(t, false)
	got := one(t, f.CommandIn(bottest.PublicRoom, "mallory", "cvss AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))
	if got.Header != "CVSS 3.1: 9.8 Critical" {
		t.Errorf("in a public room: %q", got.PlainText())
	}
	q := one(t, f.CommandIn(bottest.PublicRoom, "bob", "cvss"))
	if !strings.Contains(q.Header, "CVSS 3.1 score (1/8)") {
		t.Errorf("dialog in a public room: %q", q.PlainText())
	}
	if got := one(t, f.Event(bot.Event{Kind: bot.EventCommand, DM: true, User: bot.UserRef{Adapter: "test", ID: "zed"}, Text: "cvss --v4", Prefix: "/sec"})).PlainText(); !strings.Contains(got, "not in Vigil's people directory") {
		t.Errorf("a stranger's dialog in a DM: %q", got)
	}
	help := one(t, f.Command("mallory", "help cvss")).PlainText()
	contains(t, "help", help, "/sec cvss [VECTOR] [--v4]", "--v4", "cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
}
