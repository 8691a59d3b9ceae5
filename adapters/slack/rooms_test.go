package slack

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/incident"
)

func TestCreatePrivateRoomThroughFake(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.slack.nextConn(t)
	r.ready()
	ctx := context.Background()
	r.slack.mu.Lock()
	r.slack.taken["inc-2026-1-leaked-token"] = true
	r.slack.mu.Unlock()
	invite := []bot.UserRef{userRef(userAlice), userRef(botUser), userRef(userMallory), {Adapter: bot.AdapterMatrix, ID: "@a:example.org"}}
	room, err := r.adapter.CreatePrivateRoom(ctx, "INC-2026-1 Leaked token!", "INC-2026-1: Leaked token (war room, private)", invite)
	if err != nil {
		t.Fatal(err)
	}
	r.slack.mu.Lock()
	defer r.slack.mu.Unlock()
	created := r.slack.created["inc-2026-1-leaked-token-2"]
	if created == nil || len(r.slack.created) != 1 {
		t.Fatalf("created %v: want inc-2026-1-leaked-token-2 after name_taken", r.slack.created)
	}
	if str(created, "is_private") != "true" {
		t.Errorf("channel created with is_private=%q", str(created, "is_private"))
	}
	if room != (bot.RoomRef{Adapter: bot.AdapterSlack, ID: "G1"}) {
		t.Errorf("room %v", room)
	}
	if len(r.slack.invites) != 1 || str(r.slack.invites[0], "channel") != "G1" || str(r.slack.invites[0], "users") != userAlice+","+userMallory {
		t.Errorf("invites %v: want alice and mallory, not the bot nor a Matrix account", r.slack.invites)
	}
	if len(r.slack.topics) != 1 || str(r.slack.topics[0], "topic") != "INC-2026-1: Leaked token (war room, private)" {
		t.Errorf("topics %v", r.slack.topics)
	}
}

func TestCreatePrivateRoomErrors(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.slack.nextConn(t)
	r.ready()
	r.slack.mu.Lock()
	for _, n := range []string{"war", "war-2", "war-3", "war-4", "war-5"} {
		r.slack.taken[n] = true
	}
	r.slack.mu.Unlock()
	_, err := r.adapter.CreatePrivateRoom(context.Background(), "war", "", nil)
	if !errors.Is(err, bot.ErrRejected) || !strings.Contains(err.Error(), "name_taken") {
		t.Errorf("every name taken: err = %v, want name_taken as ErrRejected", err)
	}
	if n := r.slack.count("conversations.create"); n != nameAttempts {
		t.Errorf("conversations.create called %d times, want %d", n, nameAttempts)
	}
}

func TestChannelName(t *testing.T) {
	for in, want := range map[string]string{
		"INC-2026-1 Leaked token!": "inc-2026-1-leaked-token",
		"a  b__c. d":               "a-b__c-d",
		"Über Leck":                "über-leck",
		"!!!":                      "incident",
		strings.Repeat("x", 100):   strings.Repeat("x", 80),
	} {
		if got := channelName(in); got != want {
			t.Errorf("channelName(%q) = %q, want %q", in, got, want)
		}
	}
}

// `/sec incident start --room` on Slack: a private channel with the team
// invited, the header its first message, the security channel told, and a
// 📌 in the new channel on the timeline.
func TestIncidentStartRoomOnSlack(t *testing.T) {
	var inc *incident.Incidents
	r := newRig(t, rigOptions{setup: func(e *bot.Engine) {
		var err error
		if inc, err = incident.Register(e, incident.Options{}); err != nil {
			t.Fatal(err)
		}
	}})
	conn := r.slack.nextConn(t)
	r.ready()
	ctx := context.Background()
	conn.send(t, commandEnvelope("env-1", chanSecurity, userAlice, `incident start --room "Leaked token"`, "trig-1"))
	conn.ack(t, "env-1")
	p := r.slack.nextPost(t)
	if p.Channel != chanSecurity || !strings.Contains(p.Text, "its war room is the private room <#G1>") {
		t.Fatalf("pointer %+v", p)
	}
	r.engine.Step(ctx)
	hdr := r.slack.nextPost(t)
	if hdr.Channel != "G1" || hdr.Thread != "" || !strings.Contains(hdr.Text, "INC-2026-1: Leaked token") {
		t.Fatalf("header %+v: want the first message of G1", hdr)
	}
	r.slack.mu.Lock()
	created := r.slack.created["inc-2026-1-leaked-token"]
	invites := append([]map[string]any(nil), r.slack.invites...)
	r.slack.mu.Unlock()
	if created == nil || str(created, "is_private") != "true" {
		t.Fatalf("created %v", created)
	}
	if len(invites) != 1 || str(invites[0], "users") != userAlice {
		t.Errorf("invites %v: want the team (alice)", invites)
	}

	conn.send(t, eventsEnvelope("env-2", "Ev2", map[string]any{"type": "message", "channel_type": "group", "user": userAlice,
		"channel": "G1", "text": "Token revoked at the provider", "ts": "1767603700.000200"}))
	conn.ack(t, "env-2")
	conn.send(t, eventsEnvelope("env-3", "Ev3", map[string]any{"type": "reaction_added", "user": userAlice, "reaction": "pushpin",
		"item": map[string]any{"type": "message", "channel": "G1", "ts": "1767603700.000200"}, "event_ts": "1767603800.000300"}))
	conn.ack(t, "env-3")
	// Both are handled on their conversation's queue after the ack; the
	// confirmation is queued in the outbox.
	r.adapter.serial.Wait()
	r.engine.Step(ctx)
	confirm := r.slack.nextPost(t)
	if in, err := inc.Get(ctx, "INC-2026-1"); err != nil || len(in.Entries) != 1 || in.Entries[0].Text != "Token revoked at the provider" {
		t.Errorf("entries %+v, %v", in, err)
	}
	if confirm.Channel != "G1" || confirm.Thread != "" || !strings.Contains(confirm.Text, "Timeline #1") {
		t.Errorf("confirmation %+v: want it in G1", confirm)
	}
}
