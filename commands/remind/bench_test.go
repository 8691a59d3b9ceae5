package remind

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// seeded is a Redis store holding open reminder items, and what a day's
// collect must find in it.
type seeded struct {
	st    *redisstore.Store
	trips *testredis.Trips
	r     *Reminders
	// want: per maintainer due by day, the keys due within the window.
	want map[string][]string
}

// seedReminders writes perPerson items for each of maintainers, due times
// spread over spread from t0, one atomic batch per maintainer (so seeding
// 100,000 items takes seconds, not minutes).
func seedReminders(tb testing.TB, maintainers, perPerson int, spread time.Duration, t0, day time.Time) *seeded {
	srv := testredis.Start(tb)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(tb), Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	s := &seeded{st: st, trips: &testredis.Trips{}, r: benchReminders(tb, st, t0), want: map[string][]string{}}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	window := s.r.o.Window
	for m := range maintainers {
		name := fmt.Sprintf("m%04d", m)
		earliest := t0.Add(spread)
		ops := make([]store.Op, 0, 2*perPerson+1)
		var keys []string
		type kd struct {
			key string
			due time.Time
		}
		var due []kd
		for i := range perPerson {
			at := t0.Add(time.Duration(rng.Int64N(int64(spread))))
			it := item{Key: itemKey(fmt.Sprintf("VIG-2026-%d", m*perPerson+i), "acme/r", name), Report: "VIG-2026-1", Repo: "acme/r", Maintainer: name, Next: at}
			data, _ := json.Marshal(it)
			ops = append(ops, store.PutOp(itemColl, it.Key, data, store.AnyVersion), store.ScheduleOp(maintainerQueue(name), it.Key, at))
			if at.Before(earliest) {
				earliest = at
			}
			if !at.After(day.Add(window)) {
				due = append(due, kd{it.Key, at.Truncate(time.Millisecond)})
			}
		}
		ops = append(ops, store.ScheduleOp(globalQueue, name, earliest))
		if _, err := st.Apply(ctx, ops...); err != nil {
			tb.Fatal(err)
		}
		if !earliest.After(day) {
			sort.SliceStable(due, func(i, j int) bool {
				if !due[i].due.Equal(due[j].due) {
					return due[i].due.Before(due[j].due)
				}
				return due[i].key < due[j].key
			})
			for _, d := range due {
				keys = append(keys, d.key)
			}
			s.want[name] = keys
		}
	}
	st.AddHook(s.trips)
	return s
}

// rawRoundTrip is the median of n PINGs: the floor every figure of the
// run stands on, printed beside them so machines can be compared.
func rawRoundTrip(tb testing.TB, st *redisstore.Store, n int) time.Duration {
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if err := st.Ping(context.Background()); err != nil {
			tb.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	return lat[n/2]
}

// Finding a day's reminders costs a fixed number of Redis round trips
// (the global queue, every due maintainer's queue, every due item), not
// one per maintainer or per item, and finds exactly the items due within
// the window, in due order.
func TestCollectRoundTrips(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	day := t0.Add(24 * time.Hour)
	s := seedReminders(t, 200, 30, 30*24*time.Hour, t0, day)
	if len(s.want) < 20 {
		t.Fatalf("the seed put only %d maintainers due in the day; the test needs many", len(s.want))
	}
	// A first run warms the connection pool: dialing a connection costs
	// its own handshake round trips, once per connection, not per collect.
	if _, err := s.r.collect(context.Background(), day); err != nil {
		t.Fatal(err)
	}
	before := s.trips.N()
	batches, err := s.r.collect(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	trips := s.trips.N() - before
	if bound := int64(len(s.want)) + 1; trips > bound || trips > 3 {
		t.Errorf("collect took %d Redis round trips for %d due maintainers; want at most 3 (and at most %d)", trips, len(s.want), bound)
	}
	got := map[string][]string{}
	for _, b := range batches {
		for _, it := range b.Items {
			got[b.Maintainer] = append(got[b.Maintainer], it.Key)
		}
	}
	if len(got) != len(s.want) {
		t.Fatalf("collect found %d maintainers due, want %d", len(got), len(s.want))
	}
	for name, keys := range s.want {
		if !slices.Equal(got[name], keys) {
			t.Errorf("%s: collect found %v, want %v", name, got[name], keys)
		}
	}
}

// The reminders-due gauge reads every maintainer's queue ManyChunk queues
// at a time (two round trips for 700 maintainers, not 701) and counts what
// reading each queue on its own counts, limit included.
func TestDueGaugeRoundTrips(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	day := t0.Add(10 * 24 * time.Hour)
	const maintainers = 700
	s := seedReminders(t, maintainers, 6, 30*24*time.Hour, t0, day)
	ctx := context.Background()
	// What the gauge must say, read one queue at a time.
	want := func(limit int) (n int, truncated bool) {
		all, err := s.st.Pending(ctx, globalQueue, maintainers+1)
		if err != nil || len(all) != maintainers {
			t.Fatalf("global queue: %d maintainers, %v", len(all), err)
		}
		if len(all) > limit {
			all, truncated = all[:limit], true
		}
		for _, m := range all {
			items, err := s.st.Pending(ctx, maintainerQueue(m.Key), 100)
			if err != nil {
				t.Fatal(err)
			}
			due := 0
			for _, it := range items {
				if !it.Due.After(day) {
					due++
				}
			}
			truncated = truncated || due > limit
			n += min(due, limit)
		}
		return n, truncated
	}
	for _, limit := range []int{2000, 5, 2} {
		wantN, wantTrunc := want(limit)
		if limit == 2000 && (wantN < maintainers || wantTrunc) {
			t.Fatalf("the seed has only %d items due (truncated %v); the test needs more", wantN, wantTrunc)
		}
		// A first read warms the pool (a new connection's handshake is
		// counted as round trips of its own, once per connection).
		if _, _, err := s.r.Due(ctx, day, limit); err != nil {
			t.Fatal(err)
		}
		before := s.trips.N()
		n, truncated, err := s.r.Due(ctx, day, limit)
		trips := s.trips.N() - before
		if err != nil {
			t.Fatal(err)
		}
		if n != wantN || truncated != wantTrunc {
			t.Errorf("limit %d: Due = %d (truncated %v), want %d (truncated %v)", limit, n, truncated, wantN, wantTrunc)
		}
		read := min(limit, maintainers)
		if bound := int64(1 + (read+store.ManyChunk-1)/store.ManyChunk); trips > bound {
			t.Errorf("limit %d: Due took %d Redis round trips for %d maintainers, want at most %d", limit, trips, read, bound)
		}
	}
}

// BenchmarkFindOneDaysDue: 100,000 open reminder items across 1,000
// maintainers, due times spread over half a year, on a real Redis. Each
// iteration finds the maintainers due in one day and gathers their
// batches (items due, plus those riding along within the window): the
// work the dispatcher does before sending. It reads only what is due, in
// three round trips; it reports them per op beside the raw round trip.
func BenchmarkFindOneDaysDue(b *testing.B) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	day := t0.Add(24 * time.Hour)
	start := time.Now()
	s := seedReminders(b, 1000, 100, 182*24*time.Hour, t0, day)
	b.Logf("seeded 100,000 items in %s", time.Since(start).Round(100*time.Millisecond))
	raw := rawRoundTrip(b, s.st, 2000)
	ctx := context.Background()
	var items, people int
	b.ReportAllocs()
	before := s.trips.N()
	b.ResetTimer()
	for b.Loop() {
		batches, err := s.r.collect(ctx, day)
		if err != nil {
			b.Fatal(err)
		}
		people, items = len(batches), 0
		for _, bt := range batches {
			items += len(bt.Items)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(s.trips.N()-before)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(raw.Nanoseconds())/1000, "raw-rtt-µs")
	b.ReportMetric(float64(people), "maintainers")
	b.ReportMetric(float64(items), "items")
}

func benchReminders(tb testing.TB, st store.Store, now time.Time) *Reminders {
	e, err := bot.New(bot.Options{Store: st, Clock: clock.NewFake(now)})
	if err != nil {
		tb.Fatal(err)
	}
	reps, err := report.Register(e, report.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := Register(e, Options{Reports: reps})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
