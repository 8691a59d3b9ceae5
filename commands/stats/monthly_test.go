package stats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
	"github.com/vigil-sec/vigil/store"
)

// replica is one Vigil process on the shared store and clock.
func replica(t *testing.T, st store.Store, clk *clock.Fake, name string, o stats.Options) (*bottest.Harness, *stats.Stats) {
	t.Helper()
	hs := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: name})
	if _, err := report.Register(hs.Engine, report.Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := stats.Register(hs.Engine, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return hs, s
}

// Two replicas over six months, one of them restarted twice, post one
// summary a month, on the first working day at 09:00 in the team's zone.
func TestMonthlySummaryOncePerMonthAcrossReplicasAndRestarts(t *testing.T) {
	ctx := context.Background()
	st := bottest.OpenStore(t)
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	o := stats.Options{MonthlySummary: true, Zone: paris}
	a, _ := replica(t, st, clk, "a", o)
	b, _ := replica(t, st, clk, "b", o)
	var got []string // "2026-02-02 09:00 January 2026"
	collect := func(hs *bottest.Harness) {
		for _, s := range hs.Chat.Take() {
			if h := s.Msg.Header; strings.HasPrefix(h, "Monthly security summary") {
				if s.To.Room != bottest.Room {
					t.Errorf("summary sent to %s, want the private room", s.To)
				}
				if len(s.Msg.Files) != 1 || s.Msg.Files[0].MIME != "image/png" {
					t.Errorf("summary without its chart: %+v", s.Msg.Files)
				}
				got = append(got, s.At.In(paris).Format("2006-01-02 15:04")+" "+strings.TrimPrefix(h, "Monthly security summary: "))
			}
		}
	}
	end := time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
	for day := 0; clk.Now().Before(end); day++ {
		// A restart of b on two days: a new engine on the same store
		// starts the feature again.
		if day == 40 || day == 120 {
			b, _ = replica(t, st, clk, "b", o)
		}
		if err := a.Engine.AdvanceTo(ctx, clk, clk.Now().Add(6*time.Hour)); err != nil {
			t.Fatal(err)
		}
		b.Engine.Step(ctx)
		collect(a)
		collect(b)
	}
	want := []string{
		"2026-02-02 09:00 January 2026", // 1 February is a Sunday
		"2026-03-02 09:00 February 2026",
		"2026-04-01 09:00 March 2026",
		"2026-05-01 09:00 April 2026",
		"2026-06-01 09:00 May 2026",
		"2026-07-01 09:00 June 2026",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("summaries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Off by default: nothing is scheduled.
func TestMonthlySummaryOffByDefault(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	a, _ := replica(t, st, clk, "a", stats.Options{})
	a.Advance(70 * 24 * time.Hour)
	for _, s := range a.Chat.Take() {
		if strings.Contains(s.Msg.Header, "Monthly") {
			t.Fatalf("a summary was posted: %+v", s.Msg)
		}
	}
	jobs, err := a.Engine.Scheduler().Pending(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if strings.HasPrefix(j.ID, "stats:") {
			t.Errorf("job %s scheduled while the summary is off", j.ID)
		}
	}
}
