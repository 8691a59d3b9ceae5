package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

const secretToken = "github_pat_SECRET-TOKEN-1234"

func TestNewValidates(t *testing.T) {
	clk := fakeClock()
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"nothing", Options{Clock: clk}, "a token or a GitHub App"},
		{"both", Options{Clock: clk, Token: "t", AppID: 1, InstallationID: 2, AppPrivateKey: []byte("k")}, "not both"},
		{"app without installation", Options{Clock: clk, AppID: 1, AppPrivateKey: []byte("k")}, "installation id"},
		{"no clock", Options{Token: "t"}, "clock"},
		{"bad url", Options{Clock: clk, Token: "t", APIURL: "ftp://x"}, "http(s) URL"},
		{"bad key", Options{Clock: clk, AppID: 1, InstallationID: 2, AppPrivateKey: []byte("not a pem")}, "private key"},
		{"token with a newline", Options{Clock: clk, Token: "SECRET-TOKEN\n"}, "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestSetAdvisoryStateDraft(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{Token: secretToken}) // a violation fails the test
	a := f.SeedAdvisory("acme/web", githubtest.Advisory{Summary: "XSS", Author: githubtest.NewUser("mallory")})
	c := newClient(t, f, fakeClock(), secretToken)
	if err := c.SetAdvisoryState(t.Context(), "acme/web", a.GHSAID, StateDraft); err != nil {
		t.Fatal(err)
	}
	got, _ := f.Advisory("acme/web", a.GHSAID)
	if got.State != StateDraft {
		t.Errorf("state %q, want draft", got.State)
	}
	reqs := f.RequestsFor(githubtest.OpUpdateAdvisory)
	if len(reqs) != 1 || strings.TrimSpace(string(reqs[0].Body)) != `{"state":"draft"}` || reqs[0].Status != 200 {
		t.Fatalf("update requests %+v, want one {\"state\":\"draft\"} answered 200", reqs)
	}
	if v := f.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

// TestFakeCatchesBadRequestsFromTheClient sends a body GitHub would refuse
// through the client's own plumbing (do) and sees the fake fail it.
func TestFakeCatchesBadRequestsFromTheClient(t *testing.T) {
	var mu sync.Mutex
	var violations []error
	f := githubtest.New(t, githubtest.Options{OnViolation: func(err error) { mu.Lock(); violations = append(violations, err); mu.Unlock() }})
	a := f.SeedAdvisory("acme/web", githubtest.Advisory{})
	c := newClient(t, f, fakeClock(), "t")
	triage := StateTriage
	_, err := c.do(t.Context(), op{what: "raw update", permission: permAdvisoriesWrite}, http.MethodPatch,
		advisoryPath(Repo{"acme", "web"}, a.GHSAID), AdvisoryUpdate{State: &triage}, nil)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError from the fake's 422", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) != 1 || !strings.Contains(violations[0].Error(), `"/state"`) {
		t.Fatalf("violations %v, want one about /state", violations)
	}
	// The client refuses the same thing before sending it.
	if err := c.SetAdvisoryState(t.Context(), "acme/web", a.GHSAID, StateTriage); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetAdvisoryState(triage) = %v, want ErrInvalid", err)
	}
	if n := len(f.RequestsFor(githubtest.OpUpdateAdvisory)); n != 1 {
		t.Errorf("%d update requests, want only the raw one", n)
	}
}

func TestListAndGet(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	c := newClient(t, f, fakeClock(), "t")
	for range 150 {
		f.SeedAdvisory("acme/web", githubtest.Advisory{})
	}
	f.SeedAdvisory("acme/web", githubtest.Advisory{State: "draft"})
	x := f.SeedAdvisory("acme/api", githubtest.Advisory{Summary: "SSRF", Description: githubtest.Ptr("via webhooks"), Author: githubtest.NewUser("eve")})
	f.SeedAdvisory("other/lib", githubtest.Advisory{})

	list, err := c.ListTriageAdvisories(t.Context(), "acme/web")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 150 {
		t.Errorf("listed %d, want the 150 in triage", len(list))
	}
	reqs := f.RequestsFor(githubtest.OpListRepoAdvisories)
	if len(reqs) != 2 || reqs[1].Query.Get("after") == "" {
		t.Errorf("want two pages, the second by cursor; got %d requests", len(reqs))
	}

	org, err := c.ListOrgTriageAdvisories(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	repos := map[string]int{}
	for _, a := range org {
		r, ok := a.Repo()
		if !ok {
			t.Fatalf("no repository for %s (url %q)", a.GHSAID, a.URL)
		}
		repos[r.String()]++
	}
	if repos["acme/web"] != 150 || repos["acme/api"] != 1 || len(repos) != 2 {
		t.Errorf("org listing by repository: %v", repos)
	}

	got, err := c.GetAdvisory(t.Context(), "acme/api", x.GHSAID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != "SSRF" || got.Description != "via webhooks" || got.Author == nil || got.Author.Login != "eve" ||
		got.State != StateTriage || got.HTMLURL != x.HTMLURL || got.CreatedAt == nil || got.Submission == nil {
		t.Errorf("GetAdvisory = %+v", got)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		name  string
		fault githubtest.Fault
		is    []error
		msg   []string
		wait  time.Duration // for rate limits
	}{
		{"422 carries GitHub's messages", githubtest.Fault{Status: 422, Errors: []string{"Invalid state transition from published to draft."}},
			[]error{ErrValidation}, []string{"GitHub refused to update security advisory", "Invalid state transition from published to draft."}, 0},
		{"403 names the permission", githubtest.Fault{Status: 403},
			[]error{ErrPermission}, []string{"Vigil's token cannot update security advisory", "needs the repository_advisories:write permission", "Resource not accessible by integration"}, 0},
		{"404 says it may be hidden", githubtest.Fault{Status: 404},
			[]error{ErrPermission, ErrNotFound}, []string{"does not exist, or the token lacks access", "repository_advisories:write"}, 0},
		{"429 with Retry-After", githubtest.Fault{Status: 429, RetryAfter: 90 * time.Second},
			[]error{ErrRateLimited, bot.ErrRateLimited}, []string{"rate limit"}, 90 * time.Second},
		{"403 with the primary limit exhausted", githubtest.Fault{Status: 403, RateLimitExhausted: true},
			[]error{ErrRateLimited}, []string{"rate limit"}, time.Minute},
		{"403 secondary limit with Retry-After", githubtest.Fault{Status: 403, RetryAfter: 30 * time.Second, Message: "You have exceeded a secondary rate limit."},
			[]error{ErrRateLimited}, []string{"secondary rate limit"}, 30 * time.Second},
		{"500 is temporary", githubtest.Fault{Status: 500},
			[]error{ErrTemporary, bot.ErrUnavailable, intake.ErrTemporary}, []string{"temporarily unavailable"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := githubtest.New(t, githubtest.Options{})
			a := f.SeedAdvisory("acme/web", githubtest.Advisory{})
			c := newClient(t, f, fakeClock(), secretToken)
			f.Fail(githubtest.OpUpdateAdvisory, tt.fault)
			err := c.SetAdvisoryState(t.Context(), "acme/web", a.GHSAID, StateDraft)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.is {
				if !errors.Is(err, want) {
					t.Errorf("errors.Is(%v, %v) = false", err, want)
				}
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the token: %v", err)
			}
			var rl *RateLimitError
			if tt.wait > 0 {
				if !errors.As(err, &rl) || rl.RetryAfter() != tt.wait {
					t.Errorf("RetryAfter = %v, want %s", rl, tt.wait)
				}
				// The retry is the caller's: the next call goes out at
				// once (go-github's wall-clock memory is not involved).
				if err := c.SetAdvisoryState(t.Context(), "acme/web", a.GHSAID, StateDraft); err != nil {
					t.Errorf("retry: %v", err)
				}
			} else if errors.As(err, &rl) {
				t.Errorf("not a rate limit, got %v", rl)
			}
		})
	}
}

func TestBadCredentials(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{Token: "the-right-one"})
	a := f.SeedAdvisory("acme/web", githubtest.Advisory{})
	c := newClient(t, f, fakeClock(), secretToken)
	_, err := c.GetAdvisory(t.Context(), "acme/web", a.GHSAID)
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "Bad credentials") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v, want a permission error naming bad credentials, without the token", err)
	}
}

func TestNetworkErrorsAreTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c, err := New(Options{APIURL: url, Token: secretToken, Clock: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTriageAdvisories(t.Context(), "acme/web")
	if !errors.Is(err, ErrTemporary) || !errors.Is(err, bot.ErrUnavailable) {
		t.Fatalf("err = %v, want temporary", err)
	}
	var tmp interface{ Temporary() bool }
	if !errors.As(err, &tmp) || !tmp.Temporary() {
		t.Errorf("err does not say Temporary(): %v", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error shows the token: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.ListTriageAdvisories(ctx, "acme/web"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

func TestArgumentsCheckedBeforeSending(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	c := newClient(t, f, fakeClock(), "t")
	for _, call := range []func() error{
		func() error { _, err := c.GetAdvisory(t.Context(), "acme/web", "../../orgs/x"); return err },
		func() error { _, err := c.GetAdvisory(t.Context(), "acme", "GHSA-2345-6789-cfgh"); return err },
		func() error { _, err := c.ListTriageAdvisories(t.Context(), "acme/web/extra"); return err },
		func() error { _, err := c.ListOrgTriageAdvisories(t.Context(), "acme/web"); return err },
		func() error { return c.SetAdvisoryState(t.Context(), "acme/web", "GHSA-2345-6789-cfgh", "open") },
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad arguments", n)
	}
}

func TestAdvisoryRepo(t *testing.T) {
	for _, tt := range []struct {
		a    Advisory
		want string
	}{
		{Advisory{URL: "https://api.github.com/repos/acme/web/security-advisories/GHSA-x"}, "acme/web"},
		{Advisory{URL: "https://ghe.example/api/v3/repos/acme/web/security-advisories/GHSA-x"}, "acme/web"},
		{Advisory{HTMLURL: "https://github.com/acme/web/security/advisories/GHSA-x"}, "acme/web"},
	} {
		if r, ok := tt.a.Repo(); !ok || r.String() != tt.want {
			t.Errorf("Repo() of %+v = %v %v, want %s", tt.a, r, ok, tt.want)
		}
	}
	if _, ok := (&Advisory{URL: "https://example.org/x"}).Repo(); ok {
		t.Error("Repo() found a repository in an unrelated URL")
	}
}

// TestGitHubAppAuth signs in as an App installation against the fake: the
// app's JWT buys an installation token, which then authorises the call.
func TestGitHubAppAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	f := githubtest.New(t, githubtest.Options{Token: "ghs_installation678"})
	a := f.SeedAdvisory("acme/web", githubtest.Advisory{})
	c, err := New(Options{APIURL: f.URL(), AppID: 12345, InstallationID: 678, AppPrivateKey: pemKey, Clock: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetAdvisoryState(t.Context(), "acme/web", a.GHSAID, StateDraft); err != nil {
		t.Fatal(err)
	}
	if n := len(f.RequestsFor(githubtest.OpCreateInstallationToken)); n < 1 {
		t.Errorf("no installation token was requested")
	}
	if got, _ := f.Advisory("acme/web", a.GHSAID); got.State != StateDraft {
		t.Errorf("state %q, want draft", got.State)
	}
}
