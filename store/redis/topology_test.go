package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/storetest"
)

func topologyStore(tb testing.TB, topo *testredis.Topology, prefix string) *Store {
	tb.Helper()
	s, err := New(Options{URL: topo.URL(), Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// The whole conformance suite on Redis Cluster: Cluster refuses a script
// or MULTI whose keys hash to different slots (CROSSSLOT), so the suite
// passing here shows every multi-key operation stays in one slot.
func TestConformanceCluster(t *testing.T) {
	topo := testredis.Shared(t, testredis.Cluster)
	storetest.Run(t, func(t *testing.T) store.Store { return topologyStore(t, topo, topo.Prefix(t)) })
}

// The whole conformance suite through Sentinel.
func TestConformanceSentinel(t *testing.T) {
	topo := testredis.Shared(t, testredis.Sentinel)
	storetest.Run(t, func(t *testing.T) store.Store { return topologyStore(t, topo, topo.Prefix(t)) })
}

// The same suites through the encryption decorator (encryption on): what
// it stores must obey Cluster's one-slot rule and survive Sentinel too.
func TestConformanceClusterEncrypted(t *testing.T) {
	topo := testredis.Shared(t, testredis.Cluster)
	storetest.RunEncrypted(t, func(t *testing.T) store.Store { return topologyStore(t, topo, topo.Prefix(t)) })
}

func TestConformanceSentinelEncrypted(t *testing.T) {
	topo := testredis.Shared(t, testredis.Sentinel)
	storetest.RunEncrypted(t, func(t *testing.T) store.Store { return topologyStore(t, topo, topo.Prefix(t)) })
}

// The suite's evidence has teeth: the same Cluster refuses a script whose
// keys lie in two slots, which is what a key without the {prefix} hash tag
// would cause.
func TestClusterRefusesCrossSlotScript(t *testing.T) {
	topo := testredis.Shared(t, testredis.Cluster)
	prefix := topo.Prefix(t)
	c := topo.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := topologyStore(t, topo, prefix)
	defer s.Close()
	k1 := s.b.key("doc", "a")
	// Two keys without a hash tag, in different slots.
	a, b := prefix+":a", prefix+":b"
	for i := 0; c.ClusterKeySlot(ctx, a).Val() == c.ClusterKeySlot(ctx, b).Val(); i++ {
		b = prefix + ":b" + strings.Repeat("x", i)
	}
	defer c.Del(ctx, a)
	err := c.Eval(ctx, "return redis.call('SET', KEYS[1], 1) and redis.call('SET', KEYS[2], 1)", []string{a, b}).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("cross-slot script: %v, want CROSSSLOT", err)
	}
	// With the store's keys, all under {prefix}, the same script runs.
	k2 := s.b.setKey("b")
	if err := c.Eval(ctx, "redis.call('SET', KEYS[1], 1) redis.call('SET', KEYS[2], 1) return 1", []string{k1, k2}).Err(); err != nil {
		t.Fatalf("same-slot script: %v", err)
	}
	c.Del(ctx, k1, k2)
}
