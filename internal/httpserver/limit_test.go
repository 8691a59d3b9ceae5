package httpserver

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigil-sec/vigil/bot/clock"
)

const goodToken = "s3cret-token"

// routes is a mux like Vigil's: a token-checked JSON route, a
// token-checked feed, and a health probe.
func routes() *http.ServeMux {
	mux := http.NewServeMux()
	check := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer "+goodToken && r.URL.Query().Get("token") != goodToken {
			http.Error(w, "wrong token", http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux.HandleFunc("POST /api/v1/reports", func(w http.ResponseWriter, r *http.Request) {
		if check(w, r) {
			w.WriteHeader(http.StatusCreated)
		}
	})
	mux.HandleFunc("GET /duty/{file}", func(w http.ResponseWriter, r *http.Request) {
		if check(w, r) {
			_, _ = w.Write([]byte("BEGIN:VCALENDAR"))
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return mux
}

type countingObserver struct {
	mu        sync.Mutex
	failures  map[string]int
	throttled map[string]int
}

func (c *countingObserver) AuthFailure(route string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures[route]++
}

func (c *countingObserver) Throttled(route, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.throttled[route+" "+reason]++
}

type limiterFixture struct {
	h     http.Handler
	lim   *limiter
	clock *clock.Fake
	obs   *countingObserver
	logs  *bytes.Buffer
}

func newLimiterFixture(t *testing.T, lim Limits) *limiterFixture {
	t.Helper()
	f := &limiterFixture{
		clock: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)),
		obs:   &countingObserver{failures: map[string]int{}, throttled: map[string]int{}},
		logs:  &bytes.Buffer{},
	}
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	if lim.JSONPrefix == "" {
		lim.JSONPrefix = "/api/"
	}
	if lim.Unlimited == nil {
		lim.Unlimited = []string{"/healthz"}
	}
	f.lim = newLimiter(routes(), lim, f.clock, f.obs, log)
	f.h = f.lim
	return f
}

// do sends one request from addr (ip:port) and returns the recorder.
func (f *limiterFixture) do(method, target, from, token string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(`{}`))
	req.RemoteAddr = from
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// logTotals sums the counts of every warn line, and fails if a line
// carries the token.
func (f *limiterFixture) logTotals(t *testing.T) (lines, failed, throttled int) {
	t.Helper()
	if strings.Contains(f.logs.String(), goodToken) || strings.Contains(f.logs.String(), "wrong-") {
		t.Fatalf("a token reached the log:\n%s", f.logs.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var e struct {
			Level     string `json:"level"`
			Route     string `json:"route"`
			Client    string `json:"client"`
			Failures  int    `json:"auth_failures"`
			Throttled int    `json:"throttled"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e.Level != "WARN" || e.Route == "" || e.Client == "" {
			t.Errorf("log line lacks level, route or client: %s", line)
		}
		lines++
		failed += e.Failures
		throttled += e.Throttled
	}
	return lines, failed, throttled
}

// The acceptance case: 1,000 wrong tokens from one client. After the
// failure burst every answer is 429 with Retry-After; each attempt is
// counted and shows up in a (rate-limited) log line; a client with the
// right token is served throughout.
func TestWrongTokensThrottleOnlyTheirClient(t *testing.T) {
	f := newLimiterFixture(t, Limits{RequestRate: 5, RequestBurst: 20, FailureRate: rate.Every(time.Minute), FailureBurst: 10})
	const attacker, team = "203.0.113.9:40000", "198.51.100.7:5000"
	var unauthorized, throttled int
	for i := range 1000 {
		rec := f.do("POST", "/api/v1/reports", attacker, "wrong-"+strconv.Itoa(i))
		switch rec.Code {
		case http.StatusUnauthorized:
			unauthorized++
			if throttled > 0 {
				t.Fatalf("attempt %d answered 401 after 429s began (no refill was due)", i)
			}
		case http.StatusTooManyRequests:
			throttled++
			secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
			if err != nil || secs < 1 || secs > 60 {
				t.Fatalf("429 with Retry-After %q", rec.Header().Get("Retry-After"))
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body["error"], "failed authentications") {
				t.Fatalf("429 body on a JSON route: %q", rec.Body.String())
			}
		default:
			t.Fatalf("attempt %d: status %d", i, rec.Code)
		}
		if i%50 == 0 {
			if rec := f.do("POST", "/api/v1/reports", team, goodToken); rec.Code != http.StatusCreated {
				t.Fatalf("the team's request during the flood (attempt %d): %d %s", i, rec.Code, rec.Body)
			}
		}
		f.clock.Advance(10 * time.Millisecond)
	}
	if unauthorized != 10 || throttled != 990 {
		t.Errorf("401s %d and 429s %d, want the burst of 10 then 990 refusals", unauthorized, throttled)
	}
	if got := f.obs.failures["/api/v1/reports"]; got != 10 {
		t.Errorf("auth failures counted %d, want 10", got)
	}
	if got := f.obs.throttled["/api/v1/reports auth_failures"]; got != 990 {
		t.Errorf("throttled counted %d, want 990", got)
	}
	// Even the right token is refused from the attacker's address now.
	if rec := f.do("POST", "/api/v1/reports", attacker, goodToken); rec.Code != http.StatusTooManyRequests {
		t.Errorf("right token from the throttled client: %d", rec.Code)
	}
	// The log: a handful of lines, not a thousand; once the client's
	// entry is dropped, its last tally is written too.
	f.clock.Advance(DefaultIdleAfter + time.Hour)
	f.do("GET", "/duty/x.ics?token="+goodToken, team, "")
	lines, failed, thr := f.logTotals(t)
	if lines > 3 {
		t.Errorf("%d log lines for one client in 10 seconds; want at most one per 10 s", lines)
	}
	if failed != 10 || thr != 991 {
		t.Errorf("logs account for %d failures and %d throttled requests, want 10 and 991", failed, thr)
	}
}

func TestFailureBucketRefillsOnTheClock(t *testing.T) {
	f := newLimiterFixture(t, Limits{FailureRate: rate.Every(time.Minute), FailureBurst: 2})
	const c = "203.0.113.9:1"
	for range 2 {
		if rec := f.do("GET", "/duty/a.ics?token=nope", c, ""); rec.Code != 401 {
			t.Fatalf("within the burst: %d", rec.Code)
		}
	}
	rec := f.do("GET", "/duty/a.ics?token="+goodToken, c, "")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("after the burst: %d Retry-After %q, want 429 and 60", rec.Code, rec.Header().Get("Retry-After"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("429 on a non-JSON route has Content-Type %q", ct)
	}
	f.clock.Advance(59 * time.Second)
	if rec := f.do("GET", "/duty/a.ics?token="+goodToken, c, ""); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("a second early: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	f.clock.Advance(time.Second)
	if rec := f.do("GET", "/duty/a.ics?token="+goodToken, c, ""); rec.Code != 200 {
		t.Fatalf("after a minute the right token is served: %d", rec.Code)
	}
	if got := f.obs.failures["/duty/{file}"]; got != 2 {
		t.Errorf("failures on the feed counted %d, want 2 (route as the pattern)", got)
	}
}

func TestRequestRateLimit(t *testing.T) {
	f := newLimiterFixture(t, Limits{RequestRate: 5, RequestBurst: 3})
	const c = "192.0.2.1:1"
	for i := range 3 {
		if rec := f.do("POST", "/api/v1/reports", c, goodToken); rec.Code != 201 {
			t.Fatalf("request %d within the burst: %d", i, rec.Code)
		}
	}
	rec := f.do("POST", "/api/v1/reports", c, goodToken)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("past the burst: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if got := f.obs.throttled["/api/v1/reports requests"]; got != 1 {
		t.Errorf("throttled (requests) counted %d", got)
	}
	f.clock.Advance(200 * time.Millisecond) // one token at 5/s
	if rec := f.do("POST", "/api/v1/reports", c, goodToken); rec.Code != 201 {
		t.Fatalf("after 200ms: %d", rec.Code)
	}
	// Probes are never limited.
	for range 50 {
		if rec := f.do("GET", "/healthz", c, ""); rec.Code != 200 {
			t.Fatalf("health probe limited: %d", rec.Code)
		}
	}
}

func TestClientAddress(t *testing.T) {
	f := newLimiterFixture(t, Limits{FailureBurst: 1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	fail := func(from string, xff ...string) int {
		var h []string
		for _, v := range xff {
			h = append(h, "X-Forwarded-For", v)
		}
		return f.do("POST", "/api/v1/reports", from, "nope", h...).Code
	}
	// An untrusted peer cannot pick its bucket with X-Forwarded-For.
	if fail("192.0.2.1:1", "198.51.100.1") != 401 || fail("192.0.2.1:2", "198.51.100.2") != 429 {
		t.Error("X-Forwarded-For from an untrusted peer was believed")
	}
	// Behind a trusted proxy, each forwarded client has its own bucket...
	if fail("10.0.0.5:1", "198.51.100.10") != 401 || fail("10.0.0.5:1", "198.51.100.11") != 401 {
		t.Error("two clients behind the proxy share a bucket")
	}
	if fail("10.0.0.5:1", "198.51.100.10") != 429 {
		t.Error("a forwarded client was not recognised again")
	}
	// ...and what the client itself put in front of the header is ignored:
	// the rightmost address the proxies did not add is the client.
	if fail("10.0.0.5:1", "1.2.3.4, 198.51.100.10, 10.0.0.9") != 429 {
		t.Error("a forged leftmost X-Forwarded-For entry was believed")
	}
	// IPv6 clients are grouped by /64: one host holds a whole /64.
	if fail("[2001:db8:1:2::1]:1") != 401 || fail("[2001:db8:1:2::ffff]:1") != 429 {
		t.Error("two addresses of one IPv6 /64 got separate buckets")
	}
	if fail("[2001:db8:1:3::1]:1") != 401 {
		t.Error("another /64 was throttled")
	}
}

func TestIdleClientsAreForgotten(t *testing.T) {
	f := newLimiterFixture(t, Limits{MaxClients: 100, FailureBurst: 1, FailureRate: rate.Every(time.Hour)})
	for i := range 100 {
		f.do("POST", "/api/v1/reports", "192.0.2."+strconv.Itoa(i)+":1", goodToken)
	}
	// The cap is reached: a newcomer shares the overflow bucket, so the
	// map does not grow.
	f.do("POST", "/api/v1/reports", "198.51.100.1:1", "nope")
	if n := len(f.lim.clients); n != 100 {
		t.Fatalf("%d clients tracked, want the cap of 100", n)
	}
	if rec := f.do("POST", "/api/v1/reports", "198.51.100.2:1", goodToken); rec.Code != 429 {
		t.Errorf("a second newcomer past the cap shares the overflow bucket the first exhausted: %d", rec.Code)
	}
	// A throttled client is not forgotten early (that would reset it)...
	f.clock.Advance(DefaultIdleAfter + time.Minute)
	f.do("POST", "/api/v1/reports", "203.0.113.1:1", "nope") // ...and the sweep runs
	if _, ok := f.lim.clients[netip.MustParsePrefix("203.0.113.1/32")]; !ok {
		t.Fatal("the newest client is not tracked after the sweep")
	}
	if n := len(f.lim.clients); n != 1 {
		t.Errorf("%d clients tracked after they all went idle, want 1", n)
	}
	// 203.0.113.1 has an empty failure bucket: it must survive a sweep
	// until the bucket has refilled.
	f.clock.Advance(DefaultIdleAfter)
	f.do("GET", "/healthz", "192.0.2.1:1", "")
	f.lim.mu.Lock()
	f.lim.sweep(f.clock.Now())
	_, kept := f.lim.clients[netip.MustParsePrefix("203.0.113.1/32")]
	f.lim.mu.Unlock()
	if !kept {
		t.Error("a client with an empty failure bucket was forgotten (and so forgiven)")
	}
}

func TestLimitsCheck(t *testing.T) {
	if _, err := New(Options{Listen: ":0", Handler: routes(), MaxBodyBytes: 1, Limits: Limits{RequestBurst: -1}}); err == nil {
		t.Error("a negative burst was accepted")
	}
}
