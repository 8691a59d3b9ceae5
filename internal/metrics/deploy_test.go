package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// The process gauges: the dashboard has a panel for each.
var processGauges = []string{
	"vigil_reports_open",
	"vigil_report_oldest_unacknowledged_seconds",
	"vigil_clocks_in_breach",
	"vigil_reminders_due",
}

// exported lists the metric names /metrics serves once every series has a
// value (histograms with their _bucket, _sum and _count).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	h := bottest.New(t, bottest.Options{Observer: m})
	m.Watch(h.Engine, slog.New(slog.DiscardHandler))
	m.WatchProcess(metrics.ProcessOptions{Clock: h.Clock, Labels: metrics.ProcessLabels{States: []string{"new"}, Severities: []string{"high"}, Clocks: []string{"publish"}},
		Source: func(context.Context, time.Time) (metrics.Process, error) { return metrics.Process{}, nil }})
	m.CommandDone("help", bot.OutcomeOK, time.Millisecond)
	m.JobDone("j", time.Second, nil)
	m.Delivered("test", nil)
	m.Intake("api", true)
	m.DeadLettered("test", "rejected")
	m.AuthFailure("/x")
	m.Throttled("/x", "requests")
	names := map[string]bool{}
	for line := range strings.SplitSeq(scrape(t, m), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		if f[3] == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f[2]+s] = true
			}
		}
	}
	// The error counter is exported at 0 before any failure, the process
	// gauges when the read succeeds: check they are all there.
	for _, g := range append(slices.Clone(processGauges), "vigil_process_gauge_errors_total", "vigil_outbox_dead_letters_total") {
		if !names[g] {
			t.Fatalf("/metrics lacks %s", g)
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\bvigil_[a-z_]+\b`)

// checkExpr fails when expr names no Vigil metric or one that /metrics
// does not serve (a typo, a renamed metric), and when its brackets do not
// balance.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) []string {
	t.Helper()
	used := metricName.FindAllString(expr, -1)
	if len(used) == 0 {
		t.Errorf("%s: %q names no vigil_ metric", where, expr)
	}
	for _, n := range used {
		if !names[n] {
			t.Errorf("%s: %q names %s, which /metrics does not serve", where, expr, n)
		}
	}
	if err := balanced(expr); err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
	}
	return used
}

func balanced(s string) error {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, r := range s {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return errors.New("unbalanced brackets")
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 || inString {
		return errors.New("unclosed bracket or string")
	}
	return nil
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func TestGrafanaDashboardChartsEveryGauge(t *testing.T) {
	data, err := os.ReadFile("../../deploy/grafana/vigil.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("deploy/grafana/vigil.json is not valid JSON: %v", err)
	}
	// 39 is Grafana 11.0's; Grafana migrates older dashboards on load,
	// which shows as a change to save.
	if d.SchemaVersion < 39 || d.Title == "" || d.UID == "" {
		t.Errorf("schemaVersion %d, title %q, uid %q", d.SchemaVersion, d.Title, d.UID)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	names := exported(t)
	charted := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: no Prometheus query on the dashboard's data source", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range checkExpr(t, "panel "+p.Title, tg.Expr, names) {
				charted[n] = true
			}
			if strings.Contains(tg.Expr, "$job") && !slices.Contains(vars, "job") {
				t.Errorf("panel %q uses $job, which the dashboard does not define", p.Title)
			}
		}
	}
	for _, g := range append(slices.Clone(processGauges), "vigil_outbox_depth", "vigil_outbox_dead_letters_total") {
		if !charted[g] {
			t.Errorf("no panel charts %s", g)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestPrometheusRulesNameExistingMetrics(t *testing.T) {
	data, err := os.ReadFile("../../deploy/prometheus/vigil-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true) // a misspelt key is an error, not a silent no-op
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("deploy/prometheus/vigil-rules.yml: %v", err)
	}
	names := exported(t)
	alerted := map[string]bool{}
	seen := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %q in %s: an alert needs a unique name, a severity label and a summary", r.Alert, g.Name)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("rule %s: for: %v", r.Alert, err)
				}
			}
			for _, n := range checkExpr(t, "rule "+r.Alert, r.Expr, names) {
				alerted[n] = true
			}
			// The process gauges are the same on every replica: summing
			// them would multiply by the number of replicas.
			for _, pg := range processGauges {
				if strings.Contains(r.Expr, pg) && strings.Contains(r.Expr, "sum") {
					t.Errorf("rule %s sums %s across replicas; take max", r.Alert, pg)
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no rules")
	}
	for _, g := range []string{"vigil_clocks_in_breach", "vigil_report_oldest_unacknowledged_seconds", "vigil_reminders_due"} {
		if !alerted[g] {
			t.Errorf("no example rule alerts on %s", g)
		}
	}
}
