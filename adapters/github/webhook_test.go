package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

const hookSecret = "It's a Secret to Everybody"

// TestSignMatchesGitHub checks signing against the example in GitHub's
// documentation ("Validating webhook deliveries").
func TestSignMatchesGitHub(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign(hookSecret, []byte("Hello, World!")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

type hookEnv struct {
	t     *testing.T
	mux   *http.ServeMux
	sink  *recordingSink
	clock *clock.Fake
	fake  *githubtest.Fake
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	env := &hookEnv{t: t, mux: http.NewServeMux(), sink: newSink(), clock: fakeClock(), fake: githubtest.New(t, githubtest.Options{})}
	w, err := NewWebhook(WebhookOptions{
		Secret: hookSecret, Sink: env.sink, Seen: bottest.OpenStore(t), Clock: env.clock, MaxBodyBytes: 64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Mount(env.mux)
	return env
}

// githubSign signs the way GitHub does, written out independently of Sign.
func githubSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post delivers body as GitHub would; sig "" means sign with the secret,
// "-" means no signature header.
func (e *hookEnv) post(event, delivery string, body []byte, sig string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-GitHub-Hook-ID", "292430182")
	switch sig {
	case "":
		req.Header.Set("X-Hub-Signature-256", githubSign(hookSecret, body))
	case "-":
	default:
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

// reported builds a real-looking delivery and checks it against GitHub's
// own webhook schema, so the test payload is what GitHub sends.
func (e *hookEnv) reported(repo string, a githubtest.Advisory, sender string) (githubtest.Advisory, []byte) {
	e.t.Helper()
	a = e.fake.SeedAdvisory(repo, a)
	body := githubtest.ReportedEvent(repo, a, sender)
	if err := e.fake.ValidateSchema("webhook-repository-advisory-reported", body); err != nil {
		e.t.Fatalf("test payload breaks GitHub's webhook schema: %v", err)
	}
	return a, body
}

func TestWebhookReported(t *testing.T) {
	env := newHookEnv(t)
	env.clock.Advance(90 * time.Minute) // the report's Received must be the engine's time
	a, body := env.reported("acme/web", githubtest.Advisory{
		Summary:     "Path traversal in static file handler",
		Description: githubtest.Ptr("GET /static/..%2f..%2fetc/passwd returns the file."),
		Author:      githubtest.NewUser("mallory"),
		Credits:     []githubtest.Credit{{Login: "mallory", Type: "reporter"}},
	}, "mallory")
	if rec := env.post("repository_advisory", "d1a2b3c4-0001", body, ""); rec.Code != http.StatusOK {
		t.Fatalf("status %d %s, want 200", rec.Code, rec.Body)
	}
	calls := env.sink.Calls()
	if len(calls) != 1 {
		t.Fatalf("sink got %d reports, want 1", len(calls))
	}
	want := intake.Incoming{
		Source: intake.SourceGitHub, SourceID: a.GHSAID,
		Title:        "Path traversal in static file handler",
		Description:  "GET /static/..%2f..%2fetc/passwd returns the file.",
		Reporter:     intake.Reporter{Name: "mallory", GitHub: "mallory", Credit: true},
		Received:     env.clock.Now(),
		Repositories: []string{"acme/web"},
		GitHubRepo:   "acme/web", GHSA: a.GHSAID,
		URL: "https://github.com/acme/web/security/advisories/" + a.GHSAID,
	}
	if got := calls[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("Incoming\n got %+v\nwant %+v", got, want)
	}
}

func TestWebhookRedeliveryIsHandledOnce(t *testing.T) {
	env := newHookEnv(t)
	_, body := env.reported("acme/web", githubtest.Advisory{}, "mallory")
	for i := range 3 {
		if rec := env.post("repository_advisory", "same-delivery", body, ""); rec.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d, want 200", i, rec.Code)
		}
	}
	if n := len(env.sink.Calls()); n != 1 {
		t.Errorf("sink called %d times for one delivery id, want 1", n)
	}
	// A new delivery of the same advisory reaches the sink, which dedupes
	// it by GHSA id.
	env.post("repository_advisory", "other-delivery", body, "")
	if n, filed := len(env.sink.Calls()), len(env.sink.Filed()); n != 2 || filed != 1 {
		t.Errorf("calls %d filed %d, want 2 calls and 1 report", n, filed)
	}
}

func TestWebhookRefusesUnsigned(t *testing.T) {
	env := newHookEnv(t)
	_, body := env.reported("acme/web", githubtest.Advisory{}, "mallory")
	tampered := bytes.Replace(body, []byte(`"summary":"`), []byte(`"summary":"EVIL `), 1)
	for name, tc := range map[string]struct {
		body []byte
		sig  string
	}{
		"missing signature":     {body, "-"},
		"forged with other key": {body, githubSign("guessed secret", body)},
		"body changed":          {tampered, githubSign(hookSecret, body)},
		"sha1 only":             {body, "sha1=" + strings.TrimPrefix(githubSign(hookSecret, body), "sha256=")},
		"not hex":               {body, "sha256=zz"},
		"bad JSON, bad sig":     {[]byte("{not json"), "sha256=00"},
	} {
		t.Run(name, func(t *testing.T) {
			if rec := env.post("repository_advisory", "d-"+name, tc.body, tc.sig); rec.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", rec.Code)
			}
		})
	}
	if n := len(env.sink.Calls()); n != 0 {
		t.Errorf("sink got %d reports from unsigned deliveries", n)
	}
}

func TestWebhookOtherEvents(t *testing.T) {
	env := newHookEnv(t)
	a := env.fake.SeedAdvisory("acme/web", githubtest.Advisory{State: "published"})
	published := bytes.Replace(githubtest.ReportedEvent("acme/web", a, "maint"), []byte(`"action":"reported"`), []byte(`"action":"published"`), 1)
	tests := []struct {
		name, event string
		body        []byte
		status      int
	}{
		{"ping", "ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":292430182}`), http.StatusOK},
		{"unknown event", "issues", []byte(`{"action":"opened"}`), http.StatusNoContent},
		{"other advisory action", "repository_advisory", published, http.StatusNoContent},
		{"malformed JSON", "repository_advisory", []byte(`{"action":"reported","repository_advisory":`), http.StatusBadRequest},
		{"no advisory", "repository_advisory", []byte(`{"action":"reported"}`), http.StatusBadRequest},
		{"bad GHSA id", "repository_advisory", []byte(`{"action":"reported","repository":{"full_name":"acme/web"},"repository_advisory":{"ghsa_id":"../../x"}}`), http.StatusBadRequest},
		{"too large", "repository_advisory", bytes.Repeat([]byte(" "), 65<<10), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := env.post(tt.event, "d-"+tt.name, tt.body, ""); rec.Code != tt.status {
				t.Errorf("status %d (%s), want %d", rec.Code, rec.Body, tt.status)
			}
		})
	}
	if n := len(env.sink.Calls()); n != 0 {
		t.Errorf("sink got %d reports, want none", n)
	}
	// Only POST is routed.
	rec := httptest.NewRecorder()
	env.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hooks/github", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", rec.Code)
	}
}

func TestWebhookSinkFailureIsRedelivered(t *testing.T) {
	env := newHookEnv(t)
	_, body := env.reported("acme/web", githubtest.Advisory{}, "mallory")
	env.sink.fail = func(intake.Incoming) error { return errSinkDown }
	if rec := env.post("repository_advisory", "d-retry", body, ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 while the report cannot be stored", rec.Code)
	}
	if len(env.sink.Filed()) != 0 {
		t.Fatal("filed despite the failure")
	}
	env.sink.fail = nil
	// GitHub redelivers with the same delivery id: it must be processed.
	if rec := env.post("repository_advisory", "d-retry", body, ""); rec.Code != http.StatusOK {
		t.Fatalf("redelivery: status %d, want 200", rec.Code)
	}
	if n := len(env.sink.Filed()); n != 1 {
		t.Errorf("filed %d reports after the redelivery, want 1", n)
	}
}

func TestWebhookInvalidReportIsNotRetried(t *testing.T) {
	env := newHookEnv(t)
	_, body := env.reported("acme/web", githubtest.Advisory{}, "mallory")
	env.sink.fail = func(intake.Incoming) error { return fmt.Errorf("no title: %w", intake.ErrInvalid) }
	if rec := env.post("repository_advisory", "d-invalid", body, ""); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", rec.Code)
	}
	if rec := env.post("repository_advisory", "d-invalid", body, ""); rec.Code != http.StatusOK || len(env.sink.Calls()) != 1 {
		t.Errorf("redelivery of a refused report: status %d, calls %d; want 200 and no new call", rec.Code, len(env.sink.Calls()))
	}
}

func TestNewWebhookValidates(t *testing.T) {
	_, err := NewWebhook(WebhookOptions{})
	for _, want := range []string{"secret", "sink", "store", "clock"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewWebhook({}) = %v, want it to mention %s", err, want)
		}
	}
}
