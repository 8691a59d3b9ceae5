package testmatrix

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a homeserver for one test.
type Server struct {
	URL          string
	SharedSecret string
	// ServerName is the part after the colon in user ids.
	ServerName string
}

func skipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("VIGIL_REQUIRE_INTEGRATION") == "1" {
		tb.Fatal(msg + " (VIGIL_REQUIRE_INTEGRATION=1)")
		return
	}
	tb.Skip(msg)
}

// Start returns a homeserver for tb: MATRIX_HOMESERVER_URL (with
// MATRIX_SHARED_SECRET) when set, else a fresh Dendrite from the cache,
// stopped at cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if u := os.Getenv("MATRIX_HOMESERVER_URL"); u != "" {
		secret := os.Getenv("MATRIX_SHARED_SECRET")
		if secret == "" {
			tb.Fatal("MATRIX_HOMESERVER_URL is set but MATRIX_SHARED_SECRET is not: users cannot be registered")
		}
		name := os.Getenv("MATRIX_SERVER_NAME")
		if name == "" {
			name = ServerName
		}
		return &Server{URL: u, SharedSecret: secret, ServerName: name}
	}
	bin, ok := binary()
	if !ok {
		skipOrFail(tb, "no Matrix homeserver: run scripts/build-dendrite.sh (make test does) or set MATRIX_HOMESERVER_URL and MATRIX_SHARED_SECRET")
	}
	return startOwn(tb, bin)
}

// StartDedicated returns a Dendrite of tb's own (with its own PostgreSQL
// cluster, a few seconds to start) when the cached binary is there, else
// what Start returns. Tests that stop and restart clients use it, so one
// test's cancelled requests and leftover state cannot reach the next.
func StartDedicated(tb testing.TB) *Server {
	tb.Helper()
	if bin, ok := binary(); ok {
		return startOwn(tb, bin)
	}
	return Start(tb)
}

func binary() (string, bool) {
	bin, err := BinDir()
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(bin, "dendrite")); err != nil {
		return "", false
	}
	return bin, true
}

func startOwn(tb testing.TB, bin string) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	d, err := StartDendrite(ctx, bin, "")
	if err != nil {
		tb.Fatalf("testmatrix: %v", err)
	}
	tb.Logf("testmatrix: Dendrite %s on %s, storage: %s", DendriteVersion, d.URL, d.Storage)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("dendrite log (tail):\n%s", tail(d.Logs(), 8000))
		}
		d.Stop()
	})
	return &Server{URL: d.URL, SharedSecret: d.SharedSecret, ServerName: ServerName}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var seq atomic.Int64

var unsafeChars = regexp.MustCompile(`[^a-z0-9._=-]`)

// Register creates a user whose localpart starts with name and is unique
// across test runs sharing one homeserver.
func (s *Server) Register(tb testing.TB, name string) Account {
	tb.Helper()
	local := unsafeChars.ReplaceAllString(strings.ToLower(name), "") + "-" + randomHex(3) + "-" + itoa(seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Register(ctx, s.URL, s.SharedSecret, local, "pw-"+randomHex(8), false)
	if err != nil {
		tb.Fatalf("testmatrix: %v", err)
	}
	return a
}

func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}
