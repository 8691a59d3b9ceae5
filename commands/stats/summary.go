package stats

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
)

// maxOpenShown bounds the open vulnerabilities listed in chat.
const maxOpenShown = 10

// Summary writes the key figures as chat text. Repository names come from
// reports (outside text) and are marked untrusted; team adds the work per
// person, which only the team sees.
func Summary(f Figures, zone *time.Location, team bool) string {
	var b strings.Builder
	p := f.Period
	fmt.Fprintf(&b, "*%s – %s*", p.From.In(zone).Format("2 Jan 2006"), lastDay(p.Until, zone).Format("2 Jan 2006"))
	if p.Repo != "" {
		fmt.Fprintf(&b, " · repository %s", bot.Untrusted(p.Repo))
	}
	b.WriteString("\n")
	t := f.Total
	fmt.Fprintf(&b, "Reports received: %d%s · accepted %d · rejected %d\n", t.Received, sourcesText(f.BySource), t.Accepted, t.Rejected)
	fmt.Fprintf(&b, "Time to acknowledge: %s · breaches of the %s window: %d\n", durText(t.Ack, true), clockText(f.Clocks.AckWindow), t.AckBreaches)
	fmt.Fprintf(&b, "Time to fix released: %s\n", durText(t.Fix, false))
	for _, g := range f.BySeverity {
		fmt.Fprintf(&b, "• %s: %d received · ack %s · fix %s", g.Severity, g.Received, durText(g.Ack, true), durText(g.Fix, false))
		if g.Cadence > 0 && g.Fix.N > 0 {
			fmt.Fprintf(&b, " · %d of %d within the %s reminder period", g.WithinCadence, g.Fix.N, textutil.Duration(g.Cadence))
		}
		b.WriteString("\n")
	}
	r := f.Releases
	fmt.Fprintf(&b, "Releases published: %d · %s notice met %d, missed %d · %s publish met %d, breached %d\n",
		r.Published, clockText(f.Clocks.MinNotice), r.NoticeMet, r.NoticeBreached, clockText(f.Clocks.PublishWindow), r.PublishMet, r.PublishBreached)
	fmt.Fprintf(&b, "Reminders sent: %d", f.RemindersSent)
	if p.Repo == "" {
		in := f.Incidents
		fmt.Fprintf(&b, " · incidents: %d started, %d resolved", in.Started, in.Resolved)
		if in.Duration.N > 0 {
			fmt.Fprintf(&b, " (median %s, longest %s)", textutil.Duration(in.Duration.Median), textutil.Duration(in.Duration.Max))
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Open vulnerabilities now: %d", len(f.Open))
	if len(f.OpenByRepo) > 0 {
		b.WriteString(" — oldest first:")
		for i, o := range f.Open {
			if i == maxOpenShown {
				fmt.Fprintf(&b, "\n  … and %d more", len(f.Open)-maxOpenShown)
				break
			}
			fmt.Fprintf(&b, "\n  %s %s (%s, %s old)", repoText(o.Repo), o.ID, o.Severity, textutil.Duration(o.Age))
		}
	}
	if team && len(f.People) > 0 {
		b.WriteString("\nThank you (triaged · scored · shifts):")
		for _, w := range f.People {
			fmt.Fprintf(&b, " %s %d·%d·%d;", w.Name, w.Triaged, w.Scored, w.Shifts)
		}
		s := strings.TrimSuffix(b.String(), ";")
		b.Reset()
		b.WriteString(s)
	}
	return b.String()
}

func sourcesText(cs []Count) string {
	if len(cs) == 0 {
		return ""
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", c.Key, c.N)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// durText is "median 5h, p90 2d 1h, max 3d" or "none yet".
func durText(d Durations, withMax bool) string {
	if d.N == 0 {
		return "none yet"
	}
	s := fmt.Sprintf("median %s, p90 %s", textutil.Duration(d.Median), textutil.Duration(d.P90))
	if withMax {
		s += ", max " + textutil.Duration(d.Max)
	}
	return s
}

func repoText(repo string) string {
	if repo == "" {
		return "(no repository)"
	}
	return bot.Untrusted(repo).String()
}

// clockText writes a deadline as people name it: "48h", "2h".
func clockText(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return textutil.Duration(d)
}
