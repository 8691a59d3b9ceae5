package github

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// recordingSink is an intake.Sink that records every call and, like the
// real one, treats the same (source, source id) as one report.
type recordingSink struct {
	mu    sync.Mutex
	calls []intake.Incoming
	filed map[string]bool
	// fail, when set, decides an error per call (nothing is filed then).
	fail func(intake.Incoming) error
}

func newSink() *recordingSink { return &recordingSink{filed: map[string]bool{}} }

func (s *recordingSink) Receive(_ context.Context, in intake.Incoming) (intake.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, in)
	if s.fail != nil {
		if err := s.fail(in); err != nil {
			return intake.Result{}, err
		}
	}
	key := string(in.Source) + ":" + in.SourceID
	if s.filed[key] {
		return intake.Result{ReportID: "VIG-2026-dup"}, nil
	}
	s.filed[key] = true
	return intake.Result{ReportID: "VIG-2026-" + in.SourceID, Created: true}, nil
}

// Calls returns every Incoming handed over, duplicates included.
func (s *recordingSink) Calls() []intake.Incoming {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]intake.Incoming(nil), s.calls...)
}

// Filed returns the source ids filed as new reports.
func (s *recordingSink) Filed() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for k := range s.filed {
		out[k] = true
	}
	return out
}

var errSinkDown = errors.New("store unavailable")

// newClient returns a Client on the fake, authenticated with token.
func newClient(t *testing.T, f *githubtest.Fake, clk clock.Clock, token string) *Client {
	t.Helper()
	c, err := New(Options{APIURL: f.URL(), Token: token, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fakeClock() *clock.Fake { return clock.NewFake(bottest.Start) }

// signalClock tells the test each time a timer is made (with its
// duration), so a test knows a worker is waiting before it moves the
// fake clock: no sleeping, no polling.
type signalClock struct {
	*clock.Fake
	timers chan time.Duration
}

func newSignalClock() signalClock {
	return signalClock{Fake: fakeClock(), timers: make(chan time.Duration, 16)}
}

func (c signalClock) NewTimer(d time.Duration) clock.Timer {
	t := c.Fake.NewTimer(d)
	c.timers <- d
	return t
}

// nextTimer waits for the worker to start waiting, failing the test if it
// never does (the test binary's own deadline bounds this wait).
func (c signalClock) nextTimer(t *testing.T, ctx context.Context) time.Duration {
	t.Helper()
	select {
	case d := <-c.timers:
		return d
	case <-ctx.Done():
		t.Fatal("the worker never waited on the clock")
		return 0
	}
}
