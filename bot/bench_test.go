package bot_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/internal/testredis"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

func benchEngine(b *testing.B, o bottest.Options) *bottest.Harness {
	h := bottest.New(b, o)
	err := h.Engine.Register(&bot.Command{
		Name: "duty", Summary: "who is on duty", MaxArgs: -1, Roles: []bot.Role{bot.RoleResponder},
		Flags: []bot.FlagSpec{{Name: "weeks"}, {Name: "from"}, {Name: "to"}},
		Sub: []*bot.Command{{Name: "override", MinArgs: 1, MaxArgs: 1, Flags: []bot.FlagSpec{{Name: "from"}, {Name: "to"}},
			Run: func(ctx context.Context, req *bot.Request) error {
				_, err := req.Reply(ctx, bot.Text("ok"))
				return err
			}}},
		Run: func(ctx context.Context, req *bot.Request) error {
			_, err := req.Reply(ctx, bot.Text("ok"))
			return err
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkDispatch: one command through HandleEvent (split, route, flags,
// roles, run, reply through the privacy rule to the adapter), with no store
// access in the command itself.
func BenchmarkDispatch(b *testing.B) {
	h := benchEngine(b, bottest.Options{})
	h.Chat.Fail = nil
	ctx := context.Background()
	ev := bot.Event{Kind: bot.EventCommand, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: "bob"},
		Text: `duty override @carol --from "2026-01-05 09:00" --to 2026-01-12`}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Engine.HandleEvent(ctx, ev)
		if i%1024 == 0 {
			h.Chat.Take()
		}
	}
}

// BenchmarkDispatchDedupRedis adds the per-event dedupe (one MarkSeen) on
// a real Redis: the cost of a Slack event end to end in the engine.
func BenchmarkDispatchDedupRedis(b *testing.B) {
	srv := testredis.Start(b)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := benchEngine(b, bottest.Options{Store: st})
	ctx := context.Background()
	ev := bot.Event{Kind: bot.EventCommand, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: "bob"}, Text: "duty --weeks 4"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev.ID = "ev" + strconv.Itoa(i)
		h.Engine.HandleEvent(ctx, ev)
		if i%1024 == 0 {
			h.Chat.Take()
		}
	}
}

// BenchmarkSplitArgs: the tokenizer alone.
func BenchmarkSplitArgs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bot.SplitArgs(`duty override @carol --from "2026-01-05 09:00" --to 2026-01-12`); err != nil {
			b.Fatal(err)
		}
	}
}
