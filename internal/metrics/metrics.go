// Package metrics exports the engine's measurements to Prometheus
// (github.com/prometheus/client_golang): commands by verb and outcome, a
// command latency histogram, outbox depth and age, scheduler lag, adapter
// connection state, deliveries and intake counts by source, failed
// authentications and throttled requests on the HTTP listener.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-sec/vigil/bot"
)

// Metrics is a bot.Observer backed by its own Prometheus registry (no
// package globals: two engines in one test process do not collide).
type Metrics struct {
	reg        *prometheus.Registry
	commands   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	jobs       *prometheus.CounterVec
	jobLag     *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	intake     *prometheus.CounterVec
	dead       *prometheus.CounterVec
	authFails  *prometheus.CounterVec
	throttled  *prometheus.CounterVec
}

var _ bot.Observer = (*Metrics)(nil)

// New builds the metrics with Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_commands_total", Help: "Commands run, by verb and outcome.",
		}, []string{"verb", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_command_duration_seconds",
			Help:    "Time to run a command, by verb.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"verb"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_jobs_total", Help: "Scheduled jobs run, by kind and result.",
		}, []string{"kind", "result"}),
		jobLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_job_lag_seconds",
			Help:    "How late a job ran after its due time, by kind.",
			Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 900},
		}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_deliveries_total", Help: "Messages handed to chat adapters, by adapter and result.",
		}, []string{"adapter", "result"}),
		intake: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_intake_total", Help: "Reports received, by source; repeat=true for the same report again.",
		}, []string{"source", "repeat"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_outbox_dead_letters_total", Help: "Messages the outbox gave up on and set aside, by adapter and reason.",
		}, []string{"adapter", "reason"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_auth_failures_total", Help: "HTTP requests refused for a missing or wrong token or signature (401), by route.",
		}, []string{"route"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_throttled_total", Help: "HTTP requests refused by the per-client rate limits (429), by route and reason (requests, auth_failures).",
		}, []string{"route", "reason"}),
	}
	m.reg.MustRegister(m.commands, m.latency, m.jobs, m.jobLag, m.deliveries, m.intake, m.dead, m.authFails, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CommandDone implements bot.Observer.
func (m *Metrics) CommandDone(verb string, outcome bot.Outcome, took time.Duration) {
	m.commands.WithLabelValues(verb, string(outcome)).Inc()
	m.latency.WithLabelValues(verb).Observe(took.Seconds())
}

// JobDone implements bot.Observer.
func (m *Metrics) JobDone(kind string, lag time.Duration, err error) {
	m.jobs.WithLabelValues(kind, result(err)).Inc()
	m.jobLag.WithLabelValues(kind).Observe(max(lag, 0).Seconds())
}

// Delivered implements bot.Observer.
func (m *Metrics) Delivered(adapter string, err error) {
	res := result(err)
	switch {
	case errors.Is(err, bot.ErrRateLimited):
		res = "rate_limited"
	case errors.Is(err, bot.ErrUnavailable):
		res = "unavailable"
	case errors.Is(err, bot.ErrRejected):
		res = "rejected"
	}
	m.deliveries.WithLabelValues(adapter, res).Inc()
}

// Intake implements bot.Observer.
func (m *Metrics) Intake(source string, created bool) {
	repeat := "false"
	if !created {
		repeat = "true"
	}
	m.intake.WithLabelValues(source, repeat).Inc()
}

// DeadLettered implements bot.Observer.
func (m *Metrics) DeadLettered(adapter, reason string) {
	m.dead.WithLabelValues(adapter, reason).Inc()
}

// AuthFailure implements httpserver.AuthObserver. The route is a mux
// pattern, never a raw path, so the label set stays small.
func (m *Metrics) AuthFailure(route string) { m.authFails.WithLabelValues(route).Inc() }

// Throttled implements httpserver.AuthObserver.
func (m *Metrics) Throttled(route, reason string) { m.throttled.WithLabelValues(route, reason).Inc() }

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Watch adds the gauges read from the engine at scrape time: queue state
// from the store and each adapter's connection.
func (m *Metrics) Watch(e *bot.Engine, log *slog.Logger) {
	m.reg.MustRegister(&engineCollector{e: e, log: log})
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	outboxDepthDesc  = prometheus.NewDesc("vigil_outbox_depth", "Conversations with messages waiting to be delivered.", nil, nil)
	outboxAgeDesc    = prometheus.NewDesc("vigil_outbox_oldest_seconds", "How long the longest-waiting conversation has waited.", nil, nil)
	schedulerLagDesc = prometheus.NewDesc("vigil_scheduler_lag_seconds", "How far past its due time the most overdue job is.", nil, nil)
	jobsPendingDesc  = prometheus.NewDesc("vigil_jobs_pending", "Scheduled jobs waiting.", nil, nil)
	adapterUpDesc    = prometheus.NewDesc("vigil_adapter_connected", "1 when the chat adapter is connected.", []string{"adapter"}, nil)
	storeUpDesc      = prometheus.NewDesc("vigil_store_up", "1 when the store answered the scrape's queries.", nil, nil)
)

type engineCollector struct {
	e   *bot.Engine
	log *slog.Logger
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outboxDepthDesc, outboxAgeDesc, schedulerLagDesc, jobsPendingDesc, adapterUpDesc, storeUpDesc} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for name, up := range c.e.AdapterStates() {
		ch <- prometheus.MustNewConstMetric(adapterUpDesc, prometheus.GaugeValue, boolValue(up), name)
	}
	s, err := c.e.Stats(ctx)
	if err != nil {
		c.log.Warn("metrics: queue state unavailable", "err", err)
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(s.OutboxDepth))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, s.OutboxOldest.Seconds())
	ch <- prometheus.MustNewConstMetric(schedulerLagDesc, prometheus.GaugeValue, s.SchedulerLag.Seconds())
	ch <- prometheus.MustNewConstMetric(jobsPendingDesc, prometheus.GaugeValue, float64(s.PendingJobs))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
