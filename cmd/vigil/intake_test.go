package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// syncBuffer is a bytes.Buffer safe to read while Vigil writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// relay is an outbound SMTP relay that keeps the messages it is given.
type relay struct {
	mu   sync.Mutex
	msgs []string
}

func (r *relay) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &relaySession{r: r}, nil }

type relaySession struct{ r *relay }

func (s *relaySession) Reset()                                 {}
func (s *relaySession) Logout() error                          { return nil }
func (s *relaySession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *relaySession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, string(b))
	s.r.mu.Unlock()
	return err
}

func (r *relay) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// waitFor polls until cond holds or ten seconds pass; it waits on other
// goroutines and processes, not on process deadlines (the clock is fake).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Reports from all three outside sources, through the real wiring: mail to
// the SMTP receiver, a signed GitHub webhook, and the intake API. Each lands
// in the private room as its own report; acknowledging mails the reporter
// through the relay; accepting the GitHub one moves its advisory to draft
// on (an OpenAPI-checked fake of) GitHub; the reporter's answer is threaded
// back into the report.
func TestReportsFromEverySource(t *testing.T) {
	gh := githubtest.New(t, githubtest.Options{Token: "ghp_test"})
	gh.AddRepo("acme/web")
	desc := "Upload names with ../ escape the upload directory."
	adv := gh.SeedAdvisory("acme/web", githubtest.Advisory{Summary: "Path traversal in uploads", Description: &desc, State: "triage"})

	out, relayAddr := startRelay(t)

	httpAddr, smtpAddr := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`
http: {listen: %q}
people:
  - name: bob
    roles: [responder]
duty:
  rotations:
    - {name: triage, members: [bob], shift: 1w, handoff: "Mon 09:00 UTC"}
reports:
  api_token: api-secret
email:
  smtp_receiver: {listen: %q, recipients: [security@example.org]}
  outbound: {addr: %q, tls: none, from: security@example.org}
github:
  api_url: %q
  token: ghp_test
  webhook_secret: whsec
`, httpAddr, smtpAddr, relayAddr, gh.URL())
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	debug := func(k string) (string, bool) {
		if k == "VIGIL_LOG_LEVEL" {
			return "debug", true
		}
		return "", false
	}
	o := runOptions{ConfigPath: path, Data: t.TempDir(), As: "bob", Clock: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)}
	sess := startSession(t, o, debug, httpAddr)
	say, console := sess.say, sess.console

	// 1. Mail to security@.
	mail := "From: Eve <eve@example.org>\r\nTo: security@example.org\r\nSubject: XSS in search\r\n" +
		"Message-ID: <m1@example.org>\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nThe q parameter is reflected.\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "eve@example.org", []string{"security@example.org"}, []byte(mail)); err != nil {
		t.Fatalf("SMTP: %v", err)
	}
	// 2. GitHub private vulnerability reporting.
	body := githubtest.ReportedEvent("acme/web", adv, "mallory-researcher")
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "repository_advisory")
	req.Header.Set("X-GitHub-Delivery", "delivery-1")
	req.Header.Set("X-Hub-Signature-256", githubadapter.Sign("whsec", body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("webhook: %v %v", resp, err)
	}
	resp.Body.Close()
	// 3. The intake API.
	req, _ = http.NewRequest("POST", "http://"+httpAddr+"/api/v1/reports", strings.NewReader(`{"title":"Open redirect","description":"/login?next=//evil"}`))
	req.Header.Set("Authorization", "Bearer api-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("intake API: %v %v", resp, err)
	}
	resp.Body.Close()

	say(":advance 1m")
	waitFor(t, "three reports in the room", func() bool { return strings.Contains(console.String(), "VIG-2026-3: Open redirect") })
	text := console.String()
	for _, w := range []string{
		"== VIG-2026-1: XSS in search ==", "Source: the security mailbox", "Reporter: Eve <eve@example.org>",
		"== VIG-2026-2: Path traversal in uploads ==", "Source: GitHub private vulnerability reporting", "Advisory: acme/web " + adv.GHSAID,
		"== VIG-2026-3: Open redirect ==", "Source: the intake API", "Assignee: ",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("console lacks %q", w)
		}
	}
	// The assignee is a mention, drawn by the console's renderer.
	bottest.InOrder(t, text, "== VIG-2026-3: Open redirect ==", "Assignee: ", "bob")

	say("/sec report ack VIG-2026-1")
	say(":advance 1m")
	waitFor(t, "the acknowledgement mail", func() bool { return len(out.all()) == 1 })
	ack := out.all()[0]
	for _, w := range []string{"To: <eve@example.org>", "In-Reply-To: <m1@example.org>", "Subject: Re: XSS in search [VIG-2026-1]"} {
		if !strings.Contains(ack, w) {
			t.Errorf("acknowledgement mail lacks %q:\n%s", w, ack)
		}
	}

	say("/sec report ack VIG-2026-2")
	say("/sec report accept VIG-2026-2")
	say(":advance 1m")
	waitFor(t, "the advisory in draft", func() bool {
		a, ok := gh.Advisory("acme/web", adv.GHSAID)
		return ok && a.State == "draft"
	})
	if v := gh.Violations(); len(v) != 0 {
		t.Errorf("requests GitHub would reject: %v", v)
	}

	// The reporter answers the acknowledgement.
	ourID := between(ack, "Message-Id: ", "\r\n")
	reply := "From: Eve <eve@example.org>\r\nTo: security@example.org\r\nSubject: Re: XSS in search [VIG-2026-1]\r\n" +
		"Message-ID: <m2@example.org>\r\nIn-Reply-To: " + ourID + "\r\n\r\nHere is a second PoC.\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "eve@example.org", []string{"security@example.org"}, []byte(reply)); err != nil {
		t.Fatalf("SMTP reply: %v", err)
	}
	say(":advance 1m")
	waitFor(t, "the threaded reply", func() bool { return strings.Contains(console.String(), "Here is a second PoC.") })
	if strings.Contains(console.String(), "VIG-2026-4") {
		t.Error("the reporter's reply opened a new report")
	}
	sess.end()
	// Even at debug level the log holds no report body and no secret.
	logs := sess.errb.String()
	if !strings.Contains(logs, "level=DEBUG") && !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Fatalf("no debug log to check:\n%s", logs)
	}
	for _, secret := range []string{"The q parameter is reflected", "Upload names with", "login?next=", "second PoC", "api-secret", "ghp_test", "whsec"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
