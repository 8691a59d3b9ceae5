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
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// deadCounter is an Observer that counts dead letters by adapter/reason.
type deadCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (d *deadCounter) CommandDone(string, bot.Outcome, time.Duration) {}
func (d *deadCounter) JobDone(string, time.Duration, error)           {}
func (d *deadCounter) Delivered(string, error)                        {}
func (d *deadCounter) Intake(string, bool)                            {}
func (d *deadCounter) DeadLettered(adapter, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.counts == nil {
		d.counts = map[string]int{}
	}
	d.counts[adapter+"/"+reason]++
}

func (d *deadCounter) get(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[key]
}

// gate blocks sends of one text until opened, and says when one arrived.
type gate struct {
	text    string
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(text string) *gate {
	return &gate{text: text, entered: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) fail(_ bot.Destination, m bot.Message) error {
	if m.Text == g.text {
		g.once.Do(func() { close(g.entered) })
		<-g.open
	}
	return nil
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second): // a goroutine of this test, not a timing target
		t.Fatalf("timed out waiting for %s", what)
	}
}

// countIDs counts deliveries per text over several recording adapters.
func countTexts(chats ...*bottest.Chat) map[string]int {
	n := map[string]int{}
	for _, c := range chats {
		for _, s := range c.Sent() {
			n[s.Msg.Text]++
		}
	}
	return n
}

// Issue 14, item 6: a message posted while another replica is sending the
// conversation re-arms it; the second replica claims it but must not send
// the message the first is still sending, nor the next one before it.
func TestReArmDuringASendDoesNotLetASecondReplicaSendIt(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(bottest.Start)
	a := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-a"})
	b := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-b"})
	g := newGate("m1")
	a.Chat.Fail = g.fail
	ctx := context.Background()
	post(t, a, "m1", "m1")
	done := make(chan struct{})
	go func() { defer close(done); a.Engine.Step(ctx) }()
	waitFor(t, g.entered, "replica a to start sending m1")

	// b posts the next message (re-arming the conversation) and flushes.
	post(t, b, "m2", "m2")
	b.Engine.Step(ctx)
	clk.Advance(3 * time.Second)
	b.Engine.Step(ctx)
	if sent := b.Chat.Sent(); len(sent) != 0 {
		t.Fatalf("replica b sent %q while replica a was sending m1", bottest.Texts(sent))
	}
	close(g.open)
	waitFor(t, done, "replica a to finish")
	for range 5 {
		clk.Advance(2 * time.Second)
		a.Engine.Step(ctx)
		b.Engine.Step(ctx)
	}
	counts := countTexts(a.Chat, b.Chat)
	if counts["m1"] != 1 || counts["m2"] != 1 {
		t.Errorf("deliveries = %v, want m1 and m2 once each", counts)
	}
	all := append(a.Chat.Sent(), b.Chat.Sent()...)
	var m1At, m2At time.Time
	for _, s := range all {
		switch s.Msg.Text {
		case "m1":
			m1At = s.At
		case "m2":
			m2At = s.At
		}
	}
	if m2At.Before(m1At) {
		t.Errorf("m2 went out at %s, before m1 at %s", m2At, m1At)
	}
}

// checkingChat is a recording adapter with a DeliveryChecker, like Slack's
// history lookup: it knows which delivery ids reached the room.
type checkingChat struct {
	*bottest.Chat
	mu     sync.Mutex
	ids    map[string]bot.MessageRef
	checks int
}

func (c *checkingChat) Send(ctx context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	ref, err := c.Chat.Send(ctx, to, msg)
	if err == nil {
		c.mu.Lock()
		c.ids[msg.DeliveryID] = ref
		c.mu.Unlock()
	}
	return ref, err
}

func (c *checkingChat) WasDelivered(_ context.Context, _ bot.Destination, id string) (bot.MessageRef, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks++
	ref, ok := c.ids[id]
	return ref, ok, nil
}

// noSentRecord loses the "sent" record, as a replica killed between the
// send and its record would.
type noSentRecord struct{ store.Store }

func (n noSentRecord) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	if strings.HasPrefix(key, "sent:") {
		return false, fmt.Errorf("redis: %w", store.ErrUnavailable)
	}
	return n.Store.MarkSeen(ctx, key, now, ttl)
}

// Issue 14: a message in doubt (sent, not recorded) is looked up before it
// is sent again, on an adapter that can; on one that cannot it is sent
// again with the same delivery id, for the platform to deduplicate.
func TestAMessageInDoubtIsCheckedBeforeItIsSentAgain(t *testing.T) {
	for _, checker := range []bool{true, false} {
		t.Run(fmt.Sprintf("checker=%v", checker), func(t *testing.T) {
			st := bottest.OpenStore(t)
			clk := clock.NewFake(bottest.Start)
			crashing := bottest.New(t, bottest.Options{Store: noSentRecord{st}, Clock: clk, Instance: "replica-a"})
			post(t, crashing, "report-1", "VIG-2026-1 received")
			crashing.Engine.Step(context.Background())
			first := crashing.Chat.Sent()
			if len(first) != 1 || first[0].Msg.DeliveryID != "report-1" {
				t.Fatalf("first send: %+v; want one, carrying the outbox id as delivery id", first)
			}

			other := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-b"})
			cc := &checkingChat{Chat: other.Chat, ids: map[string]bot.MessageRef{}}
			if checker {
				// The platform knows the first send (the same room).
				cc.ids["report-1"] = bot.MessageRef{Room: bottest.Room, ID: "t1"}
				other.Engine.AddAdapter(cc)
			}
			sent := other.Advance(10 * time.Minute)
			switch {
			case checker && (len(sent) != 0 || cc.checks != 1):
				t.Errorf("with a checker: sent again %q after %d checks; want it found, not sent", bottest.Texts(sent), cc.checks)
			case !checker && (len(sent) != 1 || sent[0].Msg.DeliveryID != "report-1"):
				t.Errorf("without a checker: sent %+v; want it sent once more with the same delivery id", sent)
			}
			if more := other.Advance(time.Hour); len(more) != 0 {
				t.Errorf("sent again later: %q", bottest.Texts(more))
			}
		})
	}
}

// Issue 14, item 7: a message that keeps failing is set aside after the
// attempt cap, the team is told once, and its conversation moves on.
func TestOutboxGivesUpAfterTheAttemptCapAndTellsTheTeamOnce(t *testing.T) {
	obs := &deadCounter{}
	h := bottest.New(t, bottest.Options{Observer: obs})
	attempts := 0
	h.Chat.Fail = func(to bot.Destination, m bot.Message) error {
		if m.Text == "bad blocks" {
			attempts++
			return errors.New("slack: invalid_blocks")
		}
		return nil
	}
	ctx := context.Background()
	dm := bot.ToUser(bot.UserRef{Adapter: "test", ID: "bob"})
	for _, p := range []struct{ id, text string }{{"d1", "bad blocks"}, {"d2", "after it"}} {
		if err := h.Engine.Post(ctx, p.id, dm, bot.Text(p.text)); err != nil {
			t.Fatal(err)
		}
	}
	sent := h.Advance(12 * time.Hour)
	if attempts != bot.DefaultOutboxMaxAttempts {
		t.Errorf("tried %d times, want the cap of %d", attempts, bot.DefaultOutboxMaxAttempts)
	}
	var notices, after int
	for _, s := range sent {
		switch {
		case s.Msg.Header == "A message could not be delivered":
			notices++
			if s.To.Room != bottest.Room || !strings.Contains(s.Msg.Plain(), "invalid_blocks") || !strings.Contains(s.Msg.Plain(), "d1") {
				t.Errorf("notice to %v says %q", s.To, s.Msg.Plain())
			}
		case s.Msg.Text == "after it":
			after++
		}
	}
	if notices != 1 || after != 1 {
		t.Errorf("notices %d, later message delivered %d times; want 1 and 1: %q", notices, after, bottest.Texts(sent))
	}
	if obs.get("test/max_attempts") != 1 {
		t.Errorf("dead-letter metric: %v", obs.counts)
	}
	if more := h.Advance(48 * time.Hour); len(more) != 0 {
		t.Errorf("sent later: %q", bottest.Texts(more))
	}
}

// Outages (the service cannot be reached) count toward the age cap only:
// a message rides out more failed tries than the attempt cap allows, and
// is set aside when it is older than the age cap (here 3 hours).
func TestOutboxOutageCountsTowardTheAgeCapOnly(t *testing.T) {
	h := bottest.New(t, bottest.Options{Tune: func(o *bot.Options) { o.OutboxMaxAge = 3 * time.Hour }})
	o := &outage{down: true, err: fmt.Errorf("slack: %w", bot.ErrUnavailable), clock: h.Clock}
	h.Chat.Fail = func(to bot.Destination, m bot.Message) error {
		if to.IsDM() {
			return o.fail(to, m)
		}
		return nil
	}
	dm := bot.ToUser(bot.UserRef{Adapter: "test", ID: "bob"})
	if err := h.Engine.Post(context.Background(), "late", dm, bot.Text("hand-off")); err != nil {
		t.Fatal(err)
	}
	if sent := h.Advance(2*time.Hour + 50*time.Minute); len(sent) != 0 {
		t.Fatalf("during the outage: %q", bottest.Texts(sent))
	}
	dead, _ := h.Engine.Outbox().DeadLetters(context.Background())
	if len(dead) != 0 || len(o.attempts) <= bot.DefaultOutboxMaxAttempts {
		t.Fatalf("after %d tries in an outage of 2h50m dead letters are %+v; want more tries than the attempt cap, none set aside", len(o.attempts), dead)
	}
	sent := h.Advance(20 * time.Minute)
	dead, _ = h.Engine.Outbox().DeadLetters(context.Background())
	if len(dead) != 1 || dead[0].Reason != bot.DeadAge {
		t.Fatalf("after 3h10m dead letters = %+v, want the message set aside for age", dead)
	}
	if len(sent) != 1 || !strings.Contains(sent[0].Msg.Plain(), "max_age") {
		t.Errorf("team told %q", bottest.Texts(sent))
	}
}

// Issue 14, item 7: a reply to a thread whose root was set aside does not
// wait forever: it goes to the room with a line saying so.
func TestAReplyToADroppedRootFallsBackToTheRoom(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	h.Chat.Fail = func(_ bot.Destination, m bot.Message) error {
		if m.Text == "VIG-2026-1: XSS" {
			return fmt.Errorf("channel_not_found: %w", bot.ErrRejected)
		}
		return nil
	}
	ctx := context.Background()
	if err := h.Engine.PostRoot(ctx, "report:VIG-2026-1", roomDest, bot.Text("VIG-2026-1: XSS")); err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.Post(ctx, "ack", bot.ToThreadOf(bottest.Room, "report:VIG-2026-1"), bot.Text("acknowledge within 48h")); err != nil {
		t.Fatal(err)
	}
	sent := h.Advance(time.Minute)
	var reply *bottest.Sent
	for i := range sent {
		if strings.Contains(sent[i].Msg.Text, "acknowledge within 48h") {
			reply = &sent[i]
		}
	}
	if reply == nil {
		t.Fatalf("the reply was not delivered: %q", bottest.Texts(sent))
	}
	if !reply.To.Thread.IsZero() || reply.To.Room != bottest.Room || !strings.Contains(reply.Msg.Text, "first message of this thread could not be posted") {
		t.Errorf("reply went to %+v as %q; want the room, with a note", reply.To, reply.Msg.Text)
	}
	if more := h.Advance(time.Hour); len(more) != 0 {
		t.Errorf("sent again: %q", bottest.Texts(more))
	}
}

// Issue 14, item 5: a sensitive message for a configured private room that
// an adapter demoted waits (it is neither refused nor capped) and goes out
// once, when the room is promoted. A room that is not private at all is
// refused at once.
func TestHeldWhileTheRoomIsDemotedThenDeliveredOnce(t *testing.T) {
	// Caps far below the wait: a held message must not be subject to them.
	h := bottest.New(t, bottest.Options{Tune: func(o *bot.Options) { o.OutboxMaxAge, o.OutboxMaxAttempts = 20*time.Minute, 3 }})
	ctx := context.Background()
	h.Engine.DemoteRoom(bottest.Room, "the bot is not in the channel yet")
	secret := bot.Message{Text: "VIG-2026-1: SQL injection in login", Sensitive: true}
	if err := h.Engine.Post(ctx, "report", roomDest, secret); err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.Post(ctx, "leak", bot.ToRoom(bottest.PublicRoom, bot.ThreadRef{}), secret); err != nil {
		t.Fatal(err)
	}
	sent := h.Advance(time.Hour)
	for _, s := range sent {
		if s.Msg.Sensitive {
			t.Fatalf("sensitive content sent to %v while the room was demoted", s.To)
		}
	}
	dead, _ := h.Engine.Outbox().DeadLetters(ctx)
	if len(dead) != 1 || dead[0].ID != "leak" || dead[0].Reason != bot.DeadPrivacy {
		t.Fatalf("dead letters = %+v; want only the message to the public room, refused", dead)
	}
	h.Engine.PromoteRoom(bottest.Room)
	sent = h.Advance(0)
	var got []string
	for _, s := range sent {
		got = append(got, s.Msg.Plain())
	}
	// The notice about the refused one was held too (it goes to the
	// security room); both go out now, the report first.
	if len(sent) != 2 || sent[0].Msg.Text != secret.Text || sent[0].To.Room != bottest.Room {
		t.Fatalf("after promotion sent %q, want the held report (and the held notice)", got)
	}
	if more := h.Advance(time.Hour); len(more) != 0 {
		t.Errorf("sent again: %q", bottest.Texts(more))
	}
}

// Issue 14, item 6: "the security room" resolves when sent. A report root
// and its follow-up queued while no private room is usable go out once one
// is, the follow-up in the root's thread.
func TestTheSecurityRoomResolvesAtDelivery(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	h.Engine.DemoteRoom(bottest.Room, "not invited yet")
	if err := h.Engine.PostRoot(ctx, "report:VIG-2026-7", bot.ToSecurityRoom(), bot.Message{Text: "VIG-2026-7 received", Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.Post(ctx, "report:VIG-2026-7:clock", bot.ToThreadOf(bot.SecurityRoomRef, "report:VIG-2026-7"), bot.Text("acknowledge by Wednesday")); err != nil {
		t.Fatal(err)
	}
	if sent := h.Advance(30 * time.Minute); len(sent) != 0 {
		t.Fatalf("sent with no usable room: %+v", sent)
	}
	h.Engine.PromoteRoom(bottest.Room)
	sent := h.Advance(0)
	if len(sent) != 2 || sent[0].To.Room != bottest.Room || sent[1].To.Room != bottest.Room {
		t.Fatalf("after promotion sent %+v", sent)
	}
	root, ok, err := h.Engine.Outbox().PostedRef(ctx, "report:VIG-2026-7")
	if err != nil || !ok || root.Room != bottest.Room {
		t.Fatalf("root reference %+v %v %v; want it to name the room", root, ok, err)
	}
	if sent[1].To.Thread.ID != root.ID {
		t.Errorf("the follow-up went to %+v, want the root's thread %s", sent[1].To, root.ID)
	}
	if dead, _ := h.Engine.Outbox().DeadLetters(ctx); len(dead) != 0 {
		t.Errorf("dead letters: %+v", dead)
	}
}

// Issue 14, item 9: on shutdown a send under way finishes and is recorded
// although the context is cancelled, so a new process sends nothing again.
func TestGracefulStopRecordsTheSendUnderWay(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(bottest.Start)
	h := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "old"})
	g := newGate("hand-off to bob")
	h.Chat.Fail = g.fail
	post(t, h, "handoff-1", "hand-off to bob")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = h.Engine.Run(ctx) }()
	waitFor(t, g.entered, "the send to start")
	cancel() // SIGTERM
	close(g.open)
	waitFor(t, stopped, "Run to return")
	if n := len(h.Chat.Sent()); n != 1 {
		t.Fatalf("sent %d, want 1", n)
	}
	after := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "new"})
	if sent := after.Advance(time.Hour); len(sent) != 0 {
		t.Errorf("after the restart sent again: %q", bottest.Texts(sent))
	}
}

// The shutdown is bounded: an adapter that does not return by itself is
// cut off after the shutdown timeout, and the message stays queued (in
// doubt) for the next process.
func TestGracefulStopIsBounded(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(bottest.Start)
	h := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "old"})
	entered := make(chan struct{})
	var once sync.Once
	h.Engine.AddAdapter(&stuckChat{entered: entered, once: &once})
	post(t, h, "handoff-1", "hand-off to bob")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = h.Engine.Run(ctx) }()
	waitFor(t, entered, "the send to start")
	cancel()
	// Move the fake clock a second at a time, giving the goroutine that
	// watches the shutdown timeout a moment to see each step, until Run
	// returns. The bound is on fake time; the real wait only bounds a hang.
	giveUp := time.Now().Add(20 * time.Second)
	for running := true; running; {
		select {
		case <-stopped:
			running = false
		case <-time.After(5 * time.Millisecond):
			if time.Now().After(giveUp) {
				t.Fatal("Run did not return after the shutdown timeout")
			}
			clk.Advance(time.Second)
		}
	}
	if waited := clk.Now().Sub(bottest.Start); waited < bot.DefaultShutdownTimeout {
		t.Errorf("Run returned after %s, before the shutdown timeout", waited)
	}
	next := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "new"})
	sent := next.Advance(time.Minute)
	if len(sent) != 1 || sent[0].Msg.DeliveryID != "handoff-1" {
		t.Errorf("the next process sent %+v; want the message in doubt once, same delivery id", sent)
	}
}

// stuckChat never answers until its context ends.
type stuckChat struct {
	entered chan struct{}
	once    *sync.Once
}

func (s *stuckChat) Name() string { return "test" }
func (s *stuckChat) Send(ctx context.Context, _ bot.Destination, _ bot.Message) (bot.MessageRef, error) {
	s.once.Do(func() { close(s.entered) })
	<-ctx.Done()
	return bot.MessageRef{}, fmt.Errorf("test: %w: %w", bot.ErrUnavailable, ctx.Err())
}
