package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

const (
	jobCollection = "jobs"
	jobQueue      = "jobs"
	// jobHold is how long a claimed job stays hidden from other claims.
	// A replica that dies mid-job leaves it to be run again after this,
	// which is why handlers must be idempotent.
	jobHold = 5 * time.Minute
	// jobBatch bounds the work of one RunDue call.
	jobBatch = 100
)

// Job is a persistent timer: at Due, the handler for Kind runs with Payload.
// ID is the dedupe key: scheduling an id again moves that job instead of
// adding a second one, so "the hand-off of 2026-01-05" can only exist once.
type Job struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Due     time.Time       `json:"due"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// Attempt counts failed runs, for backoff.
	Attempt int `json:"attempt,omitempty"`
}

// JobHandler runs a job. It must be idempotent: after a crash a job may run
// again. Returning an error retries it with backoff.
type JobHandler func(ctx context.Context, job Job) error

// Scheduler keeps jobs in the store. Only the replica holding the scheduler
// lease runs them (Engine.Step), and each due job is claimed atomically, so
// two replicas never run one job twice.
type Scheduler struct {
	store    store.Store
	clock    clock.Clock
	log      *slog.Logger
	observer Observer

	mu       sync.RWMutex
	handlers map[string]JobHandler
}

// Handle registers the handler for a kind of job.
func (s *Scheduler) Handle(kind string, h JobHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind] = h
}

// Schedule stores the job and queues it for its due time, replacing any
// job with the same id.
func (s *Scheduler) Schedule(ctx context.Context, j Job) error {
	if j.ID == "" || j.Kind == "" {
		return fmt.Errorf("schedule: a job needs an id and a kind")
	}
	if j.Due.IsZero() {
		return fmt.Errorf("schedule %s: no due time", j.ID)
	}
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", j.ID, err)
	}
	// Two writes, and the store may go away between them. The queue entry
	// goes first: an entry whose document is missing is dropped as stale
	// when it falls due, while a document without its entry would never
	// run. The caller sees the error and may simply schedule again.
	if err := s.store.Schedule(ctx, jobQueue, j.ID, j.Due); err != nil {
		return fmt.Errorf("schedule %s: %w", j.ID, err)
	}
	if _, err := s.store.Put(ctx, jobCollection, j.ID, data, store.AnyVersion); err != nil {
		return fmt.Errorf("schedule %s: %w", j.ID, err)
	}
	return nil
}

// Cancel removes a job; cancelling a job that does not exist is fine.
func (s *Scheduler) Cancel(ctx context.Context, id string) error {
	if err := s.store.Unschedule(ctx, jobQueue, id); err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	if err := s.store.Delete(ctx, jobCollection, id, store.AnyVersion); err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

// Get returns a scheduled job.
func (s *Scheduler) Get(ctx context.Context, id string) (Job, error) {
	j, _, err := store.GetJSON[Job](ctx, s.store, jobCollection, id)
	if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	return *j, nil
}

// Pending lists up to limit scheduled jobs in due order.
func (s *Scheduler) Pending(ctx context.Context, limit int) ([]Job, error) {
	items, err := s.store.Pending(ctx, jobQueue, limit)
	if err != nil {
		return nil, fmt.Errorf("pending jobs: %w", err)
	}
	jobs := make([]Job, 0, len(items))
	for _, it := range items {
		j, err := s.Get(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// RunDue claims and runs every job due now, earliest first, and returns how
// many ran. The caller must hold the scheduler lease.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	ran := 0
	for {
		claims, err := s.store.ClaimDue(ctx, jobQueue, s.clock.Now(), jobHold, jobBatch)
		if err != nil {
			return ran, fmt.Errorf("claim due jobs: %w", err)
		}
		for _, c := range claims {
			if err := s.runOne(ctx, c); err != nil {
				return ran, err
			}
			ran++
		}
		if len(claims) < jobBatch {
			return ran, nil
		}
	}
}

func (s *Scheduler) runOne(ctx context.Context, c store.Claim) error {
	doc, err := s.store.Get(ctx, jobCollection, c.Key)
	if errors.Is(err, store.ErrNotFound) {
		// Cancelled between scheduling and now: drop the stale entry.
		_, err = s.store.Complete(ctx, jobQueue, c)
		return err
	}
	if err != nil {
		return fmt.Errorf("load job %s: %w", c.Key, err)
	}
	var j Job
	if err := json.Unmarshal(doc.Data, &j); err != nil {
		s.log.Error("dropping an unreadable job", "job", c.Key, "err", err)
		_, err = s.store.Complete(ctx, jobQueue, c)
		return err
	}
	s.mu.RLock()
	h, ok := s.handlers[j.Kind]
	s.mu.RUnlock()
	if !ok {
		// Perhaps a newer replica knows it; look again later rather than lose it.
		s.log.Error("no handler for job kind; will retry", "job", j.ID, "kind", j.Kind)
		return s.retry(ctx, c, j, doc.Version, time.Hour)
	}
	runErr := h(ctx, j)
	if s.observer != nil {
		s.observer.JobDone(j.Kind, s.clock.Now().Sub(j.Due), runErr)
	}
	if runErr != nil {
		if errors.Is(runErr, store.ErrUnavailable) {
			return runErr
		}
		wait := backoff(j.Attempt)
		// A service that said how long to wait (a rate limit) is believed.
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(runErr, &ra) && ra.RetryAfter() > wait {
			wait = ra.RetryAfter()
		}
		s.log.Warn("job failed; will retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempt+1, "in", wait, "err", runErr)
		return s.retry(ctx, c, j, doc.Version, wait)
	}
	// Done. If the handler rescheduled this same id (a recurring job that
	// reuses its id), the version moved on and the new run must stay.
	if err := s.store.Delete(ctx, jobCollection, j.ID, doc.Version); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("finish job %s: %w", j.ID, err)
	}
	if _, err := s.store.Complete(ctx, jobQueue, c); err != nil {
		return fmt.Errorf("finish job %s: %w", j.ID, err)
	}
	return nil
}

func (s *Scheduler) retry(ctx context.Context, c store.Claim, j Job, version int64, wait time.Duration) error {
	j.Attempt++
	j.Due = s.clock.Now().Add(wait)
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := s.store.Put(ctx, jobCollection, j.ID, data, version); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // rescheduled meanwhile; the new schedule stands
		}
		return fmt.Errorf("retry job %s: %w", j.ID, err)
	}
	if err := s.store.Schedule(ctx, jobQueue, j.ID, j.Due); err != nil {
		return fmt.Errorf("retry job %s: %w", j.ID, err)
	}
	return nil
}

// backoff is exponential from 10 seconds, capped at one hour.
func backoff(attempt int) time.Duration {
	d := 10 * time.Second
	for i := 0; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
