package remind

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// BenchmarkFindOneDaysDue: 100,000 open reminder items across 1,000
// maintainers, due times spread over half a year, on a real Redis. Each
// iteration finds the maintainers due in one day and gathers their
// batches (items due, plus those riding along within the window): the
// work the dispatcher does before sending. It reads only what is due.
func BenchmarkFindOneDaysDue(b *testing.B) {
	const (
		maintainers = 1000
		perPerson   = 100
		spread      = 182 * 24 * time.Hour
	)
	srv := testredis.Start(b)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(b), Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	r := benchReminders(b, st, t0)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for m := range maintainers {
		name := fmt.Sprintf("m%04d", m)
		earliest := t0.Add(spread)
		for i := range perPerson {
			due := t0.Add(time.Duration(rng.Int64N(int64(spread))))
			it := item{Key: itemKey(fmt.Sprintf("VIG-2026-%d", m*perPerson+i), "acme/r", name), Report: "VIG-2026-1", Repo: "acme/r", Maintainer: name, Next: due}
			data, _ := json.Marshal(it)
			if _, err := st.Put(ctx, itemColl, it.Key, data, store.AnyVersion); err != nil {
				b.Fatal(err)
			}
			if err := st.Schedule(ctx, maintainerQueue(name), it.Key, due); err != nil {
				b.Fatal(err)
			}
			if due.Before(earliest) {
				earliest = due
			}
		}
		if err := st.Schedule(ctx, globalQueue, name, earliest); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d items in %s", maintainers*perPerson, time.Since(start).Round(time.Second))
	// The first day: everything due by its end.
	day := t0.Add(24 * time.Hour)
	var items, people int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batches, err := r.collect(ctx, day)
		if err != nil {
			b.Fatal(err)
		}
		people, items = len(batches), 0
		for _, bt := range batches {
			items += len(bt.Items)
		}
	}
	b.ReportMetric(float64(people), "maintainers")
	b.ReportMetric(float64(items), "items")
}

func benchReminders(b *testing.B, st store.Store, now time.Time) *Reminders {
	e, err := bot.New(bot.Options{Store: st, Clock: clock.NewFake(now)})
	if err != nil {
		b.Fatal(err)
	}
	reps, err := report.Register(e, report.Options{})
	if err != nil {
		b.Fatal(err)
	}
	r, err := Register(e, Options{Reports: reps})
	if err != nil {
		b.Fatal(err)
	}
	return r
}
