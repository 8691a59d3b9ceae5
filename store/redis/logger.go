package redisstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RouteClientLogs sends go-redis' own log lines (pool dial failures and the
// like, which it otherwise prints to stderr) to l at debug level: the store
// already reports each failure as an error wrapping store.ErrUnavailable,
// so at the default level they would only repeat it. go-redis keeps its
// logger in a package variable, so this is for main to call once.
func RouteClientLogs(l *slog.Logger) {
	redis.SetLogger(slogPrinter{l})
}

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.l.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// AddHook instruments the client, e.g. to count round trips in the load
// benchmark (cmd/vigil-bench) or to trace commands.
func (s *Store) AddHook(h redis.Hook) { s.b.c.AddHook(h) }
