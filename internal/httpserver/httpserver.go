// Package httpserver is Vigil's one HTTP listener. Features mount their
// routes on the engine's mux (Slack events, GitHub webhooks, the intake API,
// the iCal feed, health and metrics); this package serves it with timeouts,
// a body-size cap and per-client rate limits (limit.go), so no route can be
// held open or flooded, and nobody can guess a token at speed.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Options configure the listener.
type Options struct {
	Listen       string
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	MaxBodyBytes int64
	// Handler serves the routes; when it is a *http.ServeMux, its patterns
	// name the routes in logs and metrics.
	Handler http.Handler
	// Limits are the per-client rate limits (zero values: the defaults).
	Limits Limits
	// Clock drives the rate limits' buckets (default: the wall clock).
	Clock clock.Clock
	// Observer counts failed authentications and throttled requests.
	Observer AuthObserver
	Logger   *slog.Logger
}

// Server serves one listener.
type Server struct {
	addr string
	srv  *http.Server
	ln   net.Listener
	log  *slog.Logger
}

// New validates the options. It does not listen yet.
func New(o Options) (*Server, error) {
	if o.Listen == "" {
		return nil, errors.New("httpserver: no listen address")
	}
	if o.Handler == nil {
		return nil, errors.New("httpserver: no handler")
	}
	if o.MaxBodyBytes <= 0 {
		return nil, errors.New("httpserver: max body bytes must be positive")
	}
	if err := o.Limits.check(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	h := http.MaxBytesHandler(newLimiter(o.Handler, o.Limits, o.Clock, o.Observer, o.Logger), o.MaxBodyBytes)
	return &Server{
		addr: o.Listen,
		log:  o.Logger,
		srv: &http.Server{
			Handler:           h,
			ReadTimeout:       o.ReadTimeout,
			ReadHeaderTimeout: min(o.ReadTimeout, 10*time.Second),
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		},
	}, nil
}

// Listen binds the address, so a port in use is reported at start.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve serves until ctx ends, then shuts down gracefully, letting
// in-flight requests finish for up to five seconds.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("httpserver: Serve before Listen")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// Handler is the full handler chain as served (body cap, rate limits, the
// routes), for in-process tests with httptest.
func (s *Server) Handler() http.Handler { return s.srv.Handler }
