package testredis

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Trips is a go-redis hook counting round trips as the client sees them:
// a command, a script or a whole pipeline is one. Add it to a client
// (redisstore.Store.AddHook) and read N before and after the code measured.
type Trips struct{ n atomic.Int64 }

// N is the number of round trips so far.
func (c *Trips) N() int64 { return c.n.Load() }

func (c *Trips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *Trips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}

func (c *Trips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}
