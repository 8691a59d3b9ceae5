package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/storetest"
)

func newStore(tb testing.TB, srv *testredis.Server) *Store {
	tb.Helper()
	s, err := New(Options{URL: srv.URL(), Prefix: srv.Prefix(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := testredis.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, srv) })
}

func BenchmarkStore(b *testing.B) {
	srv := testredis.Start(b)
	storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return newStore(b, srv) })
}

// BenchmarkRawRoundTrip is one PING on the store's client: the floor under
// every Redis figure of the same run (docs/BENCHMARKS.md prints them side
// by side, so machines can be compared).
func BenchmarkRawRoundTrip(b *testing.B) {
	srv := testredis.Start(b)
	s := newStore(b, srv)
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		if err := s.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// hashTag is the part of key Redis Cluster hashes: the first {...} with
// something in it, or the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// Keys stay under the prefix, carry the prefix as their one hash tag
// whatever the names contain, and names with separators do not collide.
func TestKeyLayout(t *testing.T) {
	s, err := New(Options{URL: "redis://127.0.0.1:1", Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases := map[string]string{
		s.b.docKeys("reports", "r1")[0]: "{p}:doc:reports:d:r1",
		s.b.docKeys("reports", "r1")[1]: "{p}:doc:reports:ids",
		s.b.docKeys("a}b", "x")[0]:      "{p}:doc:a}b:d:x",
		s.b.docKeys("50%", "{x}")[0]:    "{p}:doc:50%25:d:{x}",
		s.b.docKeys("a:d:b", "c")[0]:    "{p}:doc:a%3Ad%3Ab:d:c",
		s.b.docKeys("a", "b:d:c")[0]:    "{p}:doc:a:d:b:d:c",
		s.b.queueKeys("jobs")[0]:        "{p}:queue:jobs:z",
		s.b.queueKeys("a:z")[1]:         "{p}:queue:a%3Az:due",
		s.b.setKey("reports:open"):      "{p}:set:reports%3Aopen",
		s.b.counterKey("report-id"):     "{p}:counter:report-id",
		s.b.key("lease", "leader"):      "{p}:lease:leader",
		s.b.key("log", "audit"):         "{p}:log:audit",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	// Whatever an attacker puts in a name, every key hashes on the prefix
	// alone, so one script may touch any of them on Redis Cluster.
	for _, name := range []string{"x", "{", "}", "{}", "{a}", "}{b}", "%7B", ":", "a:{b}:c"} {
		keys := append(s.b.docKeys(name, name), s.b.queueKeys(name)...)
		keys = append(keys, s.b.setKey(name), s.b.counterKey(name), s.b.key("seen", name), s.b.key("log", name), s.b.key("lease", name))
		for _, k := range keys {
			if tag := hashTag(k); tag != "p" {
				t.Errorf("key %q (name %q) hashes on %q, want the prefix", k, name, tag)
			}
		}
	}
	if _, err := New(Options{URL: "redis://x", Prefix: "a{b}"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("prefix with braces: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url, mode, desc string
		check           func(t *testing.T, c *config)
	}{
		{url: "redis://localhost", mode: modeSingle, desc: "redis localhost:6379 db 0"},
		{url: "redis://:pw@10.0.0.1:6380/2", mode: modeSingle, desc: "redis 10.0.0.1:6380 db 2", check: func(t *testing.T, c *config) {
			if c.single.Password != "pw" {
				t.Errorf("password not parsed")
			}
		}},
		{url: "rediss://user:pw@redis.example.org:6390", mode: modeSingle, desc: "redis redis.example.org:6390 db 0 (TLS)", check: func(t *testing.T, c *config) {
			if c.single.TLSConfig == nil || c.single.TLSConfig.ServerName != "redis.example.org" || c.single.Username != "user" {
				t.Errorf("TLS/user not set: %+v", c.single)
			}
		}},
		{url: "unix:///run/redis/redis.sock?db=3", mode: modeSingle, desc: "redis unix socket /run/redis/redis.sock db 3"},
		{url: "redis+sentinel://:sentpw@s1:26379/1?master_name=mymaster&addr=s2:26379&addr=s3:26379&password=datapw", mode: modeSentinel,
			desc: `redis sentinel master "mymaster" via s1:26379,s2:26379,s3:26379 db 1`, check: func(t *testing.T, c *config) {
				if c.failover.SentinelPassword != "sentpw" || c.failover.Password != "datapw" {
					t.Errorf("passwords: sentinel %q data %q", c.failover.SentinelPassword, c.failover.Password)
				}
			}},
		{url: "redis+sentinel://:sentpw@s1:26379,s2:26379,s3:26379/mymaster/1", mode: modeSentinel,
			desc: `redis sentinel master "mymaster" via s1:26379,s2:26379,s3:26379 db 1`},
		{url: "redis+cluster://n1:7000,n2:7001,n3:7002", mode: modeCluster, desc: "redis cluster n1:7000,n2:7001,n3:7002"},
		{url: "rediss+sentinel://s1:26379?master_name=m", mode: modeSentinel, desc: `redis sentinel master "m" via s1:26379 db 0 (TLS)`},
		{url: "redis+cluster://:pw@n1:7000?addr=n2:7001&addr=n3:7002&dial_timeout=5s", mode: modeCluster,
			desc: "redis cluster n1:7000,n2:7001,n3:7002", check: func(t *testing.T, c *config) {
				if c.cluster.DialTimeout != 5*time.Second {
					t.Errorf("dial_timeout from URL = %v", c.cluster.DialTimeout)
				}
				if c.cluster.ReadTimeout != 750*time.Millisecond {
					t.Errorf("read timeout = %v, want Options.Timeout", c.cluster.ReadTimeout)
				}
			}},
		{url: "REDISS+CLUSTER://n1:7000", mode: modeCluster, desc: "redis cluster n1:7000 (TLS)"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := parseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			c.applyTimeouts(750 * time.Millisecond)
			if c.mode != tt.mode {
				t.Errorf("mode %q, want %q", c.mode, tt.mode)
			}
			if d := c.describe(); d != tt.desc {
				t.Errorf("describe %q, want %q", d, tt.desc)
			}
			if strings.Contains(c.describe(), "pw") {
				t.Errorf("describe leaks a password: %q", c.describe())
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			// New builds the client without any I/O (these hosts do not
			// exist) and closes cleanly.
			s, err := New(Options{URL: tt.url, Timeout: 750 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	bad := []string{
		"",
		"localhost:6379",
		"http://localhost",
		"redis+sentinel://:hunter2@s1:26379", // no master_name
		"redis+sentinel://:hunter2@s1:26379,,s2/m",      // empty host in the list
		"redis://:hunter2@host:notaport",                // url.Parse error, which quotes the URL
		"redis://:hunter2@host/x/y",                     // bad path
		"redis://:hunter2@host?bogus_option=1",          // unknown option
		"redis+cluster://:hunter2@host?addr=nonsense",   // bad addr
		"redis+nosuch://:hunter2@host",                  // unknown marker
		"unix://:hunter2@",                              // empty socket path
		"redis://:hunter2@host?dial_timeout=forever",    // bad duration
		"redis+sentinel://:hunter2@s?master_name=m&x=1", // unknown option
	}
	for _, u := range bad {
		_, err := New(Options{URL: u})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("New(%q): %v, want ErrInvalid", u, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q) error leaks the password: %v", u, err)
		}
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A Redis that is not there is a quick ErrUnavailable, without the password.
func TestUnavailableClosedPort(t *testing.T) {
	addr := closedPort(t)
	s, err := New(Options{URL: "redis://vigil:hunter2@" + addr + "/0", Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if strings.Contains(s.Describe(), "hunter2") || !strings.Contains(s.Describe(), addr) {
		t.Errorf("Describe = %q", s.Describe())
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"Ping": func() error { return s.Ping(ctx) },
		"Get":  func() error { _, err := s.Get(ctx, "c", "x"); return err },
		"Put":  func() error { _, err := s.Put(ctx, "c", "x", nil, store.NewDoc); return err },
		"ClaimDue": func() error {
			_, err := s.ClaimDue(ctx, "q", time.Unix(0, 0), time.Second, 1)
			return err
		},
		"Append": func() error { _, err := s.Append(ctx, "l", nil); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s error leaks the password: %v", name, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v", name, d)
		}
	}
}

func TestWrongPasswordNotLeaked(t *testing.T) {
	srv := testredis.StartServer(t, testredis.Config{Password: "right-one"})
	s, err := New(Options{URL: "redis://:hunter2@" + srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Ping(context.Background())
	if err == nil {
		t.Fatal("Ping with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(s.Describe(), "hunter2") {
		t.Errorf("password leaked: %v / %s", err, s.Describe())
	}
	// The right password works.
	ok, err := New(Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	if err := ok.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Redis going away mid-run gives ErrUnavailable promptly, and the same
// Store recovers once Redis is back.
func TestRedisRestartMidRun(t *testing.T) {
	srv := testredis.StartServer(t, testredis.Config{AppendOnly: true})
	s, err := New(Options{URL: srv.URL(), Prefix: srv.Prefix(t), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Put(ctx, "c", "x", []byte("before"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	start := time.Now()
	_, err = s.Get(ctx, "c", "x")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get while Redis is down: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Get while down took %v", d)
	}
	srv.Restart()
	// Scripts are gone from the restarted server's cache; the store must
	// load them again (EVALSHA falls back to EVAL).
	d, err := s.Get(ctx, "c", "x")
	if err != nil || string(d.Data) != "before" {
		t.Fatalf("Get after restart: %+v %v", d, err)
	}
	if _, err := s.Put(ctx, "c", "x", []byte("after"), d.Version); err != nil {
		t.Fatalf("Put after restart: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUnixSocket(t *testing.T) {
	srv := testredis.StartServer(t, testredis.Config{UnixSocket: true})
	s, err := New(Options{URL: "unix://" + srv.SocketPath(), Prefix: srv.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(s.Describe(), srv.SocketPath()) {
		t.Errorf("Describe = %q", s.Describe())
	}
	if _, err := s.Put(context.Background(), "c", "x", []byte("v"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
}

// Every key a store writes lives under its prefix.
func TestKeysUnderPrefix(t *testing.T) {
	srv := testredis.Start(t)
	prefix := srv.Prefix(t)
	s, err := New(Options{URL: srv.URL(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.Put(ctx, "c", "x", nil, store.NewDoc)
	must(err)
	must(s.SetAdd(ctx, "s", "m"))
	must(s.Schedule(ctx, "q", "k", t0))
	_, err = s.ClaimDue(ctx, "q", t0, time.Minute, 1)
	must(err)
	_, err = s.AcquireLease(ctx, "l", "h", t0, time.Minute)
	must(err)
	_, err = s.MarkSeen(ctx, "k", t0, time.Minute)
	must(err)
	_, err = s.Append(ctx, "log", nil)
	must(err)
	_, err = s.Apply(ctx, store.PutOp("c2", "y", nil, store.NewDoc), store.SetAddOp("s2", "m"), store.ScheduleOp("q", "k2", t0))
	must(err)
	_, err = s.Incr(ctx, "n")
	must(err)
	keys, err := s.b.c.Keys(ctx, "{"+prefix+"}:*").Result()
	must(err)
	// doc x, ids c, set s, queue z/due/held, lease, seen, log, doc y,
	// ids c2, set s2, counter n, the stamps of c, s, c2 and s2.
	if len(keys) != 14 {
		t.Errorf("%d keys under the prefix, want 14: %q", len(keys), keys)
	}
	all, err := s.b.c.Keys(ctx, "*").Result()
	must(err)
	for _, k := range all {
		if strings.Contains(k, prefix) && hashTag(k) != prefix {
			t.Errorf("key %q is not under the hash tag {%s}", k, prefix)
		}
	}
	// The seen key carries a real TTL for garbage collection.
	ttl, err := s.b.c.PTTL(ctx, s.b.key("seen", "k")).Result()
	must(err)
	if ttl <= 0 || ttl > time.Minute+seenGCSlack {
		t.Errorf("seen key PTTL = %v", ttl)
	}
}

// After Redis lost its script cache (a restart, SCRIPT FLUSH), Read's
// scripts are loaded again and each runs once: the event is marked once.
func TestReadAfterScriptFlush(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	defer s.Close()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.Put(ctx, "c", "x", []byte("v"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
	if err := s.b.c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	a, err := s.Read(ctx, store.MarkSeenQuery("e1", t0, time.Hour), store.DocsQuery("c", ""), store.StampQuery("c", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !a[0].First || len(a[1].Docs) != 1 || string(a[1].Docs[0].Data) != "v" || a[2].Stamp != a[1].Stamp || a[2].Stamp == 0 {
		t.Errorf("answers after a script flush: %+v", a)
	}
	a, err = s.Read(ctx, store.MarkSeenQuery("e1", t0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].First {
		t.Error("the event was marked twice")
	}
}
