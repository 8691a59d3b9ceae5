package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

func openRedis(t *testing.T, srv *testredis.Server) store.Store {
	t.Helper()
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(t), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Two engines on one real Redis: each job runs exactly once, and a killed
// leader is replaced after its lease runs out.
func TestRedisTwoEnginesRunEachJobOnce(t *testing.T) {
	srv := testredis.Start(t)
	runTwoReplicas(t, openRedis(t, srv))
}

// A Redis that goes away mid-session: commands get a clear reply, nothing
// half-written, and Vigil recovers by itself when Redis returns.
func TestRedisOutageMidSession(t *testing.T) {
	srv := testredis.StartServer(t, testredis.Config{AppendOnly: true})
	st := openRedis(t, srv)
	h := bottest.New(t, bottest.Options{Store: st})
	err := h.Engine.Register(&bot.Command{Name: "note", MinArgs: 1, MaxArgs: 1, Run: func(ctx context.Context, req *bot.Request) error {
		if _, err := st.Put(ctx, "notes", req.Args[0], []byte(req.Args[0]), store.NewDoc); err != nil {
			return err
		}
		if err := req.Record(ctx, "note.add", req.Args[0], ""); err != nil {
			return err
		}
		return req.Replyf(ctx, "noted %s", req.Args[0])
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := only(t, h.Command("bob", "note one")); got != "noted one" {
		t.Fatalf("before the outage: %q", got)
	}
	srv.Stop()
	start := time.Now()
	got := only(t, h.Command("bob", "note two"))
	if !strings.Contains(got, "store is unavailable right now, so nothing was changed") {
		t.Errorf("during the outage: %q", got)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the reply during the outage took %s: it should fail fast, not hang", took)
	}
	srv.Restart()
	// The same engine and client, no reconnect by hand.
	if got := only(t, h.Command("bob", "note three")); got != "noted three" {
		t.Errorf("after Redis returned: %q", got)
	}
	ids, err := st.List(context.Background(), "notes")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "one,three" {
		t.Errorf("notes after the outage = %v, want one and three (two was refused)", ids)
	}
}
