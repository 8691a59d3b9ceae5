// Package hostile holds the hostile-text corpus (testdata/hostile at the
// repository root) and files each of its strings as a report through every
// intake source, so each adapter's test can render what Vigil then posts
// and check that nothing from the input is live on its platform
// (docs/ESCAPING.md).
package hostile

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/email"
	"github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

// Case is one hostile string.
type Case struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// CorpusPath is the corpus file, found from this source file so tests in
// any package can read it.
func CorpusPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "hostile", "corpus.json")
}

// Corpus returns the committed strings and the generated ones: invalid
// UTF-8 (which JSON cannot hold), a 100 KB line, and every hostile
// construct at once.
func Corpus() ([]Case, error) {
	data, err := os.ReadFile(CorpusPath())
	if err != nil {
		return nil, fmt.Errorf("hostile corpus: %w", err)
	}
	var cases []Case
	if err := json.Unmarshal(data, &cases); err != nil {
		return nil, fmt.Errorf("hostile corpus %s: %w", CorpusPath(), err)
	}
	var all strings.Builder
	for _, c := range cases {
		all.WriteString(c.Text + "\n")
	}
	cases = append(cases,
		Case{"invalid-utf8", "bad \xff\xfe bytes \xc3 and \xed\xa0\x80 surrogate"},
		Case{"invalid-utf8-in-escape", "\x1b[\xff31m"},
		Case{"line-100k", strings.Repeat("<!channel> *a* ", 100<<10/15)},
		Case{"everything-at-once", all.String()},
	)
	return cases, nil
}

// Load is Corpus for tests.
func Load(t testing.TB) []Case {
	t.Helper()
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// Filed is a message Vigil posted for a report made of a hostile string.
type Filed struct {
	Case   Case
	Source intake.Source
	Msg    bot.Message
}

// apiToken is the intake API's token in the harness.
const apiToken = "hostile-token"

// Reports files each case as a report's title, description and reporter
// name through every source (the intake API, a mail through the mail
// parser, a GitHub advisory, the chat form) and returns every message
// Vigil posted about them (summaries in the private room, the assignee's
// DM). A source may refuse a string (the API's length limit); that is
// fine, nothing is filed then.
func Reports(t testing.TB, cases []Case) []Filed {
	t.Helper()
	h := bottest.New(t, bottest.Options{Store: fastStore(t)})
	reps, err := report.Register(h.Engine, report.Options{APIToken: apiToken, Duty: bobOnDuty{h.Engine}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	api := httptest.NewServer(h.Engine.HTTP())
	t.Cleanup(api.Close)
	var out []Filed
	add := func(c Case, src intake.Source, sent []bottest.Sent) {
		for _, s := range sent {
			out = append(out, Filed{Case: c, Source: src, Msg: s.Msg})
		}
	}
	collect := func(c Case, src intake.Source) { add(c, src, h.Advance(0)) }
	for i, c := range cases {
		// The intake API.
		body, _ := json.Marshal(map[string]any{"title": c.Text, "description": c.Text,
			"reporter": map[string]any{"name": c.Text, "email": "eve@example.org"}})
		req, _ := http.NewRequest(http.MethodPost, api.URL+"/api/v1/reports", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("hostile-%d", i))
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Fatalf("%s: intake API: %v", c.Name, err)
		} else {
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%s: intake API answered %d", c.Name, resp.StatusCode)
			}
		}
		collect(c, intake.SourceAPI)

		// A mail, through the real MIME parser.
		in, err := email.Parse(mailOf(c.Text, i), email.ParseOptions{MaxBodyBytes: 1 << 20, MaxAttachmentBytes: 1 << 10, MaxAttachments: 2, Received: h.Clock.Now()})
		if err != nil {
			t.Fatalf("%s: mail parse: %v", c.Name, err)
		}
		receive(ctx, t, reps, c, in)
		collect(c, intake.SourceEmail)

		// A GitHub advisory in triage.
		adv := &github.Advisory{GHSAID: fmt.Sprintf("GHSA-host-%04d-xxxx", i), Summary: c.Text, Description: c.Text,
			State: "triage", Author: &github.User{Login: "eve"}, HTMLURL: "https://github.com/acme/web/security/advisories/x"}
		repo, _ := github.ParseRepo("acme/web")
		receive(ctx, t, reps, c, github.Incoming(adv, repo, "eve", h.Clock.Now()))
		collect(c, intake.SourceGitHub)

		// The chat form, step by step, as bob types it.
		if strings.TrimSpace(bot.StripSentinels(c.Text)) != "" && !strings.EqualFold(strings.TrimSpace(c.Text), "cancel") {
			// The form's source id is the actor and the instant: move on.
			add(c, intake.SourceManual, h.Advance(time.Minute))
			add(c, intake.SourceManual, h.Command("bob", "report new"))
			for _, answer := range []string{c.Text, c.Text, c.Text, "-", "2", "-"} {
				add(c, intake.SourceManual, h.Say("bob", answer))
			}
			collect(c, intake.SourceManual)
		}
	}
	return out
}

func receive(ctx context.Context, t testing.TB, reps *report.Reports, c Case, in intake.Incoming) {
	t.Helper()
	if _, err := reps.Receive(ctx, in); err != nil && !isInvalid(err) {
		t.Errorf("%s from %s: %v", c.Name, in.Source, err)
	}
}

func isInvalid(err error) bool {
	return err != nil && strings.Contains(err.Error(), intake.ErrInvalid.Error())
}

// mailOf builds a mail whose From name, Subject and body are s: encoded
// words in the headers (as a mail client would send any text) and a
// base64 body, so every byte of s reaches the parser.
func mailOf(s string, n int) []byte {
	enc := func(v string) string { return mime.BEncoding.Encode("utf-8", v) }
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s <eve@example.org>\r\n", enc(s))
	fmt.Fprintf(&b, "To: security@example.org\r\nSubject: %s\r\n", enc(s))
	fmt.Fprintf(&b, "Message-ID: <hostile-%d@example.org>\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\n", n)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64.StdEncoding.EncodeToString([]byte(s)) + "\r\n")
	return []byte(b.String())
}

// bobOnDuty assigns every report to bob, so the assignee DM is posted too.
type bobOnDuty struct{ e *bot.Engine }

func (d bobOnDuty) OnDuty(context.Context, string, time.Time) (*bot.Person, error) {
	p, _ := d.e.Directory().ByName("bob")
	return p, nil
}

// fastStore is an embedded store on a memory file system when there is one
// (/dev/shm): hundreds of reports are filed, and each write syncs.
func fastStore(t testing.TB) store.Store {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "vigil-hostile-")
	if err != nil {
		return bottest.OpenStore(t)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	st, err := embedded.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
