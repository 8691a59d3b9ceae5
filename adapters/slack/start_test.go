package slack

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// eventually waits (bounded) for work on other goroutines, polling the
// condition; it never stands in for a deadline of the code under test,
// which runs on the fake clock.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func slackRoomRef(id string) bot.RoomRef { return bot.RoomRef{Adapter: bot.AdapterSlack, ID: id} }

// Slack's API answers 503 for the first three auth.test calls: Run keeps
// going, says why it is not ready (for /readyz) with the next try, retries
// at 1s, 2s, 4s on the engine's clock, and once Slack answers checks the
// security channel and connects. The channel is not used for report
// details until then.
func TestSlackDownAtStartIsRetriedInTheBackground(t *testing.T) {
	r := newRig(t, rigOptions{before: func(f *fakeSlack) {
		f.authFail = func(n int) (int, string) {
			if n <= 3 {
				return 503, `{"ok":false,"error":"service_unavailable"}`
			}
			return 0, ""
		}
	}})
	ctx := context.Background()
	sec := slackRoomRef(chanSecurity)
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		reason := "connecting (auth.test: HTTP 503), next try in " + want.String()
		eventually(t, "the adapter to wait "+want.String(), func() bool { return r.adapter.NotConnectedReason() == reason })
		if r.adapter.Connected() || r.engine.AdapterStates()[bot.AdapterSlack] {
			t.Fatal("the adapter says it is connected while Slack is down")
		}
		err := r.engine.Ready(ctx)
		if err == nil || err.Error() != "slack: "+reason {
			t.Errorf("Ready = %v, want %q", err, "slack: "+reason)
		}
		if r.engine.IsPrivate(sec) || !strings.Contains(r.engine.DemotionReason(sec), "not checked yet") {
			t.Errorf("before the check, the security channel is private=%v (%q); want it held", r.engine.IsPrivate(sec), r.engine.DemotionReason(sec))
		}
		if n := r.slack.count("auth.test"); n != i+1 {
			t.Fatalf("auth.test called %d times, want %d", n, i+1)
		}
		select {
		case err := <-r.done:
			t.Fatalf("Run returned while Slack was down: %v", err)
		default:
		}
		r.clock.Advance(want)
	}
	r.ready()
	r.slack.nextConn(t)
	eventually(t, "Socket Mode to connect", r.adapter.Connected)
	if err := r.engine.Ready(ctx); err != nil {
		t.Errorf("Ready after Slack answered: %v", err)
	}
	if !r.engine.IsPrivate(sec) {
		t.Errorf("the checked security channel is still held: %q", r.engine.DemotionReason(sec))
	}
	if n := r.slack.count("auth.test"); n != 4 {
		t.Errorf("auth.test called %d times, want 4", n)
	}
}

// A token Slack refuses is not an outage: Run ends at once with an error
// that says so, without the token, and does not retry.
func TestSlackRefusedTokenIsFatalAtStart(t *testing.T) {
	for _, code := range []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked"} {
		t.Run(code, func(t *testing.T) {
			r := newRig(t, rigOptions{before: func(f *fakeSlack) {
				f.authFail = func(int) (int, string) { return 200, `{"ok":false,"error":"` + code + `"}` }
			}})
			select {
			case err := <-r.done:
				if err == nil || !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "slack.bot_token") {
					t.Errorf("Run = %v, want %s and a hint at slack.bot_token", err, code)
				}
				if err != nil && strings.Contains(err.Error(), "xoxb-test") {
					t.Errorf("the error shows the token: %v", err)
				}
				r.done <- nil
			case <-time.After(wait):
				t.Fatal("Run kept retrying a refused token")
			}
			if n := r.slack.count("auth.test"); n != 1 {
				t.Errorf("auth.test called %d times, want 1", n)
			}
		})
	}
}

// Events that change a security channel make Vigil check it again:
// the bot invited (member_joined_channel) promotes it, a channel made
// private promotes it, one shared with another organisation or one the bot
// was removed from is demoted. Someone else joining checks nothing.
func TestSecurityChannelsRecheckedOnEvents(t *testing.T) {
	r := newRig(t, rigOptions{rooms: []string{chanSecurity, chanOutside, chanPublic}})
	conn := r.slack.nextConn(t)
	r.ready()
	sec, out, pub := slackRoomRef(chanSecurity), slackRoomRef(chanOutside), slackRoomRef(chanPublic)
	if !r.engine.IsPrivate(sec) || r.engine.IsPrivate(out) || r.engine.IsPrivate(pub) {
		t.Fatalf("at start: private %v %v %v, want true false false", r.engine.IsPrivate(sec), r.engine.IsPrivate(out), r.engine.IsPrivate(pub))
	}
	env := 0
	send := func(inner map[string]any) {
		t.Helper()
		env++
		id := fmt.Sprintf("env-room-%d", env)
		conn.send(t, eventsEnvelope(id, fmt.Sprintf("EvRoom%d", env), inner))
		conn.ack(t, id)
	}
	private := func(room bot.RoomRef) func() bool { return func() bool { return r.engine.IsPrivate(room) } }
	held := func(room bot.RoomRef, why string) func() bool {
		return func() bool { return strings.Contains(r.engine.DemotionReason(room), why) }
	}

	// Someone else joins the public channel: nothing to check. Then the
	// bot is invited to the channel it was not in: one check, of it.
	before := r.slack.count("conversations.info")
	send(map[string]any{"type": "member_joined_channel", "user": userAlice, "channel": chanPublic, "channel_type": "C"})
	r.slack.setChannel(chanOutside, chanInfo{Private: true, Member: true})
	send(map[string]any{"type": "member_joined_channel", "user": botUser, "channel": chanOutside, "channel_type": "G", "inviter": userAlice})
	eventually(t, "the channel the bot was invited to to be private", private(out))
	if n := r.slack.count("conversations.info") - before; n != 1 {
		t.Errorf("%d checks, want 1: a person joining checks nothing", n)
	}

	// The public channel is made private (Slack says so with a message).
	r.slack.setChannel(chanPublic, chanInfo{Private: true, Member: true})
	send(map[string]any{"type": "message", "subtype": "channel_convert_to_private", "user": userAlice, "channel": chanPublic,
		"channel_type": "group", "text": "made this channel *private*.", "ts": "1767603700.000100"})
	eventually(t, "the converted channel to be private", private(pub))

	// The security channel is shared with another organisation.
	r.slack.setChannel(chanSecurity, chanInfo{Private: true, Member: true, ExtShared: true})
	send(map[string]any{"type": "channel_shared", "connected_team_id": "T2", "channel": chanSecurity, "event_ts": "1767603701.000100"})
	eventually(t, "the shared channel to be demoted", held(sec, "another organisation"))

	// The bot is removed from the channel it was invited to.
	r.slack.setChannel(chanOutside, chanInfo{Private: true, Member: false})
	send(map[string]any{"type": "member_left_channel", "user": botUser, "channel": chanOutside, "channel_type": "G"})
	eventually(t, "the channel the bot left to be demoted", held(out, "not a member"))
	// None of these events reached the engine as messages or commands.
	r.slack.noPost(t)
}

// What no event told is found by the periodic check (every RecheckEvery on
// the engine's clock); a check that fails for a reason that may pass holds
// the channel and is repeated sooner, with backoff.
func TestSecurityChannelsRecheckedPeriodically(t *testing.T) {
	r := newRig(t, rigOptions{recheck: 5 * time.Minute})
	r.slack.nextConn(t)
	r.ready()
	sec := slackRoomRef(chanSecurity)
	if !r.engine.IsPrivate(sec) {
		t.Fatalf("at start: %q", r.engine.DemotionReason(sec))
	}
	// advance waits until the periodic check is armed for `in`, then
	// moves the clock there and waits for the check to be done.
	advance := func(in time.Duration) {
		t.Helper()
		want := r.clock.Now().Add(in)
		eventually(t, "the next check to be planned in "+in.String(), func() bool {
			r.adapter.mu.Lock()
			defer r.adapter.mu.Unlock()
			return r.adapter.nextRecheck.Equal(want)
		})
		before := r.slack.count("conversations.info")
		r.clock.Advance(in)
		// The loop plans the next check once this one is recorded.
		eventually(t, "the periodic check", func() bool {
			r.adapter.mu.Lock()
			defer r.adapter.mu.Unlock()
			return r.adapter.nextRecheck.After(want)
		})
		if r.slack.count("conversations.info") == before {
			t.Fatal("the periodic check asked Slack nothing")
		}
	}

	r.slack.setChannel(chanSecurity, chanInfo{Private: true, Member: true, Down: true})
	advance(5 * time.Minute)
	if r.engine.IsPrivate(sec) || !strings.Contains(r.engine.DemotionReason(sec), "could not check the channel (HTTP 503)") {
		t.Errorf("a failed check: private=%v %q, want held", r.engine.IsPrivate(sec), r.engine.DemotionReason(sec))
	}
	advance(time.Second) // sooner after a check that may pass
	advance(2 * time.Second)
	r.slack.setChannel(chanSecurity, chanInfo{Private: true, Member: true})
	advance(4 * time.Second)
	if !r.engine.IsPrivate(sec) {
		t.Errorf("after Slack answered again: %q", r.engine.DemotionReason(sec))
	}
	r.slack.setChannel(chanSecurity, chanInfo{Private: false, Member: true})
	advance(5 * time.Minute) // back to the normal period
	if r.engine.IsPrivate(sec) || !strings.Contains(r.engine.DemotionReason(sec), "public channel") {
		t.Errorf("made public: private=%v %q", r.engine.IsPrivate(sec), r.engine.DemotionReason(sec))
	}
}
