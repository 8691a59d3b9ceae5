package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
)

// The read behind vigil_reports_open and friends, for 1,000 open reports
// on the embedded store (docs/MONITORING.md: one read per open report).
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
