package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/httpserver"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

// benchToken is the intake API's bearer token in the scenario.
const benchToken = "vigil-bench-intake-token"

// latencies summarises a run: throughput and percentiles.
type latencies struct {
	n             int
	perSecond     float64
	p50, p99, max time.Duration
}

func summarize(lat []time.Duration, elapsed time.Duration) latencies {
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return latencies{n: len(lat), perSecond: float64(len(lat)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), max: lat[len(lat)-1]}
}

// serveEngine serves the engine's mux through the real listener
// (internal/httpserver: body cap, per-client limits) on a loopback port
// until ctx ends. The per-client request limit is lifted: every client of
// the scenario comes from 127.0.0.1, and in production the limit is what
// an operator configures for a relay, not what the handler can do.
func serveEngine(ctx context.Context, e *bot.Engine) (string, error) {
	srv, err := httpserver.New(httpserver.Options{
		Listen: "127.0.0.1:0", Handler: e.HTTP(), MaxBodyBytes: 1 << 20,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		Limits: httpserver.Limits{RequestRate: rate.Inf, RequestBurst: 1, JSONPrefix: "/api/"},
		Clock:  e.Clock(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return "", err
	}
	if err := srv.Listen(); err != nil {
		return "", err
	}
	go func() { _ = srv.Serve(ctx) }()
	return "http://" + srv.Addr(), nil
}

// intakeOn files n reports through POST /api/v1/reports from `clients`
// concurrent HTTP clients (keep-alive connections) against the engine on
// st, and returns the latencies from sending a request to reading its 201.
func intakeOn(ctx context.Context, st store.Store, n, clients int) (latencies, error) {
	e, err := bot.New(bot.Options{Store: st, Clock: clock.Real{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return latencies{}, err
	}
	if _, err := report.Register(e, report.Options{APIToken: benchToken}); err != nil {
		return latencies{}, err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	base, err := serveEngine(ctx, e)
	if err != nil {
		return latencies{}, err
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	post := func(i int) error {
		body := fmt.Sprintf(`{"title":"Bench report %d: path traversal in the upload handler","description":"Sending ../../etc/passwd as the file name writes outside the upload directory. Steps to reproduce follow.","reporter":{"name":"Bench","email":"bench@example.org","credit":true},"repositories":["acme/widgets"]}`, i)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+report.APIPath, bytes.NewReader([]byte(body)))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+benchToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "bench-"+strconv.Itoa(i))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("report %d: HTTP %d: %s", i, resp.StatusCode, got)
		}
		return nil
	}
	for i := range min(200, n/10) { // warm the connections and the store
		if err := post(-1 - i); err != nil {
			return latencies{}, err
		}
	}
	lat, elapsed, err := timeEach(n, clients, post)
	if err != nil {
		return latencies{}, err
	}
	return summarize(lat, elapsed), nil
}

// runIntake measures the intake API on Redis (st, with the round-trip
// counter) and on fresh embedded stores in a temporary directory, with
// and without commit batching (which embedded.Open turns on).
func runIntake(ctx context.Context, o options, st store.Store, trips *counter, out io.Writer) error {
	fmt.Fprintf(out, "\nintake API: POST %s through the real listener and handler, %d reports, %d clients\n", report.APIPath, o.intakeN, o.clients)
	fmt.Fprintf(out, "%-28s %10s %9s %9s %9s %14s\n", "store", "reports/s", "p50", "p99", "max", "round trips")
	before := trips.n.Load()
	res, err := intakeOn(ctx, st, o.intakeN, o.clients)
	if err != nil {
		return fmt.Errorf("intake on redis: %w", err)
	}
	warm := min(200, o.intakeN/10)
	perReport := float64(trips.n.Load()-before) / float64(o.intakeN+warm)
	fmt.Fprintf(out, "%-28s %10.0f %9s %9s %9s %14.2f\n", "redis", res.perSecond, round(res.p50), round(res.p99), round(res.max), perReport)
	for _, batch := range []bool{false, true} {
		name := "embedded (fsync per commit)"
		if batch {
			name = "embedded (batched commits)"
		}
		res, err := intakeEmbedded(ctx, o, batch)
		if err != nil {
			return fmt.Errorf("intake on %s: %w", name, err)
		}
		fmt.Fprintf(out, "%-28s %10.0f %9s %9s %9s %14s\n", name, res.perSecond, round(res.p50), round(res.p99), round(res.max), "-")
	}
	return nil
}

func intakeEmbedded(ctx context.Context, o options, batch bool) (latencies, error) {
	dir, err := os.MkdirTemp("", "vigil-bench-intake")
	if err != nil {
		return latencies{}, err
	}
	defer os.RemoveAll(dir)
	st, err := embedded.OpenWith(filepath.Join(dir, "vigil.db"), embedded.Options{BatchCommits: batch})
	if err != nil {
		return latencies{}, err
	}
	defer st.Close()
	n := o.intakeN
	if o.embeddedN > 0 {
		n = o.embeddedN
	}
	return intakeOn(ctx, st, n, o.clients)
}
