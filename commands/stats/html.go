package stats

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/textutil"
)

//go:embed templates/report.html.tmpl
var templateFS embed.FS

// reportTmpl is the yearly report. html/template escapes every value, so
// report ids, repository names and people from the store stay text; the
// only raw HTML is the chart SVG gonum drew (no outside text in it).
var reportTmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"dur": func(d time.Duration, n int) string {
		if n == 0 {
			return "—"
		}
		return textutil.Duration(d)
	},
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"clock": clockText,
	// day is replaced per report (it needs the zone).
	"day": func(time.Time) string { return "" },
}).ParseFS(templateFS, "templates/report.html.tmpl"))

// ReportOptions shape the yearly report.
type ReportOptions struct {
	Title string
	Zone  *time.Location
	// Team includes the work per person (for the team's own copy).
	Team bool
}

// WriteHTML writes the figures as a self-contained HTML page: inline CSS,
// the chart as inline SVG, no script and nothing loaded from elsewhere.
func WriteHTML(w io.Writer, f Figures, o ReportOptions) error {
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	svg, err := ChartSVG(f)
	if err != nil {
		return err
	}
	groups := append([]Group{}, f.BySeverity...)
	total := f.Total
	total.Severity = "all"
	groups = append(groups, total)
	day := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(o.Zone).Format("2 Jan 2006")
	}
	data := struct {
		Title, From, To, Repo, Taken string
		F                            Figures
		Groups                       []Group
		Chart                        template.HTML
		Team                         bool
	}{
		Title: o.Title, From: day(f.Period.From), To: day(lastDay(f.Period.Until, o.Zone)), Repo: f.Period.Repo,
		Taken: f.Period.Now.In(o.Zone).Format("2 Jan 2006 15:04 MST"), F: f, Groups: groups,
		Chart: template.HTML(svg), Team: o.Team, // #nosec: drawn by gonum from numbers and fixed labels
	}
	t, err := reportTmpl.Clone()
	if err != nil {
		return err
	}
	t.Funcs(template.FuncMap{"day": day})
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("stats: write the report: %w", err)
	}
	return nil
}
