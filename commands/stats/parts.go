package stats

import (
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
)

// months accumulates the per-month durations of the charts.
type months struct {
	starts []time.Time
	ack    []map[string][]time.Duration
	fix    []map[string][]time.Duration
}

// newMonths lays out the calendar months (UTC) the period touches.
func newMonths(p Period) *months {
	m := &months{}
	if !p.From.Before(p.Until) {
		return m
	}
	f := p.From.UTC()
	for s := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, time.UTC); s.Before(p.Until); s = s.AddDate(0, 1, 0) {
		m.starts = append(m.starts, s)
		m.ack = append(m.ack, map[string][]time.Duration{})
		m.fix = append(m.fix, map[string][]time.Duration{})
	}
	return m
}

func (m *months) add(received time.Time, sev string, o repOutcome) {
	i := sort.Search(len(m.starts), func(i int) bool { return m.starts[i].After(received) }) - 1
	if i < 0 {
		return
	}
	if o.acked {
		m.ack[i][sev] = append(m.ack[i][sev], o.ack)
	}
	if o.fixed {
		m.fix[i][sev] = append(m.fix[i][sev], o.fix)
	}
}

func (m *months) list() []Month {
	out := make([]Month, len(m.starts))
	for i, s := range m.starts {
		out[i] = Month{Start: s, AckMedian: medians(m.ack[i]), FixMedian: medians(m.fix[i])}
	}
	return out
}

func medians(by map[string][]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for sev, ds := range by {
		out[sev] = summarise(ds).Median
	}
	return out
}

// releaseFigures counts the release clocks of releases published (or
// breached unpublished) in the period, and lists the published ones.
func releaseFigures(h History, idx index, p Period, c Clocks) (ReleaseClocks, []Timeline) {
	var rc ReleaseClocks
	var tls []Timeline
	for _, rel := range h.Releases {
		if rel.State == release.StateCancelled || !p.concerns(rel.Repos) {
			continue
		}
		at := rel.PublishedAt
		if at.IsZero() {
			at = rel.BreachedAt
		}
		if !p.in(at) {
			continue
		}
		// The notice is met when the announcement went out at least
		// MinNotice before the public time; an expedited release (planned
		// inside the notice) or one never announced misses it.
		noticeMet := !rel.Expedited && !rel.AnnouncedAt.IsZero() && rel.PublicAt.Sub(rel.AnnouncedAt) >= c.MinNotice
		// The release's own test: published before the deadline.
		publishMet := !rel.PublishedAt.IsZero() && rel.BreachedAt.IsZero() && !rel.LateAt(rel.PublishedAt)
		if noticeMet {
			rc.NoticeMet++
		} else {
			rc.NoticeBreached++
		}
		if publishMet {
			rc.PublishMet++
		} else {
			rc.PublishBreached++
		}
		if rel.PublishedAt.IsZero() {
			continue
		}
		rc.Published++
		tl := Timeline{ID: rel.ID, Repos: rel.Repos, Severity: strings.ToLower(rel.Severity), Announced: rel.AnnouncedAt,
			Merged: rel.MergedAt, Published: rel.PublishedAt, NoticeMet: noticeMet, PublishMet: publishMet}
		if rep := idx.reports[rel.ID]; rep != nil {
			tl.Received, tl.Acknowledged = rep.Received, rep.AckedAt
			tl.Severity = severityOf(rep)
			for _, a := range rep.Advisories {
				if a.GHSA != "" {
					tl.GHSAs = append(tl.GHSAs, a.GHSA)
				}
			}
		}
		tls = append(tls, tl)
	}
	sort.Slice(tls, func(i, j int) bool { return tls[i].Published.Before(tls[j].Published) })
	return rc, tls
}

// openVulns lists the vulnerabilities open at p.Now (accepted or being
// fixed), per affected repository, the oldest first.
func openVulns(reps []*report.Report, p Period) ([]OpenVuln, []RepoOpen) {
	var open []OpenVuln
	for _, rep := range reps {
		if rep.State != report.StateAccepted && rep.State != report.StateFixing {
			continue
		}
		repos := rep.Affected()
		if len(repos) == 0 {
			repos = []string{""}
		}
		for _, repo := range repos {
			if p.Repo != "" && !strings.EqualFold(repo, p.Repo) {
				continue
			}
			open = append(open, OpenVuln{Repo: repo, ID: rep.ID, Severity: severityOf(rep), State: rep.State,
				Received: rep.Received, Age: p.Now.Sub(rep.Received)})
		}
	}
	sort.Slice(open, func(i, j int) bool {
		if !open[i].Received.Equal(open[j].Received) {
			return open[i].Received.Before(open[j].Received)
		}
		if open[i].ID != open[j].ID {
			return open[i].ID < open[j].ID
		}
		return open[i].Repo < open[j].Repo
	})
	var byRepo []RepoOpen
	pos := map[string]int{}
	for _, v := range open { // oldest first, so the first seen is the oldest
		i, ok := pos[v.Repo]
		if !ok {
			i = len(byRepo)
			pos[v.Repo] = i
			byRepo = append(byRepo, RepoOpen{Repo: v.Repo, Oldest: v.Age})
		}
		byRepo[i].N++
	}
	return open, byRepo
}

// remindersSent counts the reminders sent in the period (remind.sent: one
// per report and maintainer and batch) for reports the filter keeps.
func remindersSent(audit []bot.AuditEntry, idx index, p Period) int {
	n := 0
	for _, e := range audit {
		if e.Action != "remind.sent" || !p.in(e.At) {
			continue
		}
		if p.Repo != "" {
			rep := idx.reports[e.Target]
			if rep == nil || !p.keeps(rep) {
				continue
			}
		}
		n++
	}
	return n
}

// incidentFigures counts incidents started in the period and the
// durations of those resolved.
func incidentFigures(incs []*incident.Incident, p Period) IncidentFigures {
	var f IncidentFigures
	var ds []time.Duration
	for _, in := range incs {
		if !p.in(in.Started) {
			continue
		}
		f.Started++
		if !in.Resolved.IsZero() {
			f.Resolved++
			ds = append(ds, in.Resolved.Sub(in.Started))
		}
	}
	f.Duration = summarise(ds)
	return f
}

// triage are the audit actions that count as triage.
var triage = map[string]bool{"report.ack": true, "report.accept": true, "report.reject": true}

// peopleWork counts, per person, the distinct reports they triaged and
// scored in the period (from the audit log) and the duty shifts they
// covered that started in it (from the rotations, overrides and swaps
// included). Shifts are left out of a repository's figures.
func peopleWork(h History, idx index, p Period) []PersonWork {
	type key struct{ who, kind, id string }
	seen := map[key]bool{}
	work := map[string]*PersonWork{}
	get := func(name string) *PersonWork {
		w := work[name]
		if w == nil {
			w = &PersonWork{Name: name}
			work[name] = w
		}
		return w
	}
	for _, e := range h.Audit {
		kind := ""
		switch {
		case triage[e.Action]:
			kind = "triaged"
		case e.Action == "report.score":
			kind = "scored"
		default:
			continue
		}
		if !p.in(e.At) || e.Actor == "" || e.Actor == "vigil" {
			continue
		}
		if p.Repo != "" {
			rep := idx.reports[e.Target]
			if rep == nil || !p.keeps(rep) {
				continue
			}
		}
		k := key{e.Actor, kind, strings.ToUpper(e.Target)}
		if seen[k] {
			continue
		}
		seen[k] = true
		if kind == "triaged" {
			get(e.Actor).Triaged++
		} else {
			get(e.Actor).Scored++
		}
	}
	if p.Repo == "" {
		for _, r := range h.Rotations {
			counted := map[int64]bool{}
			for _, s := range r.Segments(p.From, p.Until) {
				// A shift counts once, for whoever covers its start (an
				// override there included); the stretch at From continues a
				// shift begun before the period unless it starts there.
				if s.Person == "" || counted[s.Shift] || !s.From.Equal(r.ShiftStart(s.Shift)) {
					continue
				}
				counted[s.Shift] = true
				get(s.Person).Shifts++
			}
		}
	}
	out := make([]PersonWork, 0, len(work))
	for _, w := range work {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
