package matrix

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

func TestCreatePrivateRoomRequest(t *testing.T) {
	f := &fakeHS{answers: []func(http.ResponseWriter){status(200, `{"room_id":"!war:example.org"}`)}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	// With crypto, the state store is the helper's SQLite one; any works
	// for what CreateRoom records.
	a.client.StateStore = mautrix.NewMemoryStateStore()
	ctx := context.Background()
	invite := []bot.UserRef{userRef("@alice:example.org"), userRef("@vigil:example.org"), {Adapter: bot.AdapterSlack, ID: "U1"}, userRef("@bob:example.org")}
	room, err := a.CreatePrivateRoom(ctx, "inc-2026-1-leak", "INC-2026-1: Leak (war room, private)", invite)
	if err != nil {
		t.Fatal(err)
	}
	if room != roomRef("!war:example.org") {
		t.Errorf("room %v", room)
	}
	if len(f.paths) != 1 || f.paths[0] != "POST /_matrix/client/v3/createRoom" {
		t.Fatalf("requests %v", f.paths)
	}
	b := f.bodies[0]
	if b["preset"] != "private_chat" || b["visibility"] != "private" || b["name"] != "inc-2026-1-leak" || b["topic"] != "INC-2026-1: Leak (war room, private)" {
		t.Errorf("body %v", b)
	}
	inv, _ := b["invite"].([]any)
	if len(inv) != 2 || inv[0] != "@alice:example.org" || inv[1] != "@bob:example.org" {
		t.Errorf("invite %v: want alice and bob, not the bot nor a Slack account", inv)
	}
	var encrypted, inviteOnly bool
	states, _ := b["initial_state"].([]any)
	for _, s := range states {
		st, _ := s.(map[string]any)
		c, _ := st["content"].(map[string]any)
		switch st["type"] {
		case "m.room.encryption":
			encrypted = c["algorithm"] == string(id.AlgorithmMegolmV1)
		case "m.room.join_rules":
			inviteOnly = c["join_rule"] == "invite"
		}
	}
	if !encrypted || !inviteOnly {
		t.Errorf("initial_state %v: want megolm encryption and join rule invite", states)
	}
	// The state store knows at once: the first message is encrypted, and
	// for the invitees too.
	if enc, err := a.client.StateStore.IsEncrypted(ctx, "!war:example.org"); err != nil || !enc {
		t.Errorf("state store: encrypted = %v, %v", enc, err)
	}
	if m, err := a.client.StateStore.GetRoomJoinedOrInvitedMembers(ctx, "!war:example.org"); err != nil || len(m) != 3 {
		t.Errorf("state store members %v, %v: want the bot and the two invited", m, err)
	}
}

func TestCreatePrivateRoomErrors(t *testing.T) {
	f := &fakeHS{answers: []func(http.ResponseWriter){status(429, `{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":2000}`)}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	if _, err := a.CreatePrivateRoom(context.Background(), "x", "", nil); !errors.Is(err, bot.ErrRateLimited) {
		t.Errorf("rate limited: err = %v", err)
	}
	if len(f.bodies) != 1 {
		t.Errorf("%d requests: the adapter must not retry", len(f.bodies))
	}
	a.gate.Close()
	if _, err := a.CreatePrivateRoom(context.Background(), "x", "", nil); !errors.Is(err, bot.ErrUnavailable) {
		t.Errorf("not connected: err = %v", err)
	}
}
