// Package reconnect is what the chat adapters share for starting late: a
// backoff on the engine's clock, a connection state that /readyz and the
// metrics read, a short, address-free description of why a connection
// failed, and a gate that lets the platform's events in only while Run
// serves. A chat platform that is down when Vigil starts is waited for in
// the background; the rest of Vigil (intake, the scheduler, other
// adapters) runs meanwhile. Backoff is also the engine's one retry
// schedule: the scheduler's failed jobs and the outbox's messages.
package reconnect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Backoff doubles the wait after each failure, from Min up to Max.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff is 1 s doubling to 1 min: a short outage is bridged at
// once, a long one costs a request a minute.
var DefaultBackoff = Backoff{Min: time.Second, Max: time.Minute}

// Wait is the wait before try n (n counts failures, from 1).
func (b Backoff) Wait(n int) time.Duration {
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// State is an adapter's connection state: connected, or not and why. It is
// safe for concurrent use; the zero value is "not connected, starting".
type State struct {
	mu        sync.Mutex
	clock     clock.Clock
	connected bool
	phase     string // "starting", "connecting", "reconnecting"...
	cause     string // short, no addresses
	nextTry   time.Time
}

// NewState returns a state reading time (for "next try in") from c.
func NewState(c clock.Clock) *State { return &State{clock: c, phase: "starting"} }

// Up records a working connection.
func (s *State) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected, s.phase, s.cause, s.nextTry = true, "", "", time.Time{}
}

// Down records that there is no connection, for a reason and with no
// retry planned (the next try is someone else's: a library's reconnect).
func (s *State) Down(phase, cause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected, s.phase, s.cause, s.nextTry = false, phase, cause, time.Time{}
}

// Retrying records a failed try and when the next one is.
func (s *State) Retrying(phase, cause string, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected, s.phase, s.cause, s.nextTry = false, phase, cause, next
}

// Connected reports whether the connection works.
func (s *State) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Reason says why there is no connection, for /readyz: "connecting
// (auth.test: connection refused), next try in 8s". Empty when connected.
func (s *State) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.phase)
	if s.cause != "" {
		fmt.Fprintf(&b, " (%s)", s.cause)
	}
	if !s.nextTry.IsZero() && s.clock != nil {
		left := s.nextTry.Sub(s.clock.Now())
		switch {
		case left >= time.Second:
			fmt.Fprintf(&b, ", next try in %s", left.Round(time.Second))
		case left >= time.Millisecond:
			fmt.Fprintf(&b, ", next try in %s", left.Round(time.Millisecond))
		default:
			b.WriteString(", trying again now")
		}
	}
	return b.String()
}

// Sleep waits d on c, and calls armed once the timer exists, so a test on
// a fake clock that waits for the state armed records can advance past it
// without a race. It returns ctx's error if ctx ends first.
func Sleep(ctx context.Context, c clock.Clock, d time.Duration, armed func()) error {
	t := c.NewTimer(d)
	defer t.Stop()
	if armed != nil {
		armed()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// Cause describes a connection failure in a few words, without the
// addresses, URLs or tokens a raw error may hold: "connection refused",
// "timeout", "DNS lookup failed", "TLS handshake failed". Anything else is
// described by fallback (an adapter's own words for its API's answer).
func Cause(err error, fallback string) string {
	var dnsErr *net.DNSError
	var tlsErr *tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.As(err, &certErr), errors.As(err, &tlsErr):
		return "TLS handshake failed"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if strings.Contains(err.Error(), "EOF") {
		return "connection closed"
	}
	return fallback
}
