package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// reloadOnFailure makes a cluster client re-read the slot map as soon as a
// command fails for want of a node. go-redis re-reads it on MOVED, or when
// it is ClusterStateReloadInterval old; but a master that died answers no
// MOVED, and until the next timed reload every command of its slots goes to
// the dead address, long after a replica took its place (the failover
// test, cmd/vigil/failover_test.go, saw a minute). Reloads are coalesced by
// go-redis, at most one every 200ms.
type reloadOnFailure struct{ cc *redis.ClusterClient }

func (h reloadOnFailure) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnFailure) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.check(next(ctx, cmd))
	}
}

func (h reloadOnFailure) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h.check(next(ctx, cmds))
	}
}

func (h reloadOnFailure) check(err error) error {
	if err != nil && unavailable(err) {
		h.cc.ReloadState(context.Background())
	}
	return err
}

// newClusterClient builds the cluster client with that hook.
func newClusterClient(o *redis.ClusterOptions) *redis.ClusterClient {
	cc := redis.NewClusterClient(o)
	cc.AddHook(reloadOnFailure{cc})
	return cc
}
