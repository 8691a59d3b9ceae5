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
	"github.com/vigil-sec/vigil/internal/reconnect"
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
	// DefaultJobTimeout bounds one job: shorter than jobHold, so a job
	// ends (its context does) while its claim still hides it from others.
	DefaultJobTimeout = 4 * time.Minute
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
// again. Returning an error retries it with backoff. It runs under a
// deadline (Options.JobTimeout) and must return when ctx ends: the job's
// claim is only held that long.
type JobHandler func(ctx context.Context, job Job) error

// Scheduler keeps jobs in the store. Only the replica holding the scheduler
// lease runs them (Engine.Step), the lease is renewed while they run, and
// each due job is claimed atomically with a hold longer than the job's
// deadline. So two replicas never run one job at the same time, as long as
// handlers return when their context ends. A job can still run again after
// a crash (the claim runs out, the job had not been marked done): delivery
// is at least once, which is why handlers must be idempotent.
type Scheduler struct {
	store    store.Store
	clock    clock.Clock
	log      *slog.Logger
	observer Observer

	jobTimeout      time.Duration
	shutdownTimeout time.Duration

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
// job with the same id, in one atomic write (ScheduleOps, schedule_ops.go).
func (s *Scheduler) Schedule(ctx context.Context, j Job) error {
	ops, err := s.ScheduleOps(j)
	if err != nil {
		return err
	}
	if _, err := s.store.Apply(ctx, ops...); err != nil {
		return fmt.Errorf("schedule %s: %w", j.ID, err)
	}
	return nil
}

// Cancel removes a job; cancelling a job that does not exist is fine.
func (s *Scheduler) Cancel(ctx context.Context, id string) error {
	if _, err := s.store.Apply(ctx,
		store.UnscheduleOp(jobQueue, id),
		store.DeleteOp(jobCollection, id, store.AnyVersion),
	); err != nil {
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
// many ran. The caller must hold the scheduler lease and end ctx when it
// loses it: RunDue checks ctx between jobs and hands the claimed jobs it
// did not start back at once. Each job runs under a deadline shorter than
// its claim (Options.JobTimeout); a job that fails is retried later and
// does not hold up the others of its batch.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	ran := 0
	var firstErr error
	for ctx.Err() == nil {
		claims, err := s.store.ClaimDue(ctx, jobQueue, s.clock.Now(), jobHold, jobBatch)
		if err != nil {
			return ran, fmt.Errorf("claim due jobs: %w", err)
		}
		for i, c := range claims {
			if ctx.Err() != nil {
				s.release(ctx, claims[i:])
				return ran, firstErr
			}
			if err := s.runOne(ctx, c); err != nil {
				// Store trouble for this job; it is claimed again after
				// its hold. The others still get their turn.
				s.log.Warn("job bookkeeping failed; it will run again after its hold", "job", c.Key, "err", err)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			ran++
		}
		if len(claims) < jobBatch {
			break
		}
	}
	return ran, firstErr
}

// release hands claimed jobs back at their due time, so the next leader
// can run them without waiting out the hold.
func (s *Scheduler) release(ctx context.Context, claims []store.Claim) {
	bctx, cancel := clock.Detached(ctx, s.clock, s.shutdownTimeout)
	defer cancel()
	for _, c := range claims {
		if err := s.store.Schedule(bctx, jobQueue, c.Key, c.Due); err != nil {
			s.log.Debug("could not hand a claimed job back; it runs after its hold", "job", c.Key, "err", err)
			return
		}
	}
}

func (s *Scheduler) runOne(ctx context.Context, c store.Claim) error {
	// The bookkeeping after a job must not be cut by a shutdown, or the
	// job would run again after the restart.
	bctx, cancel := clock.Detached(ctx, s.clock, s.shutdownTimeout)
	defer cancel()
	doc, err := s.store.Get(bctx, jobCollection, c.Key)
	if errors.Is(err, store.ErrNotFound) {
		// Cancelled between scheduling and now: drop the stale entry.
		_, err = s.store.Complete(bctx, jobQueue, c)
		return err
	}
	if err != nil {
		return fmt.Errorf("load job %s: %w", c.Key, err)
	}
	var j Job
	if err := json.Unmarshal(doc.Data, &j); err != nil {
		s.log.Error("dropping an unreadable job", "job", c.Key, "err", err)
		_, err = s.store.Complete(bctx, jobQueue, c)
		return err
	}
	s.mu.RLock()
	h, ok := s.handlers[j.Kind]
	s.mu.RUnlock()
	if !ok {
		// Perhaps a newer replica knows it; look again later rather than lose it.
		s.log.Error("no handler for job kind; will retry", "job", j.ID, "kind", j.Kind)
		return s.retry(bctx, c, j, doc.Version, time.Hour)
	}
	jctx, jcancel := clock.WithTimeout(ctx, s.clock, s.jobTimeout)
	runErr := s.run(jctx, h, j)
	jcancel()
	if s.observer != nil {
		s.observer.JobDone(j.Kind, s.clock.Now().Sub(j.Due), runErr)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			// Stopped by a shutdown or a lost lease, not by its own
			// fault: hand it back as it was, for the next leader.
			s.log.Info("job interrupted; handing it back", "job", j.ID, "kind", j.Kind, "why", context.Cause(ctx))
			s.release(ctx, []store.Claim{c})
			return nil
		}
		wait := jobBackoff.Wait(j.Attempt + 1)
		// A service that said how long to wait (a rate limit) is believed.
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(runErr, &ra) && ra.RetryAfter() > wait {
			wait = ra.RetryAfter()
		}
		if errors.Is(context.Cause(jctx), clock.ErrDeadline) {
			s.log.Warn("job ran out of time; will retry", "job", j.ID, "kind", j.Kind, "timeout", s.jobTimeout, "in", wait)
		} else {
			s.log.Warn("job failed; will retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempt+1, "in", wait, "err", runErr)
		}
		return s.retry(bctx, c, j, doc.Version, wait)
	}
	// Done. If the handler rescheduled this same id (a recurring job that
	// reuses its id), the version moved on and the new run must stay.
	if err := s.store.Delete(bctx, jobCollection, j.ID, doc.Version); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("finish job %s: %w", j.ID, err)
	}
	if _, err := s.store.Complete(bctx, jobQueue, c); err != nil {
		return fmt.Errorf("finish job %s: %w", j.ID, err)
	}
	return nil
}

// run calls the handler, turning a panic into an error so one bad job
// does not take the loop (and the other jobs) down.
func (s *Scheduler) run(ctx context.Context, h JobHandler, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("job panicked", "job", j.ID, "kind", j.Kind, "panic", r)
			err = fmt.Errorf("job %s panicked: %v", j.ID, r)
		}
	}()
	return h(ctx, j)
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

// jobBackoff is the wait before a failed job's next run: 10s, 20s, 40s ...
// up to an hour.
var jobBackoff = reconnect.Backoff{Min: 10 * time.Second, Max: time.Hour}
