package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
)

func TestWaitReplicasDefault(t *testing.T) {
	for _, c := range []struct {
		opt  int
		mode string
		want int
	}{
		{0, modeSingle, 0}, {0, modeSentinel, 1}, {0, modeCluster, 1},
		{-1, modeCluster, 0}, {2, modeSingle, 2}, {2, modeSentinel, 2},
	} {
		if got := waitReplicas(c.opt, c.mode); got != c.want {
			t.Errorf("waitReplicas(%d, %s) = %d, want %d", c.opt, c.mode, got, c.want)
		}
	}
}

// syncBuf is a log sink the store writes from its own goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Through Sentinel a batch returns once the replica holds it; with the
// replica frozen it returns after the wait timeout, still written, with a
// warning that a failover now would lose it.
func TestApplyWaitsForTheReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Sentinel setup; skipped with -short")
	}
	topo := testredis.StartTopology(t, testredis.Sentinel)
	logs := &syncBuf{}
	s, err := New(Options{URL: topo.URL(), Prefix: "w", WaitTimeout: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	master := topo.MasterFor(t, "{w}")
	replicaAddr := topo.Replica(t, master)
	replica := redis.NewClient(&redis.Options{Addr: replicaAddr})
	defer replica.Close()

	for i := range 20 {
		id := fmt.Sprintf("r%d", i)
		if _, err := s.Apply(ctx, store.PutOp("reports", id, []byte("x"), store.NewDoc)); err != nil {
			t.Fatal(err)
		}
		// Read at once from the replica: WAIT returned, so it is there.
		if n, err := replica.Exists(ctx, s.b.docKeys("reports", id)[0]).Result(); err != nil || n != 1 {
			t.Fatalf("batch %d not on the replica when Apply returned: %d %v", i, n, err)
		}
	}
	if strings.Contains(logs.String(), "not yet on its replicas") {
		t.Errorf("warned with a live replica:\n%s", logs)
	}

	topo.Signal(t, replicaAddr, syscall.SIGSTOP)
	start := time.Now()
	_, err = s.Apply(ctx, store.PutOp("reports", "frozen", []byte("x"), store.NewDoc))
	took := time.Since(start)
	topo.Signal(t, replicaAddr, syscall.SIGCONT)
	if err != nil {
		t.Fatalf("Apply with a frozen replica: %v", err)
	}
	if took < 250*time.Millisecond || took > 2*time.Second {
		t.Errorf("Apply with a frozen replica took %v, want about the 300ms wait timeout", took)
	}
	if !strings.Contains(logs.String(), "replicas_acked=0") {
		t.Errorf("no warning for the unconfirmed batch:\n%s", logs)
	}
	if _, err := s.Get(ctx, "reports", "frozen"); err != nil {
		t.Errorf("the unconfirmed batch is not on the master: %v", err)
	}
}

// What WAIT 1 costs an intake-sized batch (a report, its source key, the
// open set and the announce job), on the shared Sentinel and Cluster.
// The numbers are in docs/SCALE.md.
func BenchmarkApplyWait(b *testing.B) {
	for _, kind := range []testredis.Kind{testredis.Sentinel, testredis.Cluster} {
		for _, wait := range []int{-1, 1} {
			b.Run(fmt.Sprintf("%s/wait=%d", kind, max(wait, 0)), func(b *testing.B) {
				topo := testredis.Shared(b, kind)
				s, err := New(Options{URL: topo.URL(), Prefix: topo.Prefix(b), WaitReplicas: wait})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				data := bytes.Repeat([]byte("d"), 2048)
				due := time.Unix(1_700_000_000, 0)
				i := 0
				for b.Loop() {
					id := fmt.Sprintf("VIGIL-%d", i)
					i++
					if _, err := s.Apply(ctx,
						store.PutOp("reports", id, data, store.NewDoc),
						store.PutOp("reports.source", "key:"+id, []byte(id), store.NewDoc),
						store.SetAddOp("reports:open", id),
						store.ScheduleOp("jobs", "announce:"+id, due),
					); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
