package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// Messages "in doubt" are those a sender may have handed to Slack without
// recording it (a crash, a lost answer). These tests make Slack take a
// message and lose the answer (HTTP 503 after the message is stored), which
// leaves it marked as sending in the engine's store exactly as a replica
// killed mid-send does, and check what the outbox's next try posts.

// wantMetadata checks that p carries Vigil's metadata for delivery id,
// as part n of parts.
func wantMetadata(t *testing.T, p posted, id string, n, parts int) {
	t.Helper()
	payload, _ := p.Metadata["event_payload"].(map[string]any)
	if p.Metadata["event_type"] != metadataEventType || payload["id"] != metadataID(id) ||
		payload["part"] != float64(n) || payload["parts"] != float64(parts) {
		t.Errorf("post %q carries metadata %v, want id %s part %d of %d", p.TS, p.Metadata, metadataID(id), n, parts)
	}
}

// retryRound moves the fake clock past the outbox's backoff and the send
// lease, so the message in doubt is looked at again.
func retryRound(t *testing.T, r *rig) {
	t.Helper()
	if err := r.engine.AdvanceTo(context.Background(), r.clock, r.clock.Now().Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// lostAnswer makes chat.postMessage call n keep the message but answer 503.
func lostAnswer(f *fakeSlack, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tookThenFailed = func(call int) (int, string) {
		if call == n {
			return http.StatusServiceUnavailable, "upstream timeout"
		}
		return 0, ""
	}
}

// refused makes chat.postMessage call n fail without keeping the message.
func refused(f *fakeSlack, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failPost = func(call int, _ string) (int, http.Header, string) {
		if call == n {
			return http.StatusServiceUnavailable, nil, "down"
		}
		return 0, nil, ""
	}
}

// postedAgain posts id once more: a no-op if the outbox recorded it as sent.
func postedAgain(t *testing.T, r *rig, id string, to bot.Destination) {
	t.Helper()
	ctx := context.Background()
	if err := r.engine.Post(ctx, id, to, bot.Text("again")); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	r.slack.noPost(t)
}

func TestInDoubtDeliveredIsNotPostedAgain(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		to     func(r *rig) bot.Destination
		lookup string
	}{
		{"room", func(*rig) bot.Destination { return bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}) }, "conversations.history"},
		{"thread", func(r *rig) bot.Destination {
			// A thread root by someone else, with a reply by Vigil for
			// another message before it.
			r.slack.seed(posted{Channel: chanSecurity, TS: "1767603600.500000", From: userAlice, Text: "root"})
			return bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{ID: "1767603600.500000"})
		}, "conversations.replies"},
		{"dm", func(r *rig) bot.Destination {
			alice, _ := r.engine.Directory().ByName("alice")
			to, ok := r.engine.DMFor(alice, bot.AdapterSlack)
			if !ok {
				t.Fatal("no DM for alice")
			}
			return to
		}, "conversations.history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := socketRig(t, rigOptions{})
			to := tc.to(r)
			lostAnswer(r.slack, 2)
			if err := r.engine.Post(ctx, "before", to, bot.Text("an earlier message")); err != nil {
				t.Fatal(err)
			}
			if err := r.engine.Post(ctx, "report-R-7", to, bot.Message{Text: "R-7: heap overflow", Sensitive: true}); err != nil {
				t.Fatal(err)
			}
			r.engine.Step(ctx)
			wantMetadata(t, r.slack.nextPost(t), "before", 1, 1)
			first := r.slack.nextPost(t) // Slack has it; Vigil heard 503
			wantMetadata(t, first, "report-R-7", 1, 1)

			retryRound(t, r)
			r.slack.noPost(t)
			if n := r.slack.count("chat.postMessage"); n != 2 {
				t.Errorf("chat.postMessage called %d times, want 2: the message in doubt was already in Slack", n)
			}
			if r.slack.count(tc.lookup) == 0 {
				t.Errorf("the outbox did not look with %s", tc.lookup)
			}
			// Recorded as sent: the same id is not posted again, and the
			// conversation goes on.
			postedAgain(t, r, "report-R-7", to)
			if err := r.engine.Post(ctx, "after", to, bot.Text("next")); err != nil {
				t.Fatal(err)
			}
			r.engine.Step(ctx)
			if p := r.slack.nextPost(t); p.Text != "next" || p.Channel != first.Channel || p.Thread != first.Thread {
				t.Errorf("next message = %+v", p)
			}
		})
	}
}

func TestInDoubtMissingIsPostedOnce(t *testing.T) {
	ctx := context.Background()
	r, _, _ := socketRig(t, rigOptions{})
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{})
	refused(r.slack, 1) // 503 before Slack stored it: in doubt, not there
	if err := r.engine.Post(ctx, "report-R-8", to, bot.Text("R-8")); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	r.slack.noPost(t)
	retryRound(t, r)
	p := r.slack.nextPost(t)
	wantMetadata(t, p, "report-R-8", 1, 1)
	r.slack.noPost(t)
	if r.slack.count("conversations.history") == 0 {
		t.Error("the message in doubt was sent again without a look")
	}
	postedAgain(t, r, "report-R-8", to)
}

// Look-alikes must not stop a message: metadata another app wrote with the
// same id, Vigil's message for another id, and Vigil's own message with
// this id older than the sent record (an id may be posted anew after it).
func TestInDoubtLookAlikesDoNotCount(t *testing.T) {
	ctx := context.Background()
	r, _, _ := socketRig(t, rigOptions{})
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{})
	md := func(id string) map[string]any {
		return map[string]any{"event_type": metadataEventType, "event_payload": map[string]any{"id": metadataID(id), "part": 1.0, "parts": 1.0}}
	}
	r.slack.seed(posted{Channel: chanSecurity, TS: "1767603600.600001", From: userMallory, Text: "forged", Metadata: md("report-R-9")})
	r.slack.seed(posted{Channel: chanSecurity, TS: "1767603600.600002", From: botUser, Text: "other", Metadata: md("report-R-10")})
	old := fmt.Sprintf("%d.000001", r.clock.Now().Add(-40*24*time.Hour).Unix())
	r.slack.seed(posted{Channel: chanSecurity, TS: old, From: botUser, Text: "R-9 long ago", Metadata: md("report-R-9")})
	r.slack.seed(posted{Channel: chanSecurity, TS: "1767603600.600003", From: botUser, Text: "bad part", Metadata: map[string]any{
		"event_type": metadataEventType, "event_payload": map[string]any{"id": metadataID("report-R-9"), "part": "1", "parts": 1.0}}})
	refused(r.slack, 1)
	if err := r.engine.Post(ctx, "report-R-9", to, bot.Text("R-9")); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	retryRound(t, r)
	if p := r.slack.nextPost(t); p.Text != "R-9" {
		t.Fatalf("post = %+v, want R-9 sent", p)
	}
	r.slack.noPost(t)
}

// A look-up that fails for a reason that may pass is tried again later;
// the message is not sent blindly meanwhile.
func TestInDoubtLookupOutageWaits(t *testing.T) {
	ctx := context.Background()
	r, _, _ := socketRig(t, rigOptions{})
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{})
	lostAnswer(r.slack, 1)
	r.slack.mu.Lock()
	r.slack.failHistory = func(n int) (int, string) {
		switch n {
		case 1:
			return http.StatusServiceUnavailable, ""
		case 2:
			return http.StatusOK, `{"ok":false,"error":"ratelimited"}`
		}
		return 0, ""
	}
	r.slack.mu.Unlock()
	if err := r.engine.Post(ctx, "report-R-11", to, bot.Text("R-11")); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	r.slack.nextPost(t)
	for range 3 {
		retryRound(t, r)
	}
	r.slack.noPost(t)
	if n := r.slack.count("conversations.history"); n < 3 {
		t.Errorf("conversations.history called %d times, want the check retried until it answers", n)
	}
	if n := r.slack.count("chat.postMessage"); n != 1 {
		t.Errorf("chat.postMessage called %d times, want 1", n)
	}
}

// A look-up Slack refuses for good (the app lacks the history scope) must
// not keep a message from being delivered: it is sent again.
func TestInDoubtLookupRefusedSendsAgain(t *testing.T) {
	ctx := context.Background()
	r, _, _ := socketRig(t, rigOptions{})
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{})
	refused(r.slack, 1)
	r.slack.mu.Lock()
	r.slack.failHistory = func(int) (int, string) { return http.StatusOK, `{"ok":false,"error":"missing_scope"}` }
	r.slack.mu.Unlock()
	if err := r.engine.Post(ctx, "report-R-12", to, bot.Text("R-12")); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	retryRound(t, r)
	if p := r.slack.nextPost(t); p.Text != "R-12" {
		t.Fatalf("post = %+v", p)
	}
}

// bigMessage renders as several Slack messages (more than 50 blocks).
func bigMessage() bot.Message {
	var m bot.Message
	for i := range 1200 {
		m.Fields = append(m.Fields, bot.Field{Label: fmt.Sprintf("F%d", i), Value: "v"})
	}
	return m
}

func TestInDoubtSplitMessage(t *testing.T) {
	ctx := context.Background()
	parts := len(render(bigMessage()))
	if parts < 3 {
		t.Fatalf("the test message renders as %d messages, want at least 3", parts)
	}
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{})

	t.Run("all parts there", func(t *testing.T) {
		r, _, _ := socketRig(t, rigOptions{})
		lostAnswer(r.slack, parts)
		if err := r.engine.Post(ctx, "big", to, bigMessage()); err != nil {
			t.Fatal(err)
		}
		r.engine.Step(ctx)
		for i := 1; i <= parts; i++ {
			wantMetadata(t, r.slack.nextPost(t), "big", i, parts)
		}
		retryRound(t, r)
		r.slack.noPost(t)
		postedAgain(t, r, "big", to)
	})

	t.Run("first parts there", func(t *testing.T) {
		r, _, _ := socketRig(t, rigOptions{})
		refused(r.slack, 3) // parts 1 and 2 in Slack, 3 never arrived
		if err := r.engine.Post(ctx, "big", to, bigMessage()); err != nil {
			t.Fatal(err)
		}
		r.engine.Step(ctx)
		first := r.slack.nextPost(t)
		wantMetadata(t, first, "big", 1, parts)
		wantMetadata(t, r.slack.nextPost(t), "big", 2, parts)
		r.slack.noPost(t)
		retryRound(t, r)
		// Only the rest, in order: every part shows once.
		for i := 3; i <= parts; i++ {
			wantMetadata(t, r.slack.nextPost(t), "big", i, parts)
		}
		r.slack.noPost(t)
		postedAgain(t, r, "big", to)
	})
}

func TestWasDeliveredDirect(t *testing.T) {
	ctx := context.Background()
	r, _, _ := socketRig(t, rigOptions{})
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{})
	msg := bot.Text("hello")
	msg.DeliveryID = "id with\nodd ✓ characters <!channel>"
	ref, err := r.adapter.Send(ctx, to, msg)
	if err != nil {
		t.Fatal(err)
	}
	r.slack.nextPost(t)
	got, found, err := r.adapter.WasDelivered(ctx, to, msg.DeliveryID)
	if err != nil || !found || got != ref || got.Room != slackRoom(chanSecurity) {
		t.Errorf("WasDelivered = %+v, %v, %v; want %+v (with its room), true", got, found, err, ref)
	}
	if _, found, err := r.adapter.WasDelivered(ctx, to, "never sent"); found || err != nil {
		t.Errorf("WasDelivered(never sent) = %v, %v", found, err)
	}
	// A message with no delivery id (a direct reply) carries no metadata.
	if _, err := r.adapter.Send(ctx, to, bot.Text("plain")); err != nil {
		t.Fatal(err)
	}
	if p := r.slack.nextPost(t); p.Metadata != nil {
		t.Errorf("a reply with no delivery id carries metadata %v", p.Metadata)
	}
	r.slack.mu.Lock()
	r.slack.failHistory = func(int) (int, string) { return http.StatusBadGateway, "" }
	r.slack.mu.Unlock()
	if _, _, err := r.adapter.WasDelivered(ctx, to, msg.DeliveryID); !errors.Is(err, bot.ErrUnavailable) {
		t.Errorf("WasDelivered during an outage: %v, want ErrUnavailable", err)
	}
}
