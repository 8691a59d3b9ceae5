package metrics

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Process is the security process at one instant, as the shared store holds
// it: every replica that reads it reports the same figures (aggregate them
// with max, not sum).
type Process struct {
	// Open counts open reports by state, then severity.
	Open map[string]map[string]int
	// OldestUnacked is how long the oldest report not yet acknowledged
	// has waited; 0 when there is none.
	OldestUnacked time.Duration
	// Breaches counts the clocks in breach now, by kind.
	Breaches map[string]int
	// RemindersDue counts reminders whose time has come, not yet sent.
	RemindersDue int
	// Truncated: a read limit was reached; the figures are lower bounds.
	Truncated bool
}

// ProcessSource reads the figures at now. cmd/vigil builds it from the
// features (reports, releases, reminders).
type ProcessSource func(ctx context.Context, now time.Time) (Process, error)

// ProcessLabels are the only label values the process gauges carry, fixed
// at start. Every combination is exported, zeros included, so a dashboard
// and an alert tell "none" from "not scraped". A value the source returns
// outside them is counted under "other" when that is one of them and
// dropped otherwise: a label never carries text read from the store.
type ProcessLabels struct {
	States     []string
	Severities []string
	Clocks     []string
}

// ProcessOptions configure the process gauges.
type ProcessOptions struct {
	Source ProcessSource
	Labels ProcessLabels
	// Clock is the engine's clock: the figures are computed at its now and
	// kept TTL (default 10 s) on it, however many scrapers ask.
	Clock  clock.Clock
	TTL    time.Duration
	Logger *slog.Logger
}

// DefaultProcessTTL is how long the process figures are reused.
const DefaultProcessTTL = 10 * time.Second

// processReadTimeout bounds one read of the figures from the store.
const processReadTimeout = 5 * time.Second

var (
	reportsOpenDesc = prometheus.NewDesc("vigil_reports_open",
		"Open reports (not closed or rejected), by state and effective severity.", []string{"state", "severity"}, nil)
	oldestUnackedDesc = prometheus.NewDesc("vigil_report_oldest_unacknowledged_seconds",
		"How long the oldest report not yet acknowledged has waited; 0 when every report is acknowledged.", nil, nil)
	clocksBreachedDesc = prometheus.NewDesc("vigil_clocks_in_breach",
		"Process clocks past their deadline now, by clock (acknowledge, release_notice, publish).", []string{"clock"}, nil)
	remindersDueDesc = prometheus.NewDesc("vigil_reminders_due",
		"Maintainer reminders whose time has come and that are not sent yet (also those held by quiet hours).", nil, nil)
	processTruncatedDesc = prometheus.NewDesc("vigil_process_gauges_truncated",
		"1 when a read limit was reached and the process gauges are lower bounds.", nil, nil)
)

// WatchProcess adds the process gauges, read through o.Source at scrape
// time (at most once per TTL). A failed read is counted in
// vigil_process_gauge_errors_total and logged, and the gauges are left out
// of that scrape rather than shown stale.
func (m *Metrics) WatchProcess(o ProcessOptions) {
	if o.TTL <= 0 {
		o.TTL = DefaultProcessTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	errs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vigil_process_gauge_errors_total", Help: "Reads of the process gauges from the store that failed.",
	})
	m.reg.MustRegister(errs, &processCollector{o: o, errs: errs})
}

type processCollector struct {
	o    ProcessOptions
	errs prometheus.Counter

	mu   sync.Mutex // held while reading: concurrent scrapes share one read
	at   time.Time  // when last read; zero before the first
	last Process
	ok   bool // the last read succeeded
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{reportsOpenDesc, oldestUnackedDesc, clocksBreachedDesc, remindersDueDesc, processTruncatedDesc} {
		ch <- d
	}
}

func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	p, ok := c.read()
	if !ok {
		return
	}
	l := c.o.Labels
	open := map[[2]string]int{}
	for state, bySev := range p.Open {
		state = labelIn(l.States, state)
		for sev, n := range bySev {
			if sev = labelIn(l.Severities, sev); state != "" && sev != "" {
				open[[2]string{state, sev}] += n
			}
		}
	}
	for _, state := range l.States {
		for _, sev := range l.Severities {
			ch <- prometheus.MustNewConstMetric(reportsOpenDesc, prometheus.GaugeValue, float64(open[[2]string{state, sev}]), state, sev)
		}
	}
	for _, kind := range l.Clocks {
		ch <- prometheus.MustNewConstMetric(clocksBreachedDesc, prometheus.GaugeValue, float64(p.Breaches[kind]), kind)
	}
	ch <- prometheus.MustNewConstMetric(oldestUnackedDesc, prometheus.GaugeValue, max(p.OldestUnacked, 0).Seconds())
	ch <- prometheus.MustNewConstMetric(remindersDueDesc, prometheus.GaugeValue, float64(p.RemindersDue))
	ch <- prometheus.MustNewConstMetric(processTruncatedDesc, prometheus.GaugeValue, boolValue(p.Truncated))
}

// read returns the figures, read again when the last read is older than
// the TTL (or in the future: a fake clock set back).
func (c *processCollector) read() (Process, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.o.Clock.Now()
	if !c.at.IsZero() && !now.Before(c.at) && now.Sub(c.at) < c.o.TTL {
		return c.last, c.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), processReadTimeout)
	defer cancel()
	p, err := c.o.Source(ctx, now)
	c.at = now
	if err != nil {
		c.errs.Inc()
		c.o.Logger.Warn("metrics: process gauges unavailable", "err", err)
		c.last, c.ok = Process{}, false
		return c.last, false
	}
	c.last, c.ok = p, true
	return p, true
}

// labelIn is v if allowed has it, else "other" if allowed has that, else "".
func labelIn(allowed []string, v string) string {
	switch {
	case slices.Contains(allowed, v):
		return v
	case slices.Contains(allowed, "other"):
		return "other"
	}
	return ""
}
