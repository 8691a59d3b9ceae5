package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

// DefaultWaitTimeout bounds how long a batch waits for its replicas; see
// Options.WaitReplicas.
const DefaultWaitTimeout = 250 * time.Millisecond

// waitReplicas resolves Options.WaitReplicas for the deployment mode: 0
// means one replica with Sentinel or Cluster (which have one by design) and
// none on a single server (which may have none: WAIT would then always run
// into its timeout); a negative value turns the wait off.
func waitReplicas(opt int, mode string) int {
	switch {
	case opt < 0:
		return 0
	case opt > 0:
		return opt
	case mode == modeSentinel || mode == modeCluster:
		return 1
	}
	return 0
}

// runAndWait runs a script and then WAIT on one connection of the master
// that owns keys (WAIT counts the replicas that acknowledged the writes of
// its own connection). It returns the script's reply and how many
// replicas acknowledged.
func (s *backend) runAndWait(ctx context.Context, script *redis.Script, keys []string, args ...any) (_ any, _ int64, err error) {
	node := s.c
	if cc, ok := s.c.(*redis.ClusterClient); ok {
		// A cluster client would route the keyless WAIT to any node; ask
		// for the master of the batch's slot (every key shares it).
		m, err := cc.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, 0, err
		}
		node = m
		// Commands on the node's own connection bypass the cluster
		// client's hooks and its MOVED handling: a failure must still
		// refresh the slot map, and a script refused with MOVED or ASK
		// (the slot is moving; nothing ran) is unavailable for now.
		defer func() {
			_, moved := redis.IsMovedError(err)
			_, ask := redis.IsAskError(err)
			if moved || ask {
				err = fmt.Errorf("%w: the slot is moving: %w", store.ErrUnavailable, err)
			}
			if err != nil && (moved || ask || unavailable(err)) {
				cc.ReloadState(context.Background())
			}
		}()
	}
	c, ok := node.(*redis.Client)
	if !ok {
		return nil, 0, fmt.Errorf("redis: WAIT needs a single-node client, have %T", node)
	}
	conn := c.Conn()
	defer conn.Close()
	res, err := script.Run(ctx, conn, keys, args...).Result()
	if err != nil {
		return nil, 0, err
	}
	n, werr := conn.Wait(ctx, s.wait, s.waitTimeout).Result()
	if werr != nil {
		// The batch is written; only the confirmation is missing.
		return res, 0, nil
	}
	return res, n, nil
}
