package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// runLog records job runs with the time each saw.
type runLog struct {
	mu   sync.Mutex
	runs []string
}

func (l *runLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, s)
}

func (l *runLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.runs...)
}

func TestJobsRunInOrderAtTheirDueTimes(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	var log runLog
	h.Engine.HandleJob("note", func(ctx context.Context, j bot.Job) error {
		log.add(fmt.Sprintf("%s@%s", j.ID, h.Clock.Now().Format("Mon 15:04")))
		return nil
	})
	s := h.Engine.Scheduler()
	for _, j := range []struct {
		id  string
		due time.Duration
	}{{"c", 30 * time.Hour}, {"a", time.Hour}, {"late", 40 * time.Hour}, {"b", 25 * time.Hour}} {
		if err := s.Schedule(ctx, bot.Job{ID: j.id, Kind: "note", Due: bottest.Start.Add(j.due)}); err != nil {
			t.Fatal(err)
		}
	}
	h.Advance(36 * time.Hour)
	want := []string{"a@Mon 10:00", "b@Tue 10:00", "c@Tue 15:00"}
	if got := log.all(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs = %v, want %v", got, want)
	}
	h.Advance(12 * time.Hour)
	if got := log.all(); len(got) != 4 || got[3] != "late@Wed 01:00" {
		t.Errorf("after 48h runs = %v", got)
	}
	// Nothing runs twice.
	h.Advance(7 * 24 * time.Hour)
	if got := len(log.all()); got != 4 {
		t.Errorf("%d runs after a further week, want 4", got)
	}
}

func TestRescheduleByIDReplacesTheJob(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	var log runLog
	h.Engine.HandleJob("note", func(_ context.Context, j bot.Job) error {
		log.add(h.Clock.Now().Format("15:04"))
		return nil
	})
	s := h.Engine.Scheduler()
	_ = s.Schedule(ctx, bot.Job{ID: "handoff", Kind: "note", Due: bottest.Start.Add(time.Hour)})
	_ = s.Schedule(ctx, bot.Job{ID: "handoff", Kind: "note", Due: bottest.Start.Add(3 * time.Hour)})
	_ = s.Schedule(ctx, bot.Job{ID: "cancelled", Kind: "note", Due: bottest.Start.Add(2 * time.Hour)})
	if err := s.Cancel(ctx, "cancelled"); err != nil {
		t.Fatal(err)
	}
	h.Advance(24 * time.Hour)
	if got := log.all(); fmt.Sprint(got) != "[12:00]" {
		t.Errorf("runs = %v, want one run at 12:00", got)
	}
}

func TestRecurringJobAndPayload(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	s := h.Engine.Scheduler()
	var log runLog
	type weekly struct{ N int }
	h.Engine.HandleJob("weekly", func(ctx context.Context, j bot.Job) error {
		var p weekly
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return err
		}
		log.add(fmt.Sprintf("%d@%s", p.N, h.Clock.Now().Format("01-02")))
		next, _ := json.Marshal(weekly{N: p.N + 1})
		// Reusing the id: the scheduler must keep the new run.
		return s.Schedule(ctx, bot.Job{ID: "weekly", Kind: "weekly", Due: j.Due.Add(7 * 24 * time.Hour), Payload: next})
	})
	first, _ := json.Marshal(weekly{N: 1})
	_ = s.Schedule(ctx, bot.Job{ID: "weekly", Kind: "weekly", Due: bottest.Start, Payload: first})
	h.Advance(30 * 24 * time.Hour)
	want := "[1@01-05 2@01-12 3@01-19 4@01-26 5@02-02]"
	if got := fmt.Sprint(log.all()); got != want {
		t.Errorf("runs = %s, want %s", got, want)
	}
}

func TestFailingJobRetriesWithBackoff(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	var log runLog
	h.Engine.HandleJob("flaky", func(_ context.Context, j bot.Job) error {
		log.add(h.Clock.Now().Sub(bottest.Start).String())
		if j.Attempt < 3 {
			return errors.New("chat down")
		}
		return nil
	})
	_ = h.Engine.Scheduler().Schedule(ctx, bot.Job{ID: "x", Kind: "flaky", Due: bottest.Start})
	h.Advance(time.Hour)
	// 0, +10s, +20s, +40s: backoff doubles from ten seconds, then success.
	if got := fmt.Sprint(log.all()); got != "[0s 10s 30s 1m10s]" {
		t.Errorf("attempts at %s", got)
	}
	if pending, _ := h.Engine.Scheduler().Pending(ctx, 10); len(pending) != 0 {
		t.Errorf("job still pending after success: %+v", pending)
	}
}

// TestTwoEnginesRunEachJobOnce shares one store between two replicas; only
// the lease holder runs jobs, and when it dies the other takes over after
// the lease runs out, without running anything twice.
func TestTwoEnginesRunEachJobOnce(t *testing.T) {
	st := bottest.OpenStore(t)
	runTwoReplicas(t, st)
}

// runTwoReplicas is shared with the Redis integration test.
func runTwoReplicas(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(bottest.Start)
	ttl := 15 * time.Second
	a := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-a", LeaseTTL: ttl})
	b := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-b", LeaseTTL: ttl})
	var runs runLog
	counts := map[string]int{}
	var maxLate time.Duration
	for name, h := range map[string]*bottest.Harness{"a": a, "b": b} {
		h.Engine.HandleJob("tick", func(_ context.Context, j bot.Job) error {
			runs.add(name + ":" + j.ID)
			runs.mu.Lock()
			counts[j.ID]++
			maxLate = max(maxLate, clk.Now().Sub(j.Due))
			runs.mu.Unlock()
			return nil
		})
	}
	const jobs = 60
	for i := range jobs {
		due := bottest.Start.Add(time.Duration(i) * time.Minute)
		if err := a.Engine.Scheduler().Schedule(ctx, bot.Job{ID: fmt.Sprintf("j%02d", i), Kind: "tick", Due: due}); err != nil {
			t.Fatal(err)
		}
	}
	// Both replicas step every 10 simulated seconds, concurrently; a is
	// killed (stops stepping, keeps its lease) after 20 minutes.
	step := 10 * time.Second
	a.Engine.Step(ctx) // a becomes the leader
	for now := bottest.Start; now.Before(bottest.Start.Add(jobs * time.Minute)); now = now.Add(step) {
		clk.Set(now)
		var wg sync.WaitGroup
		if now.Before(bottest.Start.Add(20 * time.Minute)) {
			wg.Go(func() { a.Engine.Step(ctx) })
		}
		wg.Go(func() { b.Engine.Step(ctx) })
		wg.Wait()
	}
	ranBy := map[string]int{}
	for _, r := range runs.all() {
		ranBy[r[:1]]++
	}
	for i := range jobs {
		id := fmt.Sprintf("j%02d", i)
		if counts[id] != 1 {
			t.Errorf("job %s ran %d times, want exactly once", id, counts[id])
		}
	}
	if ranBy["a"] == 0 || ranBy["b"] == 0 {
		t.Errorf("runs by replica = %v: want a to lead first and b to take over", ranBy)
	}
	if maxLate > ttl+step {
		t.Errorf("a job waited %s past its due time; the take-over should take at most the lease TTL (%s) plus one step", maxLate, ttl)
	}
	// b took over no sooner than the lease allowed: the first job b ran is
	// due after a died.
	var firstB string
	for _, r := range runs.all() {
		if r[:1] == "b" {
			firstB = r[2:]
			break
		}
	}
	if firstB < "j20" {
		t.Errorf("b ran %s while a still held the lease", firstB)
	}
	holder, err := st.LeaseHolder(ctx, "scheduler", clk.Now())
	if err != nil || holder != "replica-b" {
		t.Errorf("lease holder = %q, %v; want replica-b", holder, err)
	}
}
