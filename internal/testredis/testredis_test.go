package testredis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func client(t *testing.T, s *Server) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestStartAnswersPing(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client(t, s).Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p1, p2 := s.Prefix(t), s.Prefix(t)
	if p1 == p2 || !strings.HasPrefix(p1, "vigiltest:TestStartAnswersPing:") {
		t.Errorf("prefixes %q, %q", p1, p2)
	}
}

func TestRestartKeepsAOFData(t *testing.T) {
	s := StartServer(t, Config{AppendOnly: true, Password: "s3cret/with:odd@chars"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := client(t, s)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("Ping succeeded while the server was stopped")
	}
	s.Stop() // idempotent
	s.Restart()
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after restart: %q %v\n%s", got, err, s.Logs())
	}
	s.Kill()
	s.Restart()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("after kill and restart: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	s := StartServer(t, Config{UnixSocket: true})
	opts, err := redis.ParseURL("unix://" + s.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// fakeTB records Skip and Fatal instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped = args[0].(string) }
func (f *fakeTB) Fatal(args ...any) { f.failed = args[0].(string) }

func TestSkipOrFail(t *testing.T) {
	t.Setenv("VIGIL_REQUIRE_INTEGRATION", "")
	f := &fakeTB{TB: t}
	skipOrFail(f, "no redis")
	if f.skipped != "no redis" || f.failed != "" {
		t.Errorf("without VIGIL_REQUIRE_INTEGRATION: skipped %q failed %q", f.skipped, f.failed)
	}
	t.Setenv("VIGIL_REQUIRE_INTEGRATION", "1")
	f = &fakeTB{TB: t}
	skipOrFail(f, "no redis")
	if f.skipped != "" || !strings.HasPrefix(f.failed, "no redis") {
		t.Errorf("with VIGIL_REQUIRE_INTEGRATION=1: skipped %q failed %q", f.skipped, f.failed)
	}
}
