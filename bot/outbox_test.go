package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/store"
)

var roomDest = bot.ToRoom(bottest.Room, bot.ThreadRef{})

func post(t *testing.T, h *bottest.Harness, id, text string) {
	t.Helper()
	if err := h.Engine.Post(context.Background(), id, roomDest, bot.Text(text)); err != nil {
		t.Fatalf("post %s: %v", id, err)
	}
}

// outage makes the chat fail until told otherwise, counting attempts.
type outage struct {
	mu       sync.Mutex
	down     bool
	err      error
	attempts []time.Time
	clock    interface{ Now() time.Time }
}

func (o *outage) fail(bot.Destination, bot.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down {
		return nil
	}
	o.attempts = append(o.attempts, o.clock.Now())
	return o.err
}

func (o *outage) set(down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
}

func TestOutboxRidesOutAnOutageInOrder(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	o := &outage{down: true, err: fmt.Errorf("slack: %w", bot.ErrUnavailable), clock: h.Clock}
	h.Chat.Fail = o.fail
	for i := 1; i <= 5; i++ {
		post(t, h, fmt.Sprintf("m%d", i), fmt.Sprintf("message %d", i))
	}
	if sent := h.Advance(10 * time.Minute); len(sent) != 0 {
		t.Fatalf("delivered during the outage: %q", bottest.Texts(sent))
	}
	o.mu.Lock()
	attempts := len(o.attempts)
	o.mu.Unlock()
	// Backoff 1s, 2s, 4s ... capped at 5 min: about 10 tries in 10 minutes,
	// and only the head of the conversation is tried (order is kept).
	if attempts < 5 || attempts > 15 {
		t.Errorf("%d attempts in 10 minutes of outage; want backoff, neither a storm nor silence", attempts)
	}
	o.set(false)
	sent := h.Advance(6 * time.Minute)
	want := "message 1\nmessage 2\nmessage 3\nmessage 4\nmessage 5"
	if got := bottest.Joined(sent); got != want {
		t.Errorf("after the outage delivered:\n%s\nwant:\n%s", got, want)
	}
	if more := h.Advance(time.Hour); len(more) != 0 {
		t.Errorf("delivered again: %q", bottest.Texts(more))
	}
}

func TestOutboxHonoursRetryAfter(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	o := &outage{down: true, clock: h.Clock, err: &bot.RetryAfterError{Err: bot.ErrRateLimited, After: 90 * time.Second}}
	h.Chat.Fail = o.fail
	post(t, h, "m1", "hello")
	h.Advance(80 * time.Second)
	o.set(false)
	if sent := h.Advance(5 * time.Second); len(sent) != 0 {
		t.Fatalf("sent %s after the first refusal; Retry-After asked for 90s", h.Clock.Now().Sub(bottest.Start))
	}
	sent := h.Advance(10 * time.Second)
	if len(sent) != 1 || !sent[0].At.Equal(bottest.Start.Add(90*time.Second)) {
		t.Errorf("want one delivery at +90s, got %d at %v", len(sent), func() []time.Time {
			var ts []time.Time
			for _, s := range sent {
				ts = append(ts, s.At)
			}
			return ts
		}())
	}
}

func TestOutboxSendsEachIDOnce(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	post(t, h, "handoff-2026-01-05", "duty passes from alice to bob")
	post(t, h, "handoff-2026-01-05", "duty passes from alice to bob")
	if sent := h.Advance(0); len(sent) != 1 {
		t.Errorf("two posts with one id delivered %d messages", len(sent))
	}
	// A job that runs again after a crash posts the same id again.
	post(t, h, "handoff-2026-01-05", "duty passes from alice to bob")
	if sent := h.Advance(time.Minute); len(sent) != 0 {
		t.Errorf("a re-post of a sent id was delivered again")
	}
}

func TestOutboxSurvivesARestart(t *testing.T) {
	st := bottest.OpenStore(t)
	first := bottest.New(t, bottest.Options{Store: st})
	first.Chat.Fail = func(bot.Destination, bot.Message) error { return bot.ErrUnavailable }
	post(t, first, "r1", "VIG-2026-1 received")
	post(t, first, "r2", "VIG-2026-2 received")
	first.Advance(time.Minute)

	// The process dies; a new one starts on the same store.
	second := bottest.New(t, bottest.Options{Store: st, Clock: first.Clock})
	sent := second.Advance(10 * time.Minute)
	if got := bottest.Joined(sent); got != "VIG-2026-1 received\nVIG-2026-2 received" {
		t.Errorf("after restart delivered %q", got)
	}
}

func TestOutboxSetsAsideRejectedAndGoesOn(t *testing.T) {
	obs := &deadCounter{}
	h := bottest.New(t, bottest.Options{Observer: obs})
	h.Chat.Fail = func(_ bot.Destination, m bot.Message) error {
		if strings.Contains(m.Text, "too big") {
			return fmt.Errorf("msg_too_long: %w", bot.ErrRejected)
		}
		return nil
	}
	post(t, h, "a", "first")
	post(t, h, "b", "too big")
	post(t, h, "c", "third")
	sent := h.Advance(0)
	if len(sent) != 3 || bottest.Joined(sent[:2]) != "first\nthird" {
		t.Fatalf("delivered %q, want the rejected one set aside, the rest sent, then the team told", bottest.Texts(sent))
	}
	notice := sent[2].Msg.Plain()
	for _, want := range []string{"could not be delivered", "b", "test:security", "msg_too_long"} {
		if !strings.Contains(notice, want) {
			t.Errorf("the team's notice does not say %q:\n%s", want, notice)
		}
	}
	entries, _ := h.Engine.Audit().Last(context.Background(), 5)
	if len(entries) == 0 || entries[len(entries)-1].Action != "outbox.dead_letter" || entries[len(entries)-1].Target != "b" {
		t.Errorf("the dead letter is not in the audit log: %+v", entries)
	}
	dead, err := h.Engine.Outbox().DeadLetters(context.Background())
	if err != nil || len(dead) != 1 || dead[0].ID != "b" || dead[0].Reason != bot.DeadRejected || dead[0].Msg.Text != "too big" {
		t.Errorf("dead letters = %+v, %v; want b kept with its content", dead, err)
	}
	if got := obs.get("test/rejected"); got != 1 {
		t.Errorf("dead letters counted %d times, want 1", got)
	}
	if more := h.Advance(24 * time.Hour); len(more) != 0 {
		t.Errorf("more was sent later: %q", bottest.Texts(more))
	}
}

// flakyIndex fails the first batch, as a Redis going away mid-enqueue
// would.
type flakyIndex struct {
	store.Store
	failed bool
}

func (f *flakyIndex) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	if !f.failed {
		f.failed = true
		return nil, fmt.Errorf("redis: %w", store.ErrUnavailable)
	}
	return f.Store.Apply(ctx, ops...)
}

func TestOutboxRepostRepairsAHalfWrittenEnqueue(t *testing.T) {
	st := &flakyIndex{Store: bottest.OpenStore(t)}
	h := bottest.New(t, bottest.Options{Store: st})
	ctx := context.Background()
	if err := h.Engine.Post(ctx, "handoff-1", roomDest, bot.Text("duty passes to bob")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("first post: %v, want the store outage reported", err)
	}
	if sent := h.Advance(time.Minute); len(sent) != 0 {
		t.Fatalf("a half-written post was delivered: %q", bottest.Texts(sent))
	}
	// The caller (a job's retry) posts again: the message goes out, once.
	if err := h.Engine.Post(ctx, "handoff-1", roomDest, bot.Text("duty passes to bob")); err != nil {
		t.Fatal(err)
	}
	if got := bottest.Joined(h.Advance(time.Minute)); got != "duty passes to bob" {
		t.Errorf("after the re-post delivered %q", got)
	}
}

// Messages posted at one instant to different conversations go out in the
// order they were posted (a hand-off: the room first, then the DMs).
func TestOutboxKeepsPostingOrderAcrossConversations(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	dm := func(name string) bot.Destination { return bot.ToUser(bot.UserRef{Adapter: "test", ID: name}) }
	for _, p := range []struct {
		id string
		to bot.Destination
	}{{"room", roomDest}, {"in", dm("bob")}, {"out", dm("alice")}, {"thread", bot.ToRoom(bottest.Room, bot.ThreadRef{ID: "t1"})}} {
		if err := h.Engine.Post(ctx, p.id, p.to, bot.Text(p.id)); err != nil {
			t.Fatal(err)
		}
	}
	if got := bottest.Joined(h.Advance(0)); got != "room\nin\nout\nthread" {
		t.Errorf("delivered in the order %q", strings.ReplaceAll(got, "\n", ","))
	}
}

// A thread root and its replies are posted before the chat service has
// answered; the replies go into the root's thread once it exists, even when
// the root waits out an outage first.
func TestRepliesFollowTheirThreadRoot(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	o := &outage{down: true, err: bot.ErrUnavailable, clock: h.Clock}
	h.Chat.Fail = func(to bot.Destination, m bot.Message) error {
		if m.Text == "VIG-2026-1: XSS in search" {
			return o.fail(to, m)
		}
		return nil
	}
	ctx := context.Background()
	if err := h.Engine.PostRoot(ctx, "report:VIG-2026-1", roomDest, bot.Text("VIG-2026-1: XSS in search")); err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.Post(ctx, "ping", bot.ToThreadOf(bottest.Room, "report:VIG-2026-1"), bot.Text("acknowledge within 48h")); err != nil {
		t.Fatal(err)
	}
	if sent := h.Advance(time.Minute); len(sent) != 0 {
		t.Fatalf("a reply went out before its root: %q", bottest.Texts(sent))
	}
	o.set(false)
	sent := h.Advance(10 * time.Minute)
	if len(sent) != 2 || sent[0].Msg.Text != "VIG-2026-1: XSS in search" {
		t.Fatalf("delivered %q", bottest.Texts(sent))
	}
	ref, ok, err := h.Engine.Outbox().PostedRef(ctx, "report:VIG-2026-1")
	if err != nil || !ok {
		t.Fatalf("root reference: %v %v", ok, err)
	}
	if sent[1].To.Thread.ID != ref.ID || sent[1].To.Room != bottest.Room {
		t.Errorf("reply went to %+v, want the thread of %s", sent[1].To, ref.ID)
	}
}
