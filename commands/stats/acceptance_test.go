package stats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/commands/stats"
)

// The year of yearFixture, every figure computed by hand from its table.
func TestYearOfReportsThroughTheRealFeatures(t *testing.T) {
	hs, st, log := yearFixture(t)
	defer func() {
		if t.Failed() {
			t.Log(strings.Join(log, "\n"))
		}
	}()
	p := stats.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	f, err := st.Figures(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	checkDur := func(what string, got stats.Durations, n int, median, p90, max time.Duration) {
		t.Helper()
		if got.N != n || got.Median != median || got.P90 != p90 || (max >= 0 && got.Max != max) {
			t.Errorf("%s = n %d median %s p90 %s max %s; want n %d median %s p90 %s max %s", what, got.N, got.Median, got.P90, got.Max, n, median, p90, max)
		}
	}

	// Sources: email 0 2 4 6 9 11, github 1 5 7 10, api 3 8.
	want := []stats.Count{{Key: "email", N: 6}, {Key: "github", N: 4}, {Key: "api", N: 2}}
	if len(f.BySource) != len(want) {
		t.Fatalf("by source: %+v", f.BySource)
	}
	for i, c := range want {
		check("source "+c.Key, f.BySource[i], c)
	}
	check("received", f.Total.Received, 12)
	check("accepted", f.Total.Accepted, 10)
	check("rejected", f.Total.Rejected, 2)
	// Acks sorted: 1 2 4 5 8 10 20 30 47 48 50 60 h; median = 6th of 12,
	// p90 = 11th (ceil 10.8); breaches at or after 48h: 48 50 60.
	checkDur("ack", f.Total.Ack, 12, 10*h, 50*h, 60*h)
	check("ack breaches", f.Total.AckBreaches, 3)
	// Fixes released in 2026: 2 5 20 25 30 35 40 100 d (report 10 is
	// published on 1 January 2027, report 11 is open); median 4th, p90 8th.
	checkDur("fix", f.Total.Fix, 8, 25*d, 100*d, 100*d)

	bySev := map[string]stats.Group{}
	for _, g := range f.BySeverity {
		bySev[g.Severity] = g
	}
	if len(bySev) != 4 {
		t.Errorf("severities: %+v", f.BySeverity)
	}
	// critical: 0 4 7; acks 1 2 4 h; fixes 2 5 30 d; weekly cadence: 2 within.
	c := bySev["critical"]
	check("critical received", c.Received, 3)
	checkDur("critical ack", c.Ack, 3, 2*h, 4*h, 4*h)
	check("critical breaches", c.AckBreaches, 0)
	checkDur("critical fix", c.Fix, 3, 5*d, 30*d, -1)
	check("critical within 7d", c.WithinCadence, 2)
	check("critical cadence", c.Cadence, 7*d)
	// high: 1 5 8 11; acks 8 10 47 60 h (median 2nd, p90 4th); fixes 20 25 35 d.
	hi := bySev["high"]
	check("high received", hi.Received, 4)
	check("high accepted", hi.Accepted, 4)
	checkDur("high ack", hi.Ack, 4, 10*h, 60*h, 60*h)
	check("high breaches", hi.AckBreaches, 1)
	checkDur("high fix", hi.Fix, 3, 25*d, 35*d, -1)
	check("high within 30d", hi.WithinCadence, 2)
	// medium: 2 6 10; acks 5 20 50 h; fixes 40 100 d (median 1st of 2).
	m := bySev["medium"]
	checkDur("medium ack", m.Ack, 3, 20*h, 50*h, 50*h)
	check("medium breaches", m.AckBreaches, 1)
	checkDur("medium fix", m.Fix, 2, 40*d, 100*d, -1)
	check("medium within 91d", m.WithinCadence, 1)
	// low: 3 9, both rejected; acks 30 48 h, the second at the deadline.
	l := bySev["low"]
	check("low rejected", l.Rejected, 2)
	check("low accepted", l.Accepted, 0)
	checkDur("low ack", l.Ack, 2, 30*h, 48*h, 48*h)
	check("low breaches", l.AckBreaches, 1)
	check("low fixes", l.Fix.N, 0)

	// Releases published in 2026: 0 1 2 4 5 6 7 8. Report 4 was expedited
	// (notice missed), report 5 published 3h after the merge (breach).
	r := f.Releases
	check("published", r.Published, 8)
	check("notice met", r.NoticeMet, 7)
	check("notice missed", r.NoticeBreached, 1)
	check("publish met", r.PublishMet, 7)
	check("publish breached", r.PublishBreached, 1)
	if len(f.Advisories) != 8 || f.Advisories[0].GHSAs[0] != "GHSA-0000-0000-0000" || f.Advisories[0].Published.Sub(f.Advisories[0].Received) != 5*d {
		t.Errorf("advisories: %+v", f.Advisories)
	}

	// Open now: report 11 on acme/api only.
	if len(f.Open) != 1 || f.Open[0].Repo != "acme/api" || f.Open[0].Severity != "high" {
		t.Fatalf("open: %+v", f.Open)
	}
	check("open age", f.Open[0].Age, hs.Clock.Now().Sub(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)))
	if len(f.OpenByRepo) != 1 || f.OpenByRepo[0].N != 1 {
		t.Errorf("open by repo: %+v", f.OpenByRepo)
	}

	// Carol was told of report 7 (critical) on 2 August 13:04 and reminded
	// weekly from then: 9, 16, 23 and 30 August; the fix on 1 September
	// stopped the rest.
	check("reminders", f.RemindersSent, 4)

	// Incidents: 4h30m and 26h.
	check("incidents", f.Incidents.Started, 2)
	check("resolved", f.Incidents.Resolved, 2)
	checkDur("incident duration", f.Incidents.Duration, 2, 4*h+30*time.Minute, 26*h, 26*h)

	// Work: bob triaged the even reports, alice the odd ones and scored
	// all twelve; the weekly rotation had 52 Monday hand-offs in 2026.
	people := map[string]stats.PersonWork{}
	for _, w := range f.People {
		people[w.Name] = w
	}
	check("bob", people["bob"], stats.PersonWork{Name: "bob", Triaged: 6, Scored: 0, Shifts: 26})
	check("alice", people["alice"], stats.PersonWork{Name: "alice", Triaged: 6, Scored: 12, Shifts: 26})

	// The chart's months: January's critical report acknowledged in 2h,
	// fixed in 5 days; June's high report 60h and 35 days.
	if len(f.Months) != 12 {
		t.Fatalf("%d months", len(f.Months))
	}
	check("Jan ack", f.Months[0].AckMedian["critical"], 2*h)
	check("Jan fix", f.Months[0].FixMedian["critical"], 5*d)
	check("Jun ack", f.Months[5].AckMedian["high"], 60*h)
	check("Jun fix", f.Months[5].FixMedian["high"], 35*d)

	// One repository: acme/api has report 11 only, and no incidents.
	p.Repo = "ACME/api"
	fr, err := st.Figures(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	check("acme/api received", fr.Total.Received, 1)
	check("acme/api incidents", fr.Incidents.Started, 0)
	check("acme/api reminders", fr.RemindersSent, 0)
}
