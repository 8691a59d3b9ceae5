package github

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot/intake"
)

func TestPollerRepoAndOrg(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	clk := fakeClock()
	inOrg := f.SeedAdvisory("acme/web", githubtest.Advisory{Summary: "CSRF", Author: githubtest.NewUser("eve")})
	f.SeedAdvisory("acme/web", githubtest.Advisory{State: "draft"})
	inRepo := f.SeedAdvisory("other/lib", githubtest.Advisory{Summary: "Prototype pollution"})
	f.SeedAdvisory("third/party", githubtest.Advisory{}) // not configured
	sink := newSink()
	p, err := NewPoller(PollerOptions{
		Client: newClient(t, f, clk, "t"), Sink: sink, Clock: clk,
		Organizations: []string{"acme"},
		// acme/web is also covered by the organisation: handed over once.
		Repositories: []string{"other/lib", "acme/web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wait, err := p.Poll(t.Context())
	if err != nil || wait != 10*time.Minute {
		t.Fatalf("Poll = %s, %v; want the 10m default interval and no error", wait, err)
	}
	got := map[string]intake.Incoming{}
	for _, in := range sink.Calls() {
		if _, dup := got[in.GHSA]; dup {
			t.Errorf("%s handed over twice in one pass", in.GHSA)
		}
		got[in.GHSA] = in
	}
	if len(got) != 2 {
		t.Fatalf("sink got %v, want the two triage advisories of configured sources", got)
	}
	a := got[inOrg.GHSAID]
	if a.GitHubRepo != "acme/web" || a.Title != "CSRF" || a.Reporter.GitHub != "eve" || a.Source != intake.SourceGitHub ||
		a.SourceID != inOrg.GHSAID || !a.Received.Equal(clk.Now()) || a.URL != inOrg.HTMLURL {
		t.Errorf("org advisory as %+v", a)
	}
	if b := got[inRepo.GHSAID]; b.GitHubRepo != "other/lib" || b.Title != "Prototype pollution" {
		t.Errorf("repo advisory as %+v", b)
	}

	// The next pass offers them again; the sink (by GHSA id) keeps one each.
	if _, err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Filed()); n != 2 {
		t.Errorf("%d reports after two passes, want 2", n)
	}
}

func TestPollerPaginates(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	clk := fakeClock()
	for range 230 {
		f.SeedAdvisory("acme/web", githubtest.Advisory{})
	}
	sink := newSink()
	p, err := NewPoller(PollerOptions{Client: newClient(t, f, clk, "t"), Sink: sink, Clock: clk, Repositories: []string{"acme/web"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Filed()); n != 230 {
		t.Errorf("filed %d, want 230", n)
	}
	if n := len(f.RequestsFor(githubtest.OpListRepoAdvisories)); n != 3 {
		t.Errorf("%d list requests, want 3 pages of 100", n)
	}
}

// TestPollerHonoursRetryAfter runs the poller on a fake clock: a 429 with
// Retry-After: 120 pauses it exactly that long, then the pass is redone
// and the report arrives.
func TestPollerHonoursRetryAfter(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	clk := newSignalClock()
	a := f.SeedAdvisory("acme/web", githubtest.Advisory{})
	f.Fail(githubtest.OpListRepoAdvisories, githubtest.Fault{Status: 429, RetryAfter: 120 * time.Second})
	sink := newSink()
	p, err := NewPoller(PollerOptions{Client: newClient(t, f, clk, "t"), Sink: sink, Clock: clk, Repositories: []string{"acme/web"}, Interval: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a hang guard, not a wait
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	if d := clk.nextTimer(t, ctx); d != 120*time.Second {
		t.Fatalf("after the 429 the poller waits %s, want the 120s GitHub asked for", d)
	}
	if n := len(sink.Calls()); n != 0 {
		t.Fatalf("sink got %d reports during the rate limit", n)
	}
	clk.Advance(119 * time.Second)
	if n := len(f.RequestsFor(githubtest.OpListRepoAdvisories)); n != 1 {
		t.Fatalf("%d list requests before Retry-After ran out, want 1", n)
	}
	clk.Advance(time.Second)
	if d := clk.nextTimer(t, ctx); d != 5*time.Minute {
		t.Fatalf("after the retried pass the poller waits %s, want the 5m interval", d)
	}
	if calls := sink.Calls(); len(calls) != 1 || calls[0].GHSA != a.GHSAID {
		t.Fatalf("sink got %+v, want the advisory once", calls)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil on shutdown", err)
	}
}

// TestPollerGoesOnAfterOtherErrors: a source the token cannot read, or a
// report the sink cannot store, does not stop the rest of the pass.
func TestPollerGoesOnAfterOtherErrors(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	clk := fakeClock()
	f.AddRepo("acme/private")
	a := f.SeedAdvisory("other/lib", githubtest.Advisory{})
	f.Fail(githubtest.OpListOrgAdvisories, githubtest.Fault{Status: 404})
	sink := newSink()
	sink.fail = func(intake.Incoming) error { return errSinkDown }
	p, err := NewPoller(PollerOptions{Client: newClient(t, f, clk, "t"), Sink: sink, Clock: clk,
		Organizations: []string{"acme"}, Repositories: []string{"other/lib"}})
	if err != nil {
		t.Fatal(err)
	}
	wait, err := p.Poll(t.Context())
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, errSinkDown) || wait != 10*time.Minute {
		t.Fatalf("Poll = %s, %v; want both errors and the normal interval", wait, err)
	}
	sink.fail = nil
	if _, err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !sink.Filed()["github:"+a.GHSAID] {
		t.Errorf("the report the sink could not store was not offered again")
	}
}

func TestNewPollerValidates(t *testing.T) {
	_, err := NewPoller(PollerOptions{Repositories: []string{"not-a-repo"}, Organizations: []string{"a/b"}, Interval: -1})
	for _, want := range []string{"client", "sink", "clock", "not-a-repo", `"a/b"`, "negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewPoller = %v, want it to mention %s", err, want)
		}
	}
}
