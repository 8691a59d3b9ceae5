package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// Observer receives the engine's measurements. internal/metrics exports
// them to Prometheus; the engine itself knows no metrics library.
type Observer interface {
	// CommandDone: a command ran (verb path, outcome, how long).
	CommandDone(verb string, outcome Outcome, took time.Duration)
	// JobDone: a scheduled job ran, lag after its due time.
	JobDone(kind string, lag time.Duration, err error)
	// Delivered: a message went to (or failed to reach) an adapter.
	Delivered(adapter string, err error)
	// Intake: a report arrived from a source (created false: a repeat).
	Intake(source string, created bool)
	// DeadLettered: the outbox gave up on a message for adapter (may be
	// empty for an unreadable one); reason is a DeadReason.
	DeadLettered(adapter, reason string)
}

// Outcome classifies how a command ended, for metrics.
type Outcome string

const (
	OutcomeOK          Outcome = "ok"
	OutcomeUsage       Outcome = "usage"
	OutcomeNotice      Outcome = "notice"
	OutcomeForbidden   Outcome = "forbidden"
	OutcomeUnavailable Outcome = "unavailable"
	OutcomeError       Outcome = "error"
)

// outcomeOf sorts an error the way answerError does.
func outcomeOf(err error) Outcome {
	var (
		usage   *UsageError
		notice  *NoticeError
		unknown *unknownCommandError
	)
	switch {
	case err == nil:
		return OutcomeOK
	case errors.As(err, &notice):
		return OutcomeNotice
	case errors.As(err, &usage), errors.As(err, &unknown):
		return OutcomeUsage
	case errors.Is(err, ErrForbidden):
		return OutcomeForbidden
	case errors.Is(err, store.ErrUnavailable):
		return OutcomeUnavailable
	}
	return OutcomeError
}

type nopObserver struct{}

func (nopObserver) CommandDone(string, Outcome, time.Duration) {}
func (nopObserver) JobDone(string, time.Duration, error)       {}
func (nopObserver) Delivered(string, error)                    {}
func (nopObserver) Intake(string, bool)                        {}
func (nopObserver) DeadLettered(string, string)                {}

// Observer returns the engine's observer (never nil), for features that
// report their own measurements (intake counts).
func (e *Engine) Observer() Observer { return e.observer }

// Connector is implemented by adapters that hold a connection (Slack's
// Socket Mode, Matrix sync); readiness and metrics report it.
type Connector interface {
	Connected() bool
}

// ConnectionExplainer is implemented by Connectors that can say why they
// are not connected, in a few words and without addresses or secrets:
// "connecting (auth.test: connection refused), next try in 8s". /readyz
// shows it.
type ConnectionExplainer interface {
	NotConnectedReason() string
}

// AdapterStates reports each connected adapter's connection state; an
// adapter without a connection of its own counts as connected.
func (e *Engine) AdapterStates() map[string]bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[string]bool, len(e.adapters))
	for name, a := range e.adapters {
		c, ok := a.(Connector)
		out[name] = !ok || c.Connected()
	}
	return out
}

// Ready checks what /readyz promises: the store answers and every adapter
// is connected. The error names each adapter that is not, and why when it
// can say ("slack: connecting (auth.test: connection refused), next try in
// 8s"), in name order.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	e.mu.RLock()
	var down []string
	for name, a := range e.adapters {
		c, ok := a.(Connector)
		if !ok || c.Connected() {
			continue
		}
		reason := "not connected"
		if x, ok := a.(ConnectionExplainer); ok {
			if r := x.NotConnectedReason(); r != "" {
				reason = r
			}
		}
		down = append(down, name+": "+reason)
	}
	e.mu.RUnlock()
	if len(down) > 0 {
		sort.Strings(down)
		return errors.New(strings.Join(down, "; "))
	}
	return nil
}

// QueueStats describes the outbox and the scheduler for metrics: how many
// conversations wait, how long the oldest has waited, and how late the
// most overdue job is.
type QueueStats struct {
	OutboxDepth  int
	OutboxOldest time.Duration
	SchedulerLag time.Duration
	PendingJobs  int
}

// Stats reads the queue state from the store.
func (e *Engine) Stats(ctx context.Context) (QueueStats, error) {
	now := e.clock.Now()
	var s QueueStats
	items, err := e.store.Pending(ctx, outboxQueue, 10000)
	if err != nil {
		return s, err
	}
	s.OutboxDepth = len(items)
	if len(items) > 0 && items[0].Due.Before(now) {
		s.OutboxOldest = now.Sub(items[0].Due)
	}
	jobs, err := e.store.Pending(ctx, jobQueue, 10000)
	if err != nil {
		return s, err
	}
	s.PendingJobs = len(jobs)
	if len(jobs) > 0 && jobs[0].Due.Before(now) {
		s.SchedulerLag = now.Sub(jobs[0].Due)
	}
	return s, nil
}
