package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

func slackRoom(id string) bot.RoomRef { return bot.RoomRef{Adapter: bot.AdapterSlack, ID: id} }

func TestRoomChecksDemoteAndRefuseSensitive(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{rooms: []string{chanSecurity, chanPublic, chanOutside, chanGone}})
	ctx := context.Background()
	for id, want := range map[string]bool{chanSecurity: true, chanPublic: false, chanOutside: false, chanGone: false} {
		if got := r.engine.IsPrivate(slackRoom(id)); got != want {
			t.Errorf("IsPrivate(%s) = %v, want %v", id, got, want)
		}
	}
	// Durable sensitive posts: only the real security channel gets one.
	for _, id := range []string{chanPublic, chanOutside, chanSecurity} {
		if err := r.engine.Post(ctx, "report-"+id, bot.ToRoom(slackRoom(id), bot.ThreadRef{}), bot.Message{Text: "details of R-1", Sensitive: true}); err != nil {
			t.Fatal(err)
		}
	}
	r.engine.Step(ctx)
	if p := r.slack.nextPost(t); p.Channel != chanSecurity {
		t.Fatalf("sensitive message went to %s", p.Channel)
	}
	r.slack.noPost(t)

	// A sensitive reply in the public channel becomes a pointer.
	conn.send(t, commandEnvelope("env-1", chanPublic, userAlice, "secret", "trig-1"))
	conn.ack(t, "env-1")
	p := r.slack.nextPost(t)
	if p.Channel != chanPublic || strings.Contains(p.Text, "heap overflow") || !strings.Contains(p.Text, "only shown in the private security room") {
		t.Errorf("reply in a public channel = %+v", p)
	}
}

func TestRateLimitDelaysButKeepsOrder(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	r.slack.mu.Lock()
	r.slack.failPost = func(n int, channel string) (int, http.Header, string) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, ""
		}
		if n == 2 {
			return http.StatusServiceUnavailable, nil, "down"
		}
		return 0, nil, ""
	}
	r.slack.mu.Unlock()
	to := bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{ID: "1767603600.000100"})
	for i := 1; i <= 3; i++ {
		if err := r.engine.Post(ctx, fmt.Sprintf("m%d", i), to, bot.Text(fmt.Sprintf("message %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	start := r.clock.Now()
	r.engine.Step(ctx) // 429: nothing goes, nothing is lost
	r.slack.noPost(t)
	if err := r.engine.AdvanceTo(ctx, r.clock, start.Add(29*time.Second)); err != nil {
		t.Fatal(err)
	}
	r.slack.noPost(t) // Retry-After is honoured
	if err := r.engine.AdvanceTo(ctx, r.clock, start.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	// At 30s the 503 (an outage) comes, and a second later all three go.
	for i := 1; i <= 3; i++ {
		p := r.slack.nextPost(t)
		if p.Text != fmt.Sprintf("message %d", i) || p.Thread != "1767603600.000100" {
			t.Fatalf("post %d = %+v", i, p)
		}
	}
	r.slack.noPost(t)
	if r.slack.count("chat.postMessage") != 5 {
		t.Errorf("chat.postMessage called %d times, want 5 (one 429, one 503, three sends): the adapter must not retry by itself", r.slack.count("chat.postMessage"))
	}
}

func TestPermanentErrorIsDroppedOthersGo(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	r.slack.mu.Lock()
	r.slack.failPost = func(n int, channel string) (int, http.Header, string) {
		if channel == "CNOPE" {
			return http.StatusOK, nil, `{"ok":false,"error":"channel_not_found"}`
		}
		return 0, nil, ""
	}
	r.slack.mu.Unlock()
	if err := r.engine.Post(ctx, "bad", bot.ToRoom(slackRoom("CNOPE"), bot.ThreadRef{}), bot.Text("lost cause")); err != nil {
		t.Fatal(err)
	}
	if err := r.engine.Post(ctx, "good", bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), bot.Text("fine")); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	if p := r.slack.nextPost(t); p.Text != "fine" {
		t.Fatalf("post = %+v", p)
	}
	if err := r.engine.AdvanceTo(ctx, r.clock, r.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The team is told once, in the security room, and the rejected
	// message is not retried.
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "could not be delivered") {
		t.Errorf("after the rejection posted %+v, want the team's dead-letter notice", p)
	}
	if n := r.slack.count("chat.postMessage"); n != 3 {
		t.Errorf("chat.postMessage called %d times, want 3 (bad once, good, the notice): a rejected message is not retried", n)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err   error
		want  error
		after time.Duration
	}{
		{&slack.RateLimitedError{RetryAfter: 7 * time.Second}, bot.ErrRateLimited, 7 * time.Second},
		{slack.StatusCodeError{Code: 503, Status: "503"}, bot.ErrUnavailable, 0},
		{slack.StatusCodeError{Code: 429, Status: "429"}, bot.ErrRateLimited, 0},
		{slack.StatusCodeError{Code: 404, Status: "404"}, bot.ErrRejected, 0},
		{slack.SlackErrorResponse{Err: "ratelimited"}, bot.ErrRateLimited, 0},
		{slack.SlackErrorResponse{Err: "internal_error"}, bot.ErrUnavailable, 0},
		{slack.SlackErrorResponse{Err: "not_in_channel"}, bot.ErrRejected, 0},
		{slack.SlackErrorResponse{Err: "msg_too_long"}, bot.ErrRejected, 0},
		{slack.SlackErrorResponse{Err: "invalid_blocks"}, bot.ErrRejected, 0},
		{fmt.Errorf("post: %w", errors.New("dial tcp: connection refused")), bot.ErrUnavailable, 0},
		{context.DeadlineExceeded, bot.ErrUnavailable, 0},
	}
	for _, tt := range tests {
		got := classify("chat.postMessage", tt.err)
		if !errors.Is(got, tt.want) {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
		var ra *bot.RetryAfterError
		if tt.after > 0 && (!errors.As(got, &ra) || ra.After != tt.after) {
			t.Errorf("classify(%v) = %v, want RetryAfter %s", tt.err, got, tt.after)
		}
	}
}

func TestDMsAndUserInfo(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	alice, _ := r.engine.Directory().ByName("alice")
	to, ok := r.engine.DMFor(alice, bot.AdapterSlack)
	if !ok {
		t.Fatal("no Slack DM destination for alice")
	}
	for i := range 2 {
		if err := r.engine.Post(ctx, fmt.Sprintf("dm%d", i), to, bot.Message{Text: fmt.Sprintf("psst %d", i), Sensitive: true}); err != nil {
			t.Fatal(err)
		}
	}
	r.engine.Step(ctx)
	for i := range 2 {
		if p := r.slack.nextPost(t); p.Channel != "D"+userAlice || p.Text != fmt.Sprintf("psst %d", i) {
			t.Fatalf("DM %d = %+v", i, p)
		}
	}
	if n := r.slack.count("conversations.open"); n != 1 {
		t.Errorf("conversations.open called %d times, want 1 (cached)", n)
	}
	for range 3 {
		info, err := r.engine.LookupUser(ctx, bot.UserRef{Adapter: bot.AdapterSlack, ID: userAlice})
		if err != nil || info.Name != "Alice" || info.Timezone != "Europe/Paris" {
			t.Fatalf("LookupUser = %+v, %v", info, err)
		}
	}
	if n := r.slack.count("users.info"); n != 1 {
		t.Errorf("users.info called %d times, want 1 (cached)", n)
	}
	r.clock.Advance(2 * time.Hour)
	if _, err := r.adapter.User(ctx, userAlice); err != nil || r.slack.count("users.info") != 2 {
		t.Errorf("after the cache expired: err %v, %d calls", err, r.slack.count("users.info"))
	}
	if _, err := r.adapter.User(ctx, "UNOBODY"); !errors.Is(err, bot.ErrRejected) {
		t.Errorf("unknown user: %v, want ErrRejected", err)
	}
}

func TestHugeMessageSplitAndSent(t *testing.T) {
	var text strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&text, "line %04d of the report with some words ", i)
		if i%40 == 0 {
			text.WriteString("\n```\ncode block " + fmt.Sprint(i) + "\n")
		}
		if i%40 == 20 {
			text.WriteString("\n```\n")
		}
		if i%7 == 0 {
			text.WriteString("\n")
		}
	}
	msg := bot.Message{Header: strings.Repeat("Very long header ", 20), Text: text.String() + " ünïcödé <!channel> end"}
	for i := range 105 {
		msg.Fields = append(msg.Fields, bot.Field{Label: fmt.Sprintf("F%d", i), Value: strings.Repeat("v", 2500)})
	}
	for i := range 60 {
		msg.Buttons = append(msg.Buttons, bot.Button{Label: strings.Repeat("Press ", 20), Action: "choose", Value: fmt.Sprint(i)})
	}
	msg.Context = "ctx"
	parts := render(msg)
	if len(parts) < 3 {
		t.Fatalf("%d messages, want the content spread over several", len(parts))
	}
	var sections []string
	fields, buttons := 0, 0
	for i, p := range parts {
		if len(p.blocks) > maxBlocks {
			t.Errorf("message %d has %d blocks", i, len(p.blocks))
		}
		if p.text == "" || len(p.text) > maxFallback {
			t.Errorf("message %d fallback has %d characters", i, len(p.text))
		}
		for _, b := range p.blocks {
			switch b := b.(type) {
			case *slack.HeaderBlock:
				if len(b.Text.Text) > maxHeader {
					t.Errorf("header of %d characters", len(b.Text.Text))
				}
			case *slack.SectionBlock:
				if b.Text != nil {
					if len(b.Text.Text) > maxSectionText {
						t.Errorf("section of %d characters", len(b.Text.Text))
					}
					if strings.Count(b.Text.Text, "```")%2 != 0 {
						t.Errorf("section leaves a code block open: ...%s", b.Text.Text[len(b.Text.Text)-40:])
					}
					sections = append(sections, b.Text.Text)
				}
				if len(b.Fields) > maxFields {
					t.Errorf("section with %d fields", len(b.Fields))
				}
				for _, f := range b.Fields {
					if len(f.Text) > maxFieldText {
						t.Errorf("field of %d characters", len(f.Text))
					}
					if !strings.HasPrefix(f.Text, fmt.Sprintf("*F%d*", fields)) {
						t.Errorf("field %d out of order: %.10s", fields, f.Text)
					}
					fields++
				}
			case *slack.ActionBlock:
				if len(b.Elements.ElementSet) > maxActions {
					t.Errorf("actions block with %d elements", len(b.Elements.ElementSet))
				}
				for _, el := range b.Elements.ElementSet {
					btn := el.(*slack.ButtonBlockElement)
					if len(btn.Text.Text) > maxButtonText {
						t.Errorf("button text of %d characters", len(btn.Text.Text))
					}
					if action, _, ok := parseActionID(btn.ActionID); !ok || action != "choose" || btn.Value != fmt.Sprint(buttons) {
						t.Errorf("button %d: action_id %q value %q", buttons, btn.ActionID, btn.Value)
					}
					buttons++
				}
			}
		}
	}
	if fields != 105 || buttons != 60 {
		t.Errorf("%d fields and %d buttons survived, want 105 and 60", fields, buttons)
	}
	// No text is lost: joined back (fences added at cuts removed), every
	// word is there in order.
	joined := strings.Join(sections, "\n")
	if got, want := strings.Fields(strings.ReplaceAll(joined, "```", "")), strings.Fields(strings.ReplaceAll(defuse(msg.Text), "```", "")); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("text changed by splitting: %d words, want %d", len(got), len(want))
	}
	if strings.Contains(joined, "<!channel>") {
		t.Error("a channel-wide ping survived")
	}

	// And through the adapter, the parts go out in order, nothing refused.
	r, _, _ := socketRig(t, rigOptions{})
	if _, err := r.adapter.Send(context.Background(), bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), msg); err != nil {
		t.Fatal(err)
	}
	for i := range parts {
		p := r.slack.nextPost(t)
		if len(p.Blocks) != len(parts[i].blocks) {
			t.Errorf("message %d arrived with %d blocks, want %d", i, len(p.Blocks), len(parts[i].blocks))
		}
	}
	r.slack.noPost(t)
}

func TestSplitTextSmall(t *testing.T) {
	if got := splitText("short", 3000); len(got) != 1 || got[0] != "short" {
		t.Errorf("splitText(short) = %q", got)
	}
	got := splitText(strings.Repeat("é", 4000), 3000)
	for _, c := range got {
		if len(c) > 3000 || !strings.HasPrefix(c, "é") || !strings.HasSuffix(c, "é") {
			t.Errorf("chunk of %d bytes splits a rune or is too long", len(c))
		}
	}
	if strings.Join(got, "") != strings.Repeat("é", 4000) {
		t.Error("characters lost")
	}
	if parts := render(bot.Message{}); len(parts) != 1 {
		t.Errorf("empty message renders as %d messages", len(parts))
	}
}
