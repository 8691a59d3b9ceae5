package stats_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/cvss"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/remind"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
)

// advisories is an in-memory GitHub: publishing sets a state.
type advisories struct {
	mu     sync.Mutex
	states map[string]string
}

func (g *advisories) SetAdvisoryState(_ context.Context, _, id, state string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.states[id] = state
	return nil
}

// vectors scored per severity.
var vectors = map[string]string{
	"critical": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	"high":     "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N",
	"medium":   "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
	"low":      "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
}

// plan is one report of the year with its known timings. Report i is
// received on the 2nd of month i+1 at 09:00 UTC, acknowledged ack later
// (by bob for even i, alice for odd i, who also accepts or rejects it),
// scored by alice a minute after; an accepted one is published fix after
// receipt, its fix merged pub before that.
type plan struct {
	source   intake.Source
	sev      string
	ack      time.Duration
	reject   bool
	open     bool // accepted and being fixed at the end
	fix, pub time.Duration
	expedite bool
	notify   bool // carol is told and reminded
	repo     string
}

const (
	h = time.Hour
	d = 24 * time.Hour
)

var year = []plan{
	{source: intake.SourceEmail, sev: "critical", ack: 2 * h, fix: 5 * d, pub: 30 * time.Minute},
	{source: intake.SourceGitHub, sev: "high", ack: 10 * h, fix: 20 * d, pub: 30 * time.Minute},
	{source: intake.SourceEmail, sev: "medium", ack: 50 * h, fix: 40 * d, pub: 30 * time.Minute},
	{source: intake.SourceAPI, sev: "low", ack: 30 * h, reject: true},
	{source: intake.SourceEmail, sev: "critical", ack: 1 * h, fix: 2 * d, pub: 30 * time.Minute, expedite: true},
	{source: intake.SourceGitHub, sev: "high", ack: 60 * h, fix: 35 * d, pub: 3 * h},
	{source: intake.SourceEmail, sev: "medium", ack: 20 * h, fix: 100 * d, pub: 30 * time.Minute},
	{source: intake.SourceGitHub, sev: "critical", ack: 4 * h, fix: 30 * d, pub: 30 * time.Minute, notify: true},
	{source: intake.SourceAPI, sev: "high", ack: 47 * h, fix: 25 * d, pub: 1 * h},
	{source: intake.SourceEmail, sev: "low", ack: 48 * h, reject: true},
	// Published on 1 January of the next year: outside the year's fixes.
	{source: intake.SourceGitHub, sev: "medium", ack: 5 * h, fix: 60 * d, pub: 30 * time.Minute},
	{source: intake.SourceEmail, sev: "high", ack: 8 * h, open: true, repo: "acme/api"},
}

type event struct {
	at time.Time
	do func()
}

// yearFixture runs the year through the real features and returns the
// harness and the stats feature.
func yearFixture(t *testing.T) (*bottest.Harness, *stats.Stats, []string) {
	t.Helper()
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	hs := bottest.New(t, bottest.Options{Clock: clock.NewFake(start)})
	dt, err := duty.Register(hs.Engine, duty.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := report.Register(hs.Engine, report.Options{Duty: dt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cvss.Register(hs.Engine, cvss.Options{OnScored: reps.StoreScore}); err != nil {
		t.Fatal(err)
	}
	if _, err := remind.Register(hs.Engine, remind.Options{Reports: reps}); err != nil {
		t.Fatal(err)
	}
	rels, err := release.Register(hs.Engine, release.Options{Reports: reps, GitHub: &advisories{states: map[string]string{}}, Duty: dt, AnnounceRooms: []bot.RoomRef{bottest.PublicRoom}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incident.Register(hs.Engine, incident.Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := stats.Register(hs.Engine, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var log []string
	run := func(who, cmd string) {
		out := bottest.Joined(hs.Command(who, cmd))
		log = append(log, hs.Clock.Now().Format(time.RFC3339)+" "+who+": "+cmd+"\n  "+strings.ReplaceAll(out, "\n", "\n  "))
	}
	run("alice", `duty rotation create triage --members @bob,@alice --shift 1w --handoff "Mon 09:00 UTC"`)

	ids := make([]string, len(year))
	var evs []event
	add := func(at time.Time, do func()) { evs = append(evs, event{at, do}) }
	for i, p := range year {
		i, p := i, p
		received := time.Date(2026, time.Month(i+1), 2, 9, 0, 0, 0, time.UTC)
		acker := "bob"
		if i%2 == 1 {
			acker = "alice"
		}
		repo := p.repo
		if repo == "" {
			repo = "acme/web"
		}
		add(received, func() {
			res, err := reps.Receive(ctx, intake.Incoming{Source: p.source, SourceID: fmt.Sprintf("src-%d", i),
				Title: bot.Untrusted(fmt.Sprintf("Report %d", i)), Description: "details", Reporter: intake.Reporter{Email: "eve@example.org"},
				Repositories: []string{repo}})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = res.ReportID
		})
		at := received.Add(p.ack)
		add(at, func() { run(acker, "report ack "+ids[i]) })
		add(at.Add(time.Minute), func() { run("alice", "report score "+ids[i]+" "+vectors[p.sev]) })
		if p.reject {
			add(at.Add(2*time.Minute), func() { run(acker, "report reject "+ids[i]+` --reason "not a vulnerability"`) })
			continue
		}
		add(at.Add(2*time.Minute), func() { run(acker, "report accept "+ids[i]) })
		add(at.Add(3*time.Minute), func() { run(acker, "report fixing "+ids[i]) })
		if p.notify {
			add(at.Add(4*time.Minute), func() { run(acker, "report notify "+ids[i]+" @carol") })
		}
		if p.open {
			continue
		}
		publicAt := received.Add(p.fix - p.pub)
		add(at.Add(5*time.Minute), func() {
			if _, err := reps.Update(ctx, ids[i], func(r *report.Report) error {
				r.Advisories = []report.AdvisoryRef{{Repo: repo, GHSA: fmt.Sprintf("GHSA-0000-0000-%04d", i), State: "draft"}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			cmd := "release plan " + ids[i] + " --public-at " + publicAt.Format(time.RFC3339)
			if p.expedite {
				cmd += ` --expedite --reason "exploited in the wild"`
			}
			run(acker, cmd)
			run(acker, "release announce "+ids[i])
		})
		add(publicAt.Add(-time.Minute), func() {
			run(acker, fmt.Sprintf("release link %s https://github.com/%s/pull/%d", ids[i], repo, 100+i))
		})
		add(publicAt, func() {
			if err := rels.PullRequestMerged(ctx, repo, 100+i, "main", "carol", time.Time{}); err != nil {
				t.Fatal(err)
			}
		})
		add(received.Add(p.fix), func() { run(acker, "release publish "+ids[i]) })
	}
	// Two incidents: 4h30m and 26h.
	add(time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC), func() { run("bob", `incident start "Leaked deploy token"`) })
	add(time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC), func() { run("bob", "incident resolve") })
	add(time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC), func() { run("alice", `incident start "Mirror compromised"`) })
	add(time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC), func() { run("alice", "incident resolve") })

	sort.SliceStable(evs, func(a, b int) bool { return evs[a].at.Before(evs[b].at) })
	for _, ev := range evs {
		if wait := ev.at.Sub(hs.Clock.Now()); wait > 0 {
			hs.Advance(wait)
		}
		ev.do()
	}
	hs.Advance(time.Hour)
	return hs, st, log
}
