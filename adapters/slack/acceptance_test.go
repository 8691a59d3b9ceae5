package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/core"
	"github.com/vigil-sec/vigil/commands/cvss"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/report"
)

// acceptance is a scripted session through Slack HTTP mode: signed slash
// commands and interactions posted to Vigil's listener, answered against
// the fake Web API.
type acceptance struct {
	t   *testing.T
	r   *rig
	srv *httptest.Server
	n   int
}

// settle waits for the work the last request queued, delivers what it
// left in the outbox, and returns everything Vigil sent to Slack for it.
func (s *acceptance) settle() []posted {
	s.t.Helper()
	s.r.adapter.serial.Wait()
	s.r.engine.Step(context.Background())
	var out []posted
	for {
		select {
		case p := <-s.r.slack.postCh:
			out = append(out, p)
		default:
			return out
		}
	}
}

func (s *acceptance) trigger() string {
	s.n++
	return fmt.Sprintf("trig-%d", s.n)
}

// responseURL is the response_url Slack gives a request in channel: the
// fake takes it and records the channel.
func responseURL(channel, trigger string) string {
	return "https://" + hooksHost + "/response/" + channel + "/" + trigger
}

// slash types "/sec text" as user in channel.
func (s *acceptance) slash(channel, user, text string) []posted {
	s.t.Helper()
	trig := s.trigger()
	body := url.Values{"command": {"/sec"}, "text": {text}, "channel_id": {channel}, "user_id": {user},
		"trigger_id": {trig}, "team_id": {"T1"}, "token": {"x"}, "response_url": {responseURL(channel, trig)}}.Encode()
	if code, resp := post(s.t, s.srv, PathCommands, formType, body, sign(signingSecret, s.r.clock.Now().Unix(), body)); code != http.StatusOK {
		s.t.Fatalf("/sec %s: %d %q", text, code, resp)
	}
	return s.settle()
}

// interact posts an interaction payload as Slack does.
func (s *acceptance) interact(payload map[string]any) (int, string) {
	s.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatal(err)
	}
	body := url.Values{"payload": {string(raw)}}.Encode()
	return post(s.t, s.srv, PathInteractions, formType, body, sign(signingSecret, s.r.clock.Now().Unix(), body))
}

// slackButton is a button as Vigil drew it in a message's blocks.
type slackButton struct {
	actionID, value string
	confirm         map[string]any
}

// buttons are the buttons of a message, by label.
func buttons(p posted) map[string]slackButton {
	out := map[string]slackButton{}
	for _, b := range p.Blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, el := range b["elements"].([]any) {
			e := el.(map[string]any)
			label, _ := e["text"].(map[string]any)["text"].(string)
			c, _ := e["confirm"].(map[string]any)
			v, _ := e["value"].(string)
			out[label] = slackButton{actionID: e["action_id"].(string), value: v, confirm: c}
		}
	}
	return out
}

// press presses the button labelled label on msg as user. The action_id
// is the one drawn: for a button with a confirm dialog Slack sends the
// press only once the person confirmed it.
func (s *acceptance) press(user string, msg posted, label string) []posted {
	s.t.Helper()
	b, ok := buttons(msg)[label]
	if !ok {
		s.t.Fatalf("no %q button on %s (buttons %v)", label, msg.TS, buttons(msg))
	}
	trig := s.trigger()
	p := buttonPayload(trig, msg.Channel, user, msg.TS, "", b.actionID, b.value)
	p["response_url"] = responseURL(msg.Channel, trig)
	if code, resp := s.interact(p); code != http.StatusOK {
		s.t.Fatalf("press %s: %d %q", label, code, resp)
	}
	return s.settle()
}

// whole is a message as a person reads it: its fallback text and blocks.
func whole(p posted) string {
	raw, _ := json.Marshal(p.Blocks)
	return p.Text + "\n" + string(raw)
}

// askerOnly checks that every message sent for a request was for the
// asker alone: ephemeral through the response_url, or chat.postEphemeral
// to them; never a message the channel sees.
func askerOnly(t *testing.T, what, user string, sent []posted) {
	t.Helper()
	if len(sent) == 0 {
		t.Errorf("%s: no answer at all", what)
	}
	for _, p := range sent {
		byURL := p.ResponseURL != "" && p.ResponseType == "ephemeral" && !p.ReplaceOriginal
		if !p.Ephemeral || (!byURL && p.User != user) || p.Update {
			t.Errorf("%s: %+v is not for the asker alone", what, p)
		}
	}
}

// onePressAnswer checks a button press: exactly one chat.update, of the
// pressed message, and at most one answer, in its thread (a mail to the
// reporter that the press caused shows as the summary's tick, not as a
// second message).
func onePressAnswer(t *testing.T, what string, msg posted, sent []posted) (updated posted) {
	t.Helper()
	updates, inThread := 0, 0
	for _, p := range sent {
		switch {
		case p.Update:
			updates++
			updated = p
			if p.Channel != msg.Channel || p.TS != msg.TS {
				t.Errorf("%s updated %s/%s, not the pressed message %s", what, p.Channel, p.TS, msg.TS)
			}
		case p.Ephemeral:
			t.Errorf("%s: an ephemeral %q besides the edit", what, p.Text)
		case p.Thread == msg.TS:
			inThread++
		default:
			t.Errorf("%s posted %q outside the message's thread", what, p.Text)
		}
	}
	if updates != 1 || inThread > 1 {
		t.Errorf("%s: %d chat.update and %d thread messages; want 1 and at most 1", what, updates, inThread)
	}
	return updated
}

// noChange checks a press of a button no longer offered: no edit, nothing
// in the room; at most a private note to the presser.
func noChange(t *testing.T, what, user string, sent []posted) {
	t.Helper()
	for _, p := range sent {
		if !p.Ephemeral || p.Update {
			t.Errorf("%s changed something: %+v", what, p)
		}
	}
}

var (
	slackMention = regexp.MustCompile(`<@U[A-Z0-9]+>`)
	slackDate    = regexp.MustCompile(`<!date\^\d+\^[^|>]+\|[^>]+>`)
)

// Issue 16's acceptance on Slack: a scripted session through HTTP mode
// against the fake Web API. Answers for the asker are ephemeral (by the
// response_url, which works where the bot is not a member); each press of
// a button updates its message once with chat.update and answers at most
// once in its thread, and a used button changes nothing; destructive
// buttons carry confirm dialogs; people with Slack ids are <@U…>
// mentions and times <!date^…> tokens.
func TestSlackAcceptanceSession(t *testing.T) {
	mail := &recordingMailer{}
	r := newRig(t, rigOptions{mode: ModeHTTP, start: time.Now().Truncate(time.Second), setup: func(e *bot.Engine) {
		if _, err := report.Register(e, report.Options{APIToken: "tok", Mailer: mail}); err != nil {
			t.Fatal(err)
		}
		if _, err := cvss.Register(e, cvss.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := incident.Register(e, incident.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := core.Register(e); err != nil {
			t.Fatal(err)
		}
	}})
	srv := httptest.NewServer(r.engine.HTTP())
	t.Cleanup(srv.Close)
	r.ready()
	s := &acceptance{t: t, r: r, srv: srv}

	// Answers for the asker alone; whoami names alice as a mention, not by
	// her id.
	for _, step := range []struct{ what, user, text, want, not string }{
		{"help", userAlice, "help", "whoami", ""},
		{"whoami", userAlice, "whoami", "<@" + userAlice + ">", "slack:" + userAlice},
		{"a usage error", userAlice, "report ack", "Usage:", ""},
		{"a stranger's command", userMallory, "report list", "Sorry", ""},
		{"cvss", userAlice, "cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8", ""},
		{"a bad vector", userAlice, "cvss CVSS:3.1/AV:X", "Not a valid CVSS vector", ""},
	} {
		sent := s.slash(chanSecurity, step.user, step.text)
		askerOnly(t, step.what, step.user, sent)
		if len(sent) == 0 {
			continue
		}
		if got := whole(sent[0]); !strings.Contains(got, step.want) || (step.not != "" && strings.Contains(got, step.not)) {
			t.Errorf("%s: %q, want %q in it (and not %q)", step.what, got, step.want, step.not)
		}
	}
	// Where the bot is not a member, only the response_url can answer.
	sent := s.slash(chanOutside, userAlice, "help")
	askerOnly(t, "help outside", userAlice, sent)
	for _, p := range sent {
		if p.ResponseURL == "" {
			t.Errorf("help where the bot is not in: %+v, want it by the response_url", p)
		}
	}
	if n := r.slack.count("chat.postMessage"); n != 0 {
		t.Errorf("%d chat.postMessage calls for answers meant for the asker", n)
	}

	// A report through the intake API lands in the private channel.
	h := http.Header{}
	h.Set("Authorization", "Bearer tok")
	h.Set("Idempotency-Key", "acceptance-1")
	body := `{"title":"XSS in the search page","description":"The q parameter is reflected.","reporter":{"name":"Eve","email":"eve@example.org"}}`
	if status, answer := post(t, srv, "/api/v1/reports", "application/json", body, h); status != http.StatusCreated {
		t.Fatalf("intake API: %d %s", status, answer)
	}
	var summary posted
	for _, p := range s.settle() {
		if p.Channel == chanSecurity && p.Thread == "" && !p.Update && !p.Ephemeral && len(buttons(p)) > 0 {
			summary = p
		}
	}
	if summary.TS == "" {
		t.Fatal("no report summary with buttons in the private channel")
	}
	if !slackDate.MatchString(whole(summary)) {
		t.Errorf("the summary's times are not date tokens: %s", whole(summary))
	}
	destructive := func(msg posted) {
		t.Helper()
		for label, b := range buttons(msg) {
			if (label == "Reject" || label == "Close") && b.confirm == nil {
				t.Errorf("%s on %s has no confirm dialog", label, msg.TS)
			}
		}
	}
	destructive(summary)

	// Checklist presses: one update, one answer in the thread; the same
	// button pressed again changes nothing.
	current := onePressAnswer(t, "a tick", summary, s.press(userAlice, summary, "✓ Verified"))
	if !strings.Contains(whole(current), "☑") {
		t.Errorf("the tick is not shown: %s", whole(current))
	}
	if _, still := buttons(current)["✓ Verified"]; still {
		t.Error("the used checklist button is still offered")
	}
	noChange(t, "the used tick", userAlice, s.press(userAlice, summary, "✓ Verified"))

	// Acknowledge: who and when, as a mention and a date.
	current = onePressAnswer(t, "the acknowledgement", summary, s.press(userAlice, current, "Acknowledge"))
	if got := whole(current); !slackMention.MatchString(got) || !strings.Contains(got, "<@"+userAlice+">") || !slackDate.MatchString(got) {
		t.Errorf("the acknowledged summary lacks alice's mention or a date token: %s", got)
	}
	noChange(t, "a second acknowledgement", userAlice, s.press(userAlice, summary, "Acknowledge"))
	if got := mail.subjects(); len(got) != 1 {
		t.Errorf("mails to the reporter after the acknowledgement: %q; want one", got)
	}
	destructive(current)
	acked := current

	// Reject: its confirm dialog, then a modal asks the reason; the
	// submission edits the summary once and answers in the thread.
	if b := buttons(current)["Reject"]; b.confirm == nil {
		t.Fatalf("the acknowledged summary offers no Reject with a confirm dialog: %v", buttons(current))
	}
	if sent := s.press(userAlice, current, "Reject"); len(sent) != 0 {
		t.Errorf("the Reject press sent %+v before the reason was given", sent)
	}
	view := r.slack.nextView(t)
	meta := view["view"].(map[string]any)["private_metadata"].(string)
	if code, resp := s.interact(submissionPayload(s.trigger(), userAlice, meta, map[string]map[string]any{
		"reason": textValue("A duplicate of VIG-2025-9")}, "reason")); code != http.StatusOK || resp != "" {
		t.Fatalf("reason submitted: %d %q", code, resp)
	}
	current = onePressAnswer(t, "the rejection", summary, s.settle())
	if got := whole(current); !strings.Contains(got, "rejected") {
		t.Errorf("the summary does not say rejected: %s", got)
	}
	if _, still := buttons(current)["Reject"]; still {
		t.Error("a rejected report still offers Reject")
	}
	destructive(current)
	noChange(t, "the used Reject", userAlice, s.press(userAlice, acked, "Reject"))
	select {
	case v := <-r.slack.viewCh:
		t.Errorf("the used Reject opened a modal: %v", v)
	default:
	}

	// An incident's status change edits its one header in place.
	s.slash(chanSecurity, userAlice, `incident start "Leaked deploy token"`)
	header := posted{}
	for _, p := range r.slack.history {
		if p.Channel == chanSecurity && p.Thread == "" && strings.Contains(p.Text, "INC-2026-1") {
			header = p
		}
	}
	if header.TS == "" {
		t.Fatal("no incident header")
	}
	sent = s.slash(chanSecurity, userAlice, `incident status --id INC-2026-1 "Token revoked; rotating"`)
	updates := 0
	for _, p := range sent {
		switch {
		case p.Update && p.TS == header.TS:
			updates++
			if !strings.Contains(whole(p), "Token revoked; rotating") {
				t.Errorf("the edited header lacks the status: %s", whole(p))
			}
		case p.Update:
			t.Errorf("the status change edited %s, not the header %s", p.TS, header.TS)
		case !p.Ephemeral && strings.Contains(p.Text, "Token revoked; rotating"):
			t.Errorf("the header was posted again: %+v", p)
		case !p.Ephemeral && !strings.Contains(whole(p), "<@"+userAlice+">"):
			t.Errorf("the room is told %q without who did it", p.Text)
		}
	}
	if updates != 1 {
		t.Errorf("the status change made %d edits of the header; want 1 (%+v)", updates, sent)
	}
}

// recordingMailer takes the mails to reporters.
type recordingMailer struct {
	mu   sync.Mutex
	sent []intake.Mail
}

func (m *recordingMailer) Send(_ context.Context, mail intake.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func (m *recordingMailer) subjects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, mail := range m.sent {
		out = append(out, mail.Subject)
	}
	return out
}
