package metrics_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/metrics"
)

var labels = metrics.ProcessLabels{
	States:     []string{"new", "acknowledged", "other"},
	Severities: []string{"critical", "unscored"},
	Clocks:     []string{"acknowledge", "publish"},
}

func TestProcessLabelsStayWithinTheKnownValues(t *testing.T) {
	m := metrics.New()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	m.WatchProcess(metrics.ProcessOptions{Labels: labels, Clock: clk,
		Source: func(context.Context, time.Time) (metrics.Process, error) {
			return metrics.Process{
				Open: map[string]map[string]int{
					"new":                 {"critical": 2, "unscored": 1},
					`x"} 1` + "\n" + `y{`: {"critical": 5}, // a state Vigil does not know: "other"
					"acknowledged":        {"<script>": 7}, // no "other" severity: dropped
				},
				Breaches:     map[string]int{"publish": 3, "made-up": 4},
				RemindersDue: 6, OldestUnacked: 90 * time.Minute,
			}, nil
		}})
	out := scrape(t, m)
	for _, want := range []string{
		`vigil_reports_open{severity="critical",state="new"} 2`,
		`vigil_reports_open{severity="unscored",state="new"} 1`,
		`vigil_reports_open{severity="critical",state="other"} 5`,
		`vigil_reports_open{severity="critical",state="acknowledged"} 0`,
		`vigil_clocks_in_breach{clock="publish"} 3`,
		`vigil_clocks_in_breach{clock="acknowledge"} 0`,
		`vigil_reminders_due 6`,
		`vigil_report_oldest_unacknowledged_seconds 5400`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, bad := range []string{"made-up", "<script>", `y{`} {
		if strings.Contains(out, bad) {
			t.Errorf("an unknown label value %q reached /metrics", bad)
		}
	}
	if n := strings.Count(out, "vigil_reports_open{"); n != 6 {
		t.Errorf("%d open-report series, want 3 states x 2 severities", n)
	}
}

func TestProcessReadsAreSharedAndFailuresCounted(t *testing.T) {
	m := metrics.New()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var reads atomic.Int32
	var fail atomic.Bool
	m.WatchProcess(metrics.ProcessOptions{Labels: labels, Clock: clk, TTL: 30 * time.Second,
		Source: func(context.Context, time.Time) (metrics.Process, error) {
			reads.Add(1)
			if fail.Load() {
				// The store's error, whatever it says, goes to the log only.
				return metrics.Process{}, errors.New("dial redis://:hunter2@10.0.0.5: refused")
			}
			return metrics.Process{RemindersDue: int(reads.Load())}, nil
		}})
	// Ten scrapers at once, and again inside the TTL: one read.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { scrape(t, m) })
	}
	wg.Wait()
	clk.Advance(29 * time.Second)
	if out := scrape(t, m); !strings.Contains(out, "vigil_reminders_due 1") || reads.Load() != 1 {
		t.Fatalf("%d reads for 11 scrapes inside the TTL", reads.Load())
	}
	// The store fails: the gauges are left out (not shown stale), the
	// failure is counted once per read, and nothing of it is exported.
	fail.Store(true)
	clk.Advance(time.Second)
	out := scrape(t, m)
	out += scrape(t, m)
	if strings.Contains(out, "vigil_reminders_due") || strings.Contains(out, "vigil_clocks_in_breach{") {
		t.Errorf("stale gauges shown after a failed read:\n%s", out)
	}
	if !strings.Contains(out, "vigil_process_gauge_errors_total 1") || reads.Load() != 2 {
		t.Errorf("reads %d; errors line missing", reads.Load())
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "10.0.0.5") {
		t.Error("the store's error reached /metrics")
	}
	// It recovers on the next read after the TTL.
	fail.Store(false)
	clk.Advance(30 * time.Second)
	if out := scrape(t, m); !strings.Contains(out, "vigil_reminders_due 3") {
		t.Errorf("no recovery:\n%s", out)
	}
}
