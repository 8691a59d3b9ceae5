package testredis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind is a Redis topology other than one server.
type Kind string

const (
	// Cluster is 3 masters and 3 replicas with --cluster-replicas 1.
	Cluster Kind = "cluster"
	// Sentinel is a master, a replica and three sentinels watching it as
	// "vigil".
	Sentinel Kind = "sentinel"
)

func (k Kind) envVar() string { return "REDIS_" + strings.ToUpper(string(k)) + "_URL" }

// Topology is a Redis Cluster or Sentinel setup for tests, reached through
// a redis+cluster:// or redis+sentinel:// URL in the form Vigil reads.
type Topology struct {
	kind Kind
	url  string
	dir  string // "" for a shared topology from the environment
}

// Shared returns the topology named by REDIS_CLUSTER_URL or
// REDIS_SENTINEL_URL (scripts/with-redis-topologies.sh sets both; make test
// runs under it). Without it the test is skipped, or fails under
// VIGIL_REQUIRE_INTEGRATION=1. Tests on a shared topology must not stop
// its servers: other packages use it at the same time.
func Shared(tb testing.TB, kind Kind) *Topology {
	tb.Helper()
	u := os.Getenv(kind.envVar())
	if u == "" {
		skipOrFail(tb, fmt.Sprintf("%s is not set: run under scripts/with-redis-topologies.sh (make test does)", kind.envVar()))
		return nil
	}
	return &Topology{kind: kind, url: u}
}

// StartTopology starts a private topology with scripts/redis-topology.sh,
// for a test that kills its servers; env tunes it (for example
// REDIS_CLUSTER_NODE_TIMEOUT=1000). Everything is stopped at cleanup.
func StartTopology(tb testing.TB, kind Kind, env ...string) *Topology {
	tb.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			skipOrFail(tb, bin+" not found: install it (apt-get install -y redis-server redis-tools)")
			return nil
		}
	}
	script, err := repoFile("scripts/redis-topology.sh")
	if err != nil {
		tb.Fatalf("testredis: %v", err)
	}
	dir, err := os.MkdirTemp("", "vigil-topo-")
	if err != nil {
		tb.Fatalf("testredis: %v", err)
	}
	t := &Topology{kind: kind, dir: dir}
	tb.Cleanup(func() {
		_ = exec.Command(script, string(kind), "stop", dir).Run()
		os.RemoveAll(dir)
	})
	cmd := exec.Command(script, string(kind), "start", dir)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testredis: start %s: %v\n%s", kind, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		tb.Fatalf("testredis: %v", err)
	}
	t.url = strings.TrimSpace(string(b))
	return t
}

// repoFile finds rel in the module root above the working directory.
func repoFile(rel string) (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, rel), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod above the working directory")
		}
		d = parent
	}
}

// URL is the redis+cluster:// or redis+sentinel:// URL.
func (t *Topology) URL() string { return t.url }

// Client returns a go-redis client for the topology, closed at cleanup.
func (t *Topology) Client(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	// Vigil's URL with the marker dropped is what go-redis parses.
	inner := strings.Replace(t.url, "+"+string(t.kind), "", 1)
	var c redis.UniversalClient
	switch t.kind {
	case Cluster:
		o, err := redis.ParseClusterURL(inner)
		if err != nil {
			tb.Fatalf("testredis: %v", redactErr(err, inner))
		}
		c = redis.NewClusterClient(o)
	default:
		o, err := redis.ParseFailoverURL(inner)
		if err != nil {
			tb.Fatalf("testredis: %v", redactErr(err, inner))
		}
		c = redis.NewFailoverClient(o)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix unique to this call (see Server.Prefix); on
// a shared topology the keys under it are deleted at cleanup.
func (t *Topology) Prefix(tb testing.TB) string {
	p := uniquePrefix(tb)
	if t.dir == "" {
		c := t.Client(tb)
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			del := func(ctx context.Context, c *redis.Client) error {
				iter := c.Scan(ctx, 0, "{"+p+"}:*", 500).Iterator()
				for iter.Next(ctx) {
					c.Del(ctx, iter.Val())
				}
				return nil
			}
			switch cc := c.(type) {
			case *redis.ClusterClient:
				_ = cc.ForEachMaster(ctx, del)
			case *redis.Client:
				_ = del(ctx, cc)
			}
		})
	}
	return p
}

// MasterFor returns host:port of the master that holds key now.
func (t *Topology) MasterFor(tb testing.TB, key string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch c := t.Client(tb).(type) {
	case *redis.ClusterClient:
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			tb.Fatalf("testredis: master for %q: %v", key, err)
		}
		return m.Options().Addr
	default:
		q := strings.Replace(t.url, "redis+sentinel://", "redis://", 1)
		o, err := redis.ParseFailoverURL(q)
		if err != nil {
			tb.Fatal(err)
		}
		s := redis.NewSentinelClient(&redis.Options{Addr: o.SentinelAddrs[0]})
		defer s.Close()
		addr, err := s.GetMasterAddrByName(ctx, o.MasterName).Result()
		if err != nil || len(addr) != 2 {
			tb.Fatalf("testredis: sentinel master: %v %v", addr, err)
		}
		return net.JoinHostPort(addr[0], addr[1])
	}
}

// Kill SIGKILLs the server listening on addr (host:port), as a crash
// would. Only a topology from StartTopology can be killed.
func (t *Topology) Kill(tb testing.TB, addr string) {
	tb.Helper()
	t.Signal(tb, addr, syscall.SIGKILL)
	_, port, _ := net.SplitHostPort(addr)
	os.Remove(filepath.Join(t.dir, port+".pid"))
}

// Signal sends sig to the server listening on addr: SIGSTOP and SIGCONT
// freeze and thaw it (a replica that stops acknowledging). Only a topology
// from StartTopology can be signalled.
func (t *Topology) Signal(tb testing.TB, addr string, sig syscall.Signal) {
	tb.Helper()
	if t.dir == "" {
		tb.Fatal("testredis: Kill and Signal need a topology from StartTopology")
	}
	_, port, _ := net.SplitHostPort(addr)
	pidFile := filepath.Join(t.dir, port+".pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		tb.Fatalf("testredis: no server on %s: %v", addr, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		tb.Fatalf("testredis: pid file %s: %v", pidFile, err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		tb.Fatalf("testredis: signal %s: %v", addr, err)
	}
}

// Replica returns host:port of a replica of the master at addr.
func (t *Topology) Replica(tb testing.TB, master string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: master})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		tb.Fatalf("testredis: INFO replication of %s: %v", master, err)
	}
	// slave0:ip=127.0.0.1,port=6380,state=online,...
	for _, line := range strings.Split(info, "\n") {
		if !strings.HasPrefix(line, "slave0:") {
			continue
		}
		var ip, port string
		for _, f := range strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "slave0:")), ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "ip":
				ip = v
			case "port":
				port = v
			}
		}
		return net.JoinHostPort(ip, port)
	}
	tb.Fatalf("testredis: %s has no replica:\n%s", master, info)
	return ""
}
