package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// seedHistory writes n reports and a release for every tenth one straight
// into the features' collections, 200 documents per atomic batch.
func seedHistory(tb testing.TB, st store.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ops []store.Op
	put := func(collection, id string, v any) {
		data, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		ops = append(ops, store.PutOp(collection, id, data, store.AnyVersion))
		if len(ops) == 200 {
			if _, err := st.Apply(ctx, ops...); err != nil {
				tb.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	for i := range n {
		id := fmt.Sprintf("VIG-2026-%d", i+1)
		rec := t0.Add(time.Duration(i) * time.Hour)
		put("reports", id, report.Report{ID: id, Title: bot.Untrusted("<b>title</b> " + id), Source: intake.SourceEmail,
			Received: rec, AckDue: rec.Add(48 * time.Hour), State: report.StateNew})
		if i%10 == 0 {
			put("releases", id, release.Release{ID: id, State: release.StatePublished, PublishedAt: rec.Add(24 * time.Hour)})
		}
	}
	if len(ops) > 0 {
		if _, err := st.Apply(ctx, ops...); err != nil {
			tb.Fatal(err)
		}
	}
}

// Loading the history of n reports from Redis costs a handful of round
// trips plus one per store.ManyChunk reports, not one per report, and
// loads exactly what the embedded store loads from the same documents.
func TestLoadReadsTheHistoryInChunksOnRedis(t *testing.T) {
	const n = 1234
	srv := testredis.Start(t)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(t), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seedHistory(t, st, n)
	trips := &testredis.Trips{}
	st.AddHook(trips)
	ctx := context.Background()
	// A first load warms the pool (a new connection's handshake counts
	// as round trips of its own, once per connection).
	if _, err := stats.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	before := trips.N()
	h, err := stats.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got := trips.N() - before

	chunks := func(k int) int64 { return int64((k + store.ManyChunk - 1) / store.ManyChunk) }
	// One List per feature (reports, releases, incidents, rotations) and
	// one page of the audit log, then the chunks.
	if bound := 5 + chunks(n) + chunks(n/10+1); got > bound {
		t.Errorf("Load of %d reports took %d Redis round trips, want at most %d", n, got, bound)
	}
	t.Logf("Load of %d reports and %d releases: %d Redis round trips", len(h.Reports), len(h.Releases), got)

	if len(h.Reports) != n || len(h.Releases) != (n+9)/10 {
		t.Fatalf("loaded %d reports and %d releases, want %d and %d", len(h.Reports), len(h.Releases), n, (n+9)/10)
	}
	ids := make([]string, len(h.Reports))
	for i, r := range h.Reports {
		ids[i] = r.ID
		if string(r.Title) != "<b>title</b> "+r.ID {
			t.Fatalf("report %s has title %q", r.ID, r.Title)
		}
	}
	if !slices.IsSorted(ids) {
		t.Errorf("reports not in id order: %v ...", ids[:10])
	}

	emb := bottest.OpenStore(t)
	seedHistory(t, emb, n)
	want, err := stats.Load(ctx, emb)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("the history loaded from Redis differs from the embedded store's")
	}
}
