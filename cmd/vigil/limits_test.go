package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// The acceptance test of issue 15's abuse limits, through the real
// handlers, the real middleware and the real metrics, as newHTTP wires
// them: 1,000 wrong tokens from one client on the intake API and on the
// iCal feed; after the configured burst, 429s; each failure counted and
// logged (one line per client per 10 s, with counts); the team's correct
// token from another address is served throughout.
func TestWrongTokensAreThrottledLoggedAndCounted(t *testing.T) {
	mets := metrics.New()
	h := bottest.New(t, bottest.Options{Observer: mets})
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Reports.APIToken = config.NewSecret("api-secret-123")
	cfg.Duty.ICalToken = config.NewSecret("cal-secret-456")
	if _, err := registerCommands(h.Engine, cfg, services{}); err != nil {
		t.Fatal(err)
	}
	h.Command("alice", `duty rotation create triage --members @alice,@bob --shift 1w --handoff "Mon 09:00 UTC"`)
	var logs bytes.Buffer
	srv, err := newHTTP(cfg, h.Engine, mets, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	handler := srv.Handler()
	send := func(from, method, target, auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.RemoteAddr = from
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	burst := cfg.HTTP.AuthFailureLimit.Burst
	for _, route := range []struct {
		name, method, path string
		wrong, right       func(i int) (target, auth string)
		attacker, team     string
	}{
		{"intake API", "POST", "/api/v1/reports",
			func(i int) (string, string) { return "/api/v1/reports", "guess-" + strconv.Itoa(i) },
			func(int) (string, string) { return "/api/v1/reports", "api-secret-123" },
			"203.0.113.66:41000", "198.51.100.20:5000"},
		{"iCal feed", "GET", "/duty/{file}",
			func(i int) (string, string) { return "/duty/triage.ics?token=guess-" + strconv.Itoa(i), "" },
			func(int) (string, string) { return "/duty/triage.ics?token=cal-secret-456", "" },
			"203.0.113.77:41000", "198.51.100.21:5000"},
	} {
		t.Run(route.name, func(t *testing.T) {
			var unauthorized, throttled, served int
			for i := range 1000 {
				target, auth := route.wrong(i)
				rec := send(route.attacker, route.method, target, auth, "{}")
				switch rec.Code {
				case http.StatusUnauthorized:
					unauthorized++
				case http.StatusTooManyRequests:
					throttled++
					if rec.Header().Get("Retry-After") == "" {
						t.Fatalf("429 without Retry-After")
					}
				default:
					t.Fatalf("wrong token %d: %d %s", i, rec.Code, rec.Body)
				}
				if i%100 == 0 {
					target, auth := route.right(i)
					rec := send(route.team, route.method, target, auth, `{"title":"Report `+strconv.Itoa(i)+`","description":"d"}`)
					if rec.Code/100 != 2 {
						t.Fatalf("the team's request during the flood: %d %s", rec.Code, rec.Body)
					}
					served++
				}
				h.Clock.Advance(5 * time.Millisecond)
			}
			if unauthorized != burst || throttled != 1000-burst || served != 10 {
				t.Errorf("401s %d, 429s %d, team served %d; want %d, %d, 10", unauthorized, throttled, served, burst, 1000-burst)
			}
			scrape := httptest.NewRecorder()
			handler.ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(scrape.Body)
			for _, want := range []string{
				`vigil_auth_failures_total{route="` + route.path + `"} ` + strconv.Itoa(burst),
				`vigil_http_throttled_total{reason="auth_failures",route="` + route.path + `"} ` + strconv.Itoa(1000-burst),
			} {
				if !strings.Contains(string(body), want) {
					t.Errorf("metrics lack %q", want)
				}
			}
		})
	}
	// The log: a few lines per attacker, with the route and the address,
	// counting every refusal; never a token.
	h.Clock.Advance(time.Hour)
	send("192.0.2.1:1", "GET", "/api/v1/nothing", "", "") // a request after the idle time sweeps and writes the last tallies
	text := logs.String()
	for _, secret := range []string{"api-secret-123", "cal-secret-456", "guess-"} {
		if strings.Contains(text, secret) {
			t.Fatalf("a token reached the log:\n%s", text)
		}
	}
	perClient := map[string]int{}
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var e struct {
			Msg       string `json:"msg"`
			Client    string `json:"client"`
			Route     string `json:"route"`
			Failures  int    `json:"auth_failures"`
			Throttled int    `json:"throttled"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || !strings.Contains(e.Msg, "failed authentication") {
			continue
		}
		perClient[e.Client]++
		total += e.Failures + e.Throttled
	}
	if total != 2000 {
		t.Errorf("the log accounts for %d refusals, want 2000:\n%s", total, text)
	}
	for client, n := range perClient {
		if n > 3 {
			t.Errorf("%d log lines for %s in 5 seconds of flood", n, client)
		}
	}
	if perClient["203.0.113.66"] == 0 || perClient["203.0.113.77"] == 0 {
		t.Errorf("log lines per client: %v", perClient)
	}
}
