package httpserver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Limit defaults: generous for a team's webhooks and calendar clients,
// tight for someone guessing tokens.
const (
	DefaultRequestRate  = rate.Limit(5) // per second
	DefaultRequestBurst = 20
	// DefaultFailureRate is one failed authentication a minute, after a
	// burst of ten: enough for a person fixing a typo in a token, useless
	// for guessing one.
	DefaultFailureRate  = rate.Limit(1.0 / 60)
	DefaultFailureBurst = 10
	// DefaultIdleAfter is how long a client's buckets are kept after its
	// last request (they are also full by then, so forgetting them
	// forgets nothing).
	DefaultIdleAfter  = 10 * time.Minute
	DefaultMaxClients = 100_000
	// logEvery bounds the warn lines per client: one per window, carrying
	// the counts of what happened since the last one.
	logEvery   = 10 * time.Second
	sweepEvery = time.Minute
)

// Limits configure the per-client limits on the routes that check a token
// or a signature. Zero values mean the defaults.
type Limits struct {
	// RequestRate and RequestBurst: every request to a limited route takes
	// a token from its client's request bucket; an empty bucket is a 429.
	RequestRate  rate.Limit
	RequestBurst int
	// FailureRate and FailureBurst: each failed authentication (a 401
	// answer) takes a token from the client's failure bucket; while it is
	// empty, every request from that client is a 429, whatever token it
	// carries. Other clients are not affected.
	FailureRate  rate.Limit
	FailureBurst int
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For is believed. From anyone else the header is ignored:
	// a client could otherwise name a fresh address on every request.
	TrustedProxies []netip.Prefix
	// Unlimited lists the routes (mux patterns without the method, such as
	// "/healthz") that are not limited: probes and scrapes, which check no
	// token and must keep answering while an attacker is throttled.
	Unlimited []string
	// JSONPrefix: routes under it answer 429 with a JSON error body
	// {"error","field"}, like the rest of the JSON API ("/api/").
	JSONPrefix string
	// IdleAfter and MaxClients bound the memory: buckets of clients idle
	// for IdleAfter are dropped, and past MaxClients new clients share one
	// overflow bucket until idle ones are dropped.
	IdleAfter  time.Duration
	MaxClients int
}

func (l Limits) withDefaults() Limits {
	l.RequestRate = cmp.Or(l.RequestRate, DefaultRequestRate)
	l.RequestBurst = cmp.Or(l.RequestBurst, DefaultRequestBurst)
	l.FailureRate = cmp.Or(l.FailureRate, DefaultFailureRate)
	l.FailureBurst = cmp.Or(l.FailureBurst, DefaultFailureBurst)
	l.IdleAfter = cmp.Or(l.IdleAfter, DefaultIdleAfter)
	l.MaxClients = cmp.Or(l.MaxClients, DefaultMaxClients)
	return l
}

func (l Limits) check() error {
	var problems []string
	if l.RequestRate < 0 || l.RequestBurst < 0 || l.FailureRate < 0 || l.FailureBurst < 0 {
		problems = append(problems, "rates and bursts must not be negative")
	}
	if l.IdleAfter < 0 || l.MaxClients < 0 {
		problems = append(problems, "idle time and client cap must not be negative")
	}
	if len(problems) > 0 {
		return fmt.Errorf("httpserver limits: %s", strings.Join(problems, "; "))
	}
	return nil
}

// AuthObserver counts what the limiter sees; internal/metrics implements
// it (vigil_auth_failures_total, vigil_http_throttled_total).
type AuthObserver interface {
	// AuthFailure: a request to route was answered 401.
	AuthFailure(route string)
	// Throttled: a request to route was answered 429; reason is
	// "requests" (request bucket empty) or "auth_failures" (the client
	// failed to authenticate too often).
	Throttled(route, reason string)
}

// routeFinder names the route a request goes to: a ServeMux's pattern.
type routeFinder interface {
	Handler(r *http.Request) (http.Handler, string)
}

// limiter is the middleware. Its buckets run on the injected clock, so a
// fake clock drives refills and eviction in tests as the wall clock does
// in production.
type limiter struct {
	next   http.Handler
	routes routeFinder // nil: the path is the route
	lim    Limits
	clock  clock.Clock
	obs    AuthObserver
	log    *slog.Logger

	mu        sync.Mutex
	clients   map[netip.Prefix]*client
	overflow  *client
	lastSweep time.Time
}

// client is one client address's state.
type client struct {
	requests, failures *rate.Limiter
	lastSeen           time.Time
	// Log gate: counts since the last warn line about this client.
	lastLog              time.Time
	failed, throttled    int
	lastRoute, lastWhere string
}

func newLimiter(next http.Handler, lim Limits, c clock.Clock, obs AuthObserver, log *slog.Logger) *limiter {
	l := &limiter{next: next, lim: lim.withDefaults(), clock: c, obs: obs, log: log, clients: map[netip.Prefix]*client{}}
	if rf, ok := next.(routeFinder); ok {
		l.routes = rf
	}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	return l
}

type nopObserver struct{}

func (nopObserver) AuthFailure(string)       {}
func (nopObserver) Throttled(string, string) {}

// route is the request's mux pattern without its method ("/duty/{file}"),
// so metric labels stay few whatever paths attackers try; requests that
// match no pattern are "unmatched".
func (l *limiter) route(r *http.Request) string {
	if l.routes == nil {
		return r.URL.Path
	}
	_, pattern := l.routes.Handler(r)
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	return pattern
}

func (l *limiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := l.route(r)
	for _, u := range l.lim.Unlimited {
		if route == u {
			l.next.ServeHTTP(w, r)
			return
		}
	}
	key, where := l.clientOf(r)
	now := l.clock.Now()
	l.mu.Lock()
	c := l.client(key, now)
	var reason string
	var wait time.Duration
	switch {
	case c.failures.TokensAt(now) < 1:
		reason, wait = "auth_failures", untilToken(c.failures, now)
	case !c.requests.AllowN(now, 1):
		reason, wait = "requests", untilToken(c.requests, now)
	}
	if reason != "" {
		c.throttled++
		l.maybeLog(c, now, route, where)
	}
	l.mu.Unlock()
	if reason != "" {
		l.obs.Throttled(route, reason)
		l.refuse(w, route, reason, wait)
		return
	}

	sw := &statusWriter{ResponseWriter: w}
	l.next.ServeHTTP(sw, r)
	if sw.status != http.StatusUnauthorized {
		return
	}
	l.obs.AuthFailure(route)
	now = l.clock.Now()
	l.mu.Lock()
	c.failures.AllowN(now, 1) // an empty bucket stays empty; nothing more to take
	c.failed++
	l.maybeLog(c, now, route, where)
	l.mu.Unlock()
}

// refuse answers 429 with Retry-After in whole seconds (at least 1).
func (l *limiter) refuse(w http.ResponseWriter, route, reason string, wait time.Duration) {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	msg := fmt.Sprintf("too many requests from your address; retry in %d seconds", secs)
	if reason == "auth_failures" {
		msg = fmt.Sprintf("too many failed authentications from your address; retry in %d seconds", secs)
	}
	if l.lim.JSONPrefix != "" && strings.HasPrefix(route, l.lim.JSONPrefix) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}{msg, ""})
		return
	}
	http.Error(w, msg, http.StatusTooManyRequests)
}

// untilToken is how long until b holds one whole token again.
func untilToken(b *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - b.TokensAt(now)
	if missing <= 0 || b.Limit() <= 0 {
		return 0
	}
	return time.Duration(missing / float64(b.Limit()) * float64(time.Second))
}

// maybeLog writes at most one warn line per client per logEvery, with the
// counts since the previous line: a flood of bad tokens cannot flood the
// log, and nothing is lost from the tally. Never the token, the query
// string or a header: only the route and the client address.
func (l *limiter) maybeLog(c *client, now time.Time, route, where string) {
	c.lastRoute, c.lastWhere = route, where
	if !c.lastLog.IsZero() && now.Sub(c.lastLog) < logEvery {
		return
	}
	l.flushLog(c)
	c.lastLog = now
}

func (l *limiter) flushLog(c *client) {
	if c.failed == 0 && c.throttled == 0 {
		return
	}
	l.log.Warn("http: failed authentication or throttled client",
		"route", c.lastRoute, "client", c.lastWhere, "auth_failures", c.failed, "throttled", c.throttled)
	c.failed, c.throttled = 0, 0
}

// client returns key's state, creating it; l.mu is held.
func (l *limiter) client(key netip.Prefix, now time.Time) *client {
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	c, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.lim.MaxClients {
			l.sweep(now)
		}
		if len(l.clients) >= l.lim.MaxClients {
			// Still full: this newcomer shares one bucket with every other
			// one, so a flood of fresh addresses cannot grow memory, and
			// known clients keep their own buckets.
			if l.overflow == nil {
				l.overflow = l.newClient(now)
			}
			c = l.overflow
		} else {
			c = l.newClient(now)
			l.clients[key] = c
		}
	}
	c.lastSeen = now
	return c
}

func (l *limiter) newClient(now time.Time) *client {
	c := &client{
		requests: rate.NewLimiter(l.lim.RequestRate, l.lim.RequestBurst),
		failures: rate.NewLimiter(l.lim.FailureRate, l.lim.FailureBurst),
	}
	// rate.Limiter starts full at its first use; anchoring both at now
	// keeps TokensAt right before any token is taken.
	c.requests.SetLimitAt(now, l.lim.RequestRate)
	c.failures.SetLimitAt(now, l.lim.FailureRate)
	return c
}

// sweep drops clients idle for IdleAfter whose buckets are full again:
// dropping those forgets nothing, as a new client starts full. Their
// pending log tally is written first.
func (l *limiter) sweep(now time.Time) {
	l.lastSweep = now
	for key, c := range l.clients {
		if now.Sub(c.lastSeen) < l.lim.IdleAfter {
			continue
		}
		if c.requests.TokensAt(now) < float64(l.lim.RequestBurst) || c.failures.TokensAt(now) < float64(l.lim.FailureBurst) {
			continue
		}
		l.flushLog(c)
		delete(l.clients, key)
	}
	if l.overflow != nil && now.Sub(l.overflow.lastSeen) >= l.lim.IdleAfter {
		l.flushLog(l.overflow)
		l.overflow = nil
	}
}

// clientOf is the bucket key of the request's client and its address for
// the log. IPv6 clients are keyed by their /64: one host usually holds a
// whole /64 and could otherwise take a fresh address per request.
func (l *limiter) clientOf(r *http.Request) (netip.Prefix, string) {
	addr := peerAddr(r.RemoteAddr)
	if addr.IsValid() && l.trusted(addr) {
		addr = l.forwardedFor(r, addr)
	}
	if !addr.IsValid() {
		return netip.Prefix{}, "unknown"
	}
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32), addr.String()
	}
	p, _ := addr.Prefix(64)
	return p, addr.String()
}

func (l *limiter) trusted(a netip.Addr) bool {
	for _, p := range l.lim.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For from the right (the entries the
// trusted proxies appended) past the trusted proxies, to the first address
// a proxy saw connect. An entry that does not parse stops the walk at the
// last trusted hop, so garbage cannot spread one client over many buckets.
func (l *limiter) forwardedFor(r *http.Request, peer netip.Addr) netip.Addr {
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client
		}
		client = a.Unmap()
		if !l.trusted(client) {
			return client
		}
	}
	return client
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// statusWriter records the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flush,
// deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
