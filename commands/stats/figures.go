// Package stats computes the team's process figures from the stored
// history (reports, releases, incidents, duty rotations, the audit log),
// draws them as charts, answers `/sec stats`, posts the monthly summary and
// writes the yearly report. The figures are pure functions of a History
// and a Period, so the chat answer, the summary and the report show the
// same numbers (docs/STATS.md says how each is counted).
package stats

import (
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
)

// History is everything the figures are computed from.
type History struct {
	Reports   []*report.Report
	Releases  []*release.Release
	Incidents []*incident.Incident
	Rotations []*duty.Rotation
	Audit     []bot.AuditEntry
}

// Period selects what is counted: reports received in [From, Until),
// optionally only those concerning Repo. Now is when the figures are
// taken (the age of open vulnerabilities).
type Period struct {
	From, Until time.Time
	Repo        string
	Now         time.Time
}

// Clocks are the deadlines the figures are measured against.
type Clocks struct {
	// AckWindow is the time to acknowledge a report (48h).
	AckWindow time.Duration
	// MinNotice is how far ahead a release must be announced (48h);
	// PublishWindow the time from merge to published advisories (2h).
	MinNotice, PublishWindow time.Duration
	// Cadence is the reminder period by lower-case severity.
	Cadence map[string]time.Duration
}

// Severities in the order figures list them; reports not scored yet count
// as "unscored".
var Severities = []string{"critical", "high", "medium", "low", "unscored"}

// Unscored is the severity of a report not scored yet.
const Unscored = "unscored"

// Figures are the process figures of one period.
type Figures struct {
	Period Period
	Clocks Clocks
	// Total is over every report received in the period; BySeverity
	// splits it (only severities with reports).
	Total      Group
	BySeverity []Group
	// BySource counts reports received by source (email, github, api,
	// chat), most first.
	BySource []Count
	Releases ReleaseClocks
	// Open lists the open vulnerabilities (accepted or being fixed) at
	// Now, one line per affected repository, oldest first.
	Open []OpenVuln
	// OpenByRepo counts them per repository, the oldest first.
	OpenByRepo    []RepoOpen
	RemindersSent int
	Incidents     IncidentFigures
	// People is the work per person, for the team only.
	People []PersonWork
	// Months are the per-month medians the charts draw.
	Months []Month
	// Advisories are the published releases with their timelines.
	Advisories []Timeline
}

// Group is the figures of a set of reports (all, or one severity).
type Group struct {
	Severity string
	Received int
	Accepted int
	Rejected int
	// Ack is the time from receipt to acknowledgement of those
	// acknowledged; AckBreaches counts those acknowledged at or after the
	// deadline, or not at all while it passed.
	Ack         Durations
	AckBreaches int
	// Fix is the time from receipt to the fix released (the advisories
	// published) of those released before Until; WithinCadence counts
	// those released within one reminder period of their severity.
	Fix           Durations
	Cadence       time.Duration
	WithinCadence int
}

// Count is a number by key.
type Count struct {
	Key string
	N   int
}

// ReleaseClocks count the release deadlines of releases published (or
// breached) in the period.
type ReleaseClocks struct {
	Published       int
	NoticeMet       int
	NoticeBreached  int
	PublishMet      int
	PublishBreached int
}

// OpenVuln is one open vulnerability in one repository.
type OpenVuln struct {
	Repo     string
	ID       string
	Severity string
	State    report.State
	Received time.Time
	Age      time.Duration
}

// RepoOpen is how many vulnerabilities are open in a repository, and the
// age of the oldest.
type RepoOpen struct {
	Repo   string
	N      int
	Oldest time.Duration
}

// IncidentFigures count the incidents started in the period.
type IncidentFigures struct {
	Started  int
	Resolved int
	Duration Durations
}

// PersonWork is what one person did in the period.
type PersonWork struct {
	Name    string
	Triaged int // reports acknowledged, accepted or rejected
	Scored  int // reports scored
	Shifts  int // duty shifts covered (started in the period)
}

// Month is one calendar month's medians by severity, for the charts.
type Month struct {
	Start time.Time
	// AckMedian and FixMedian by severity; a severity with no value that
	// month is absent.
	AckMedian map[string]time.Duration
	FixMedian map[string]time.Duration
}

// Timeline is a published advisory's way from report to publication.
type Timeline struct {
	ID           string
	Repos        []string
	Severity     string
	GHSAs        []string
	Received     time.Time
	Acknowledged time.Time
	Announced    time.Time
	Merged       time.Time
	Published    time.Time
	NoticeMet    bool
	PublishMet   bool
}

// in reports whether t is in [p.From, p.Until).
func (p Period) in(t time.Time) bool {
	return !t.IsZero() && !t.Before(p.From) && t.Before(p.Until)
}

// concerns reports whether the period's repository filter keeps repos.
func (p Period) concerns(repos []string) bool {
	if p.Repo == "" {
		return true
	}
	for _, r := range repos {
		if strings.EqualFold(r, p.Repo) {
			return true
		}
	}
	return false
}

// keeps reports whether the repository filter keeps rep (without working
// out its repositories when there is no filter: Affected allocates).
func (p Period) keeps(rep *report.Report) bool {
	return p.Repo == "" || p.concerns(rep.Affected())
}

// severityOf is a report's effective severity, lower case, or Unscored.
func severityOf(rep *report.Report) string {
	if s := strings.ToLower(rep.EffectiveSeverity()); s != "" {
		return s
	}
	return Unscored
}

// Compute computes the figures of period p from h. It does not change h.
// Zero clocks take the features' defaults (DefaultClocks).
func Compute(h History, p Period, c Clocks) Figures {
	c = c.withDefaults()
	f := Figures{Period: p, Clocks: c}
	idx := indexHistory(h)
	cohort := map[string]*report.Report{}
	groups := map[string]*groupAcc{}
	all := &groupAcc{}
	sources := map[string]int{}
	months := newMonths(p)
	for _, rep := range h.Reports {
		if !p.in(rep.Received) || !p.keeps(rep) {
			continue
		}
		cohort[rep.ID] = rep
		sev := severityOf(rep)
		g := groups[sev]
		if g == nil {
			g = &groupAcc{}
			groups[sev] = g
		}
		sources[string(rep.Source)]++
		o := outcome(rep, idx, p, c)
		all.add(o)
		g.add(o)
		months.add(rep.Received, sev, o)
	}
	f.Total = all.group("", c)
	for _, sev := range Severities {
		if g := groups[sev]; g != nil {
			gr := g.group(sev, c)
			f.BySeverity = append(f.BySeverity, gr)
		}
	}
	f.BySource = sortedCounts(sources)
	f.Months = months.list()
	f.Releases, f.Advisories = releaseFigures(h, idx, p, c)
	f.Open, f.OpenByRepo = openVulns(h.Reports, p)
	f.RemindersSent = remindersSent(h.Audit, idx, p)
	if p.Repo == "" {
		// Incidents and shifts concern no repository: left out of a
		// repository's figures rather than shown as if they were its own.
		f.Incidents = incidentFigures(h.Incidents, p)
	}
	f.People = peopleWork(h, idx, p)
	return f
}

// index is the history looked up by report id.
type index struct {
	reports  map[string]*report.Report
	releases map[string]*release.Release
	// released is when a report moved to released (audit), for reports
	// released without a release record.
	released map[string]time.Time
}

func indexHistory(h History) index {
	idx := index{reports: map[string]*report.Report{}, releases: map[string]*release.Release{}, released: map[string]time.Time{}}
	for _, r := range h.Reports {
		idx.reports[r.ID] = r
	}
	for _, r := range h.Releases {
		idx.releases[r.ID] = r
	}
	for _, e := range h.Audit {
		if e.Action == "report.released" {
			if _, ok := idx.released[e.Target]; !ok {
				idx.released[e.Target] = e.At
			}
		}
	}
	return idx
}

// fixedAt is when a report's fix was released: its release's publication,
// else its move to released; zero when not released.
func (idx index) fixedAt(rep *report.Report) time.Time {
	if rel := idx.releases[rep.ID]; rel != nil && !rel.PublishedAt.IsZero() {
		return rel.PublishedAt
	}
	return idx.released[rep.ID]
}

// repOutcome is what the figures need of one report.
type repOutcome struct {
	accepted, rejected bool
	acked              bool
	ack                time.Duration
	ackBreach          bool
	fixed              bool
	fix                time.Duration
	cadence            time.Duration
}

func outcome(rep *report.Report, idx index, p Period, c Clocks) repOutcome {
	var o repOutcome
	switch {
	case rep.State == report.StateRejected || rep.RejectReason != "":
		o.rejected = true
	case rep.State == report.StateAccepted || rep.State == report.StateFixing || rep.State == report.StateReleased ||
		rep.State == report.StateClosed:
		o.accepted = true
	}
	end := p.Until
	if !p.Now.IsZero() && p.Now.Before(end) {
		end = p.Now
	}
	if !rep.AckedAt.IsZero() && rep.AckedAt.Before(p.Until) {
		o.acked, o.ack = true, rep.AckedAt.Sub(rep.Received)
		// The same test as the report's clock: acknowledged before the
		// deadline is on time, at it or after is late.
		o.ackBreach = !rep.AckedAt.Before(rep.AckDue)
	} else if !rep.AckDue.IsZero() && !end.Before(rep.AckDue) {
		o.ackBreach = true
	}
	o.cadence = c.Cadence[severityOf(rep)]
	if at := idx.fixedAt(rep); !at.IsZero() && at.Before(p.Until) {
		o.fixed, o.fix = true, at.Sub(rep.Received)
	}
	return o
}

// groupAcc accumulates a Group.
type groupAcc struct {
	received, accepted, rejected, breaches, within int
	acks, fixes                                    []time.Duration
}

func (g *groupAcc) add(o repOutcome) {
	g.received++
	if o.accepted {
		g.accepted++
	}
	if o.rejected {
		g.rejected++
	}
	if o.acked {
		g.acks = append(g.acks, o.ack)
	}
	if o.ackBreach {
		g.breaches++
	}
	if o.fixed {
		g.fixes = append(g.fixes, o.fix)
		if o.cadence > 0 && o.fix <= o.cadence {
			g.within++
		}
	}
}

func (g *groupAcc) group(sev string, c Clocks) Group {
	return Group{
		Severity: sev, Received: g.received, Accepted: g.accepted, Rejected: g.rejected,
		Ack: summarise(g.acks), AckBreaches: g.breaches,
		Fix: summarise(g.fixes), Cadence: c.Cadence[sev], WithinCadence: g.within,
	}
}

func sortedCounts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Key < out[j].Key
	})
	return out
}
