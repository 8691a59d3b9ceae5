package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

var _ store.Store = (*Store)(nil)

const (
	// DefaultPrefix is used when Options.Prefix is empty.
	DefaultPrefix = "vigil"
	// DefaultTimeout bounds dialing, reads and writes, so a dead Redis is a
	// prompt ErrUnavailable rather than a hang.
	DefaultTimeout = 2 * time.Second
	// seenGCSlack is added to the real PX of a seen key. The logical expiry
	// decides; the PX only collects garbage, and the slack keeps a record
	// alive while the caller's clock (or a replica's skewed one) still
	// considers it live.
	seenGCSlack = time.Minute
)

// Options configure a Store.
type Options struct {
	// URL of the Redis deployment; see the package documentation.
	URL string
	// Prefix for every key; DefaultPrefix when empty.
	Prefix string
	// Timeout for dial, read and write; DefaultTimeout when zero. Timeouts
	// given in the URL's query take precedence.
	Timeout time.Duration
	// WaitReplicas is how many replicas must acknowledge each batch (Apply:
	// an intake, a queued message, a hand-off) before it returns, with
	// WAIT: Redis replicates asynchronously, and a failover loses what the
	// promoted replica had not yet received. Zero means 1 with Sentinel or
	// Cluster and none on a single server; negative turns it off.
	WaitReplicas int
	// WaitTimeout bounds that wait; DefaultWaitTimeout when zero. A batch
	// whose replicas do not answer in time still succeeds (it is written on
	// the master) and is logged as a warning.
	WaitTimeout time.Duration
	// Logger receives those warnings; slog.Default() when nil.
	Logger *slog.Logger
}

// Store is a store.Store on Redis.
//
// Its store.Store methods are those of store.Validating wrapped around the
// unexported backend, which trusts its arguments. The wrapper is embedded
// rather than returned as a store.Store so that New keeps returning *Store,
// with the same methods (AddHook too) and the same errors for bad input as
// before the checks moved out of the backend, while no path from outside
// the package reaches the backend unchecked.
type Store struct {
	checked
	b *backend
}

// checked is the validating store.Store embedded in Store; an alias, so the
// embedded field stays unexported and its methods are promoted.
type checked = store.Store

// backend implements store.Store on Redis without checking its arguments;
// store.Validating checks them and names the operation in every error, so
// backend methods return their errors bare (through unavail).
type backend struct {
	c      redis.UniversalClient
	prefix string
	desc   string

	wait        int // replicas each batch waits for; 0: no WAIT
	waitTimeout time.Duration
	log         *slog.Logger
}

// New checks opts and builds the client. It does no I/O: call Ping to find
// out whether Redis is there.
func New(opts Options) (*Store, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}\x00") {
		return nil, fmt.Errorf("redis: %w: prefix %q must not contain '{', '}' or NUL (it is the cluster hash tag of every key)", store.ErrInvalid, prefix)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("redis: %w: negative timeout %v", store.ErrInvalid, timeout)
	}
	cfg, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	cfg.applyTimeouts(timeout)
	b := &backend{prefix: prefix, desc: cfg.describe() + " prefix " + prefix, log: opts.Logger,
		wait: waitReplicas(opts.WaitReplicas, cfg.mode), waitTimeout: opts.WaitTimeout}
	if b.waitTimeout <= 0 {
		b.waitTimeout = DefaultWaitTimeout
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	switch cfg.mode {
	case modeSentinel:
		b.c = redis.NewFailoverClient(cfg.failover)
	case modeCluster:
		b.c = newClusterClient(cfg.cluster)
	default:
		b.c = redis.NewClient(cfg.single)
	}
	return &Store{checked: store.Validating("redis", b), b: b}, nil
}

// Read runs queries in one pipeline; see store.Reader.
func (s *Store) Read(ctx context.Context, qs ...store.Query) ([]store.Answer, error) {
	return s.checked.(store.Reader).Read(ctx, qs...)
}

// Describe names the deployment and prefix, never credentials.
func (s *backend) Describe() string { return s.desc }

// Ping checks that Redis answers.
func (s *backend) Ping(ctx context.Context) error {
	return unavail(s.c.Ping(ctx).Err())
}

// Close closes the client's connections.
func (s *backend) Close() error {
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// unavail marks errors that mean "Redis cannot be reached or cannot serve
// right now" as ErrUnavailable; store.Validating adds the operation.
func unavail(err error) error {
	if err != nil && unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up; Redis may be fine.
		return false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.As(err, &netErr):
		return true
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsClusterDownError(err),
		redis.IsTryAgainError(err), redis.IsMasterDownError(err), redis.IsMaxClientsError(err),
		redis.IsNoReplicasError(err):
		return true
	}
	// Sentinel discovery reports its failures as plain errors.
	msg := err.Error()
	return strings.Contains(msg, "all sentinels") || strings.Contains(msg, "no sentinels")
}
