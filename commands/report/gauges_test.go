package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// The read behind vigil_reports_open and friends, for 1,000 open reports
// on the embedded store (docs/MONITORING.md: ManyChunk reports per read).
func BenchmarkGauges1000OpenReports(b *testing.B) {
	h := bottest.New(b, bottest.Options{})
	r, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 1000 {
		if _, err := r.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: fmt.Sprint(i), Title: "t", Description: "d"}); err != nil {
			b.Fatal(err)
		}
	}
	now := h.Clock.Now().Add(72 * time.Hour)
	for b.Loop() {
		g, err := r.Gauges(ctx, now, 2000)
		if err != nil || g.Open[report.StateNew]["unscored"] != 1000 || g.AckBreaches != 1000 {
			b.Fatalf("%+v %v", g, err)
		}
	}
}

func TestGaugesCountOnlyOpenReportsAndStopAtTheLimit(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	r, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if _, err := r.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: fmt.Sprint(i), Title: "t", Description: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := r.Gauges(ctx, h.Clock.Now().Add(time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Truncated || g.Open[report.StateNew]["unscored"] != 2 || g.OldestUnacked != time.Hour || g.AckBreaches != 0 {
		t.Errorf("limit 2 of 3: %+v", g)
	}
}

// On Redis the gauges read the open reports store.ManyChunk per round
// trip: the open set, then two reads for 600 reports, not 600.
func TestGaugesReadOpenReportsInChunksOnRedis(t *testing.T) {
	const n = 600
	srv := testredis.Start(t)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(t), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := bottest.New(t, bottest.Options{Store: st})
	r, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		if _, err := r.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: fmt.Sprint(i), Title: "t", Description: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	trips := &testredis.Trips{}
	st.AddHook(trips)
	now := h.Clock.Now().Add(72 * time.Hour)
	// A first read warms the pool (a new connection's handshake counts
	// as round trips of its own, once per connection).
	if _, err := r.Gauges(ctx, now, 2000); err != nil {
		t.Fatal(err)
	}
	before := trips.N()
	g, err := r.Gauges(ctx, now, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if got, bound := trips.N()-before, int64(1+(n+store.ManyChunk-1)/store.ManyChunk); got > bound {
		t.Errorf("Gauges of %d open reports took %d Redis round trips, want at most %d", n, got, bound)
	}
	if g.Truncated || g.Open[report.StateNew]["unscored"] != n || g.AckBreaches != n || g.OldestUnacked != 72*time.Hour {
		t.Errorf("gauges of %d new reports 72 h old: %+v", n, g)
	}
}
