package matrix

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
)

const (
	secRoom = "!sec:example.org"
	alice   = "@alice:example.org"
)

// roomHS is a homeserver with one room whose state a test changes: the
// bot's membership (and whether it may join), the join rule, encryption,
// and an outage. It answers only what the room checks ask.
type roomHS struct {
	mu        sync.Mutex
	joined    bool
	mayJoin   bool
	joinRule  string
	encrypted bool
	down      bool
	calls     int
}

func (h *roomHS) set(f func(h *roomHS)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *roomHS) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

func (h *roomHS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	w.Header().Set("Content-Type", "application/json")
	reply := func(code int, v any) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	forbidden := map[string]any{"errcode": "M_FORBIDDEN", "error": "not in the room"}
	if h.down {
		reply(502, map[string]any{"errcode": "M_UNKNOWN", "error": "bad gateway"})
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/join"):
		if !h.joined && !h.mayJoin {
			reply(403, forbidden)
			return
		}
		h.joined = true
		reply(200, map[string]any{"room_id": secRoom})
	case !h.joined:
		reply(403, forbidden)
	case strings.Contains(p, "/state/m.room.member/"):
		reply(200, map[string]any{"membership": "join"})
	case strings.HasSuffix(p, "/state/m.room.join_rules/"), strings.HasSuffix(p, "/state/m.room.join_rules"):
		reply(200, map[string]any{"join_rule": h.joinRule})
	case strings.HasSuffix(p, "/state/m.room.encryption/"), strings.HasSuffix(p, "/state/m.room.encryption"):
		if !h.encrypted {
			reply(404, map[string]any{"errcode": "M_NOT_FOUND", "error": "no encryption"})
			return
		}
		reply(200, map[string]any{"algorithm": string(id.AlgorithmMegolmV1)})
	case strings.HasSuffix(p, "/members"):
		member := func(u string) map[string]any {
			return map[string]any{"type": "m.room.member", "state_key": u, "sender": u, "event_id": "$m" + u, "room_id": secRoom,
				"content": map[string]any{"membership": "join"}}
		}
		reply(200, map[string]any{"chunk": []any{member("@vigil:example.org"), member(alice)}})
	default:
		reply(404, map[string]any{"errcode": "M_UNRECOGNIZED", "error": "not in this fake"})
	}
}

// securityAdapter is a running adapter (see testAdapter) configured with
// the one security room, on an engine that has it as a private room.
func securityAdapter(t *testing.T, hs *roomHS) (*Adapter, *bot.Engine) {
	t.Helper()
	srv := httptest.NewServer(hs)
	t.Cleanup(srv.Close)
	a := testAdapter(t, srv.URL)
	e, err := bot.New(bot.Options{Store: a.engine.Store(), Clock: a.engine.Clock(), PrivateRooms: []bot.RoomRef{roomRef(secRoom)},
		People: []bot.Person{{Name: "alice", Chat: map[string]string{bot.AdapterMatrix: alice}, Roles: []bot.Role{bot.RoleResponder}}}})
	if err != nil {
		t.Fatal(err)
	}
	a.engine, a.rooms = e, []string{secRoom}
	a.client.StateStore = mautrix.NewMemoryStateStore()
	a.syncer = newSyncer(a)
	a.client.Syncer = a.syncer
	a.client.Store = &syncStore{a: a}
	return a, e
}

func stateEvent(typ, stateKey, sender string, content map[string]any) json.RawMessage {
	raw, _ := json.Marshal(map[string]any{"type": typ, "state_key": stateKey, "sender": sender, "content": content,
		"event_id": "$" + typ + stateKey + sender, "origin_server_ts": 1767603600000, "room_id": secRoom})
	return raw
}

// batch is a sync response with events in the security room's timeline,
// or an invite to it.
func batch(t *testing.T, invite bool, events ...json.RawMessage) *mautrix.RespSync {
	t.Helper()
	var evs []any
	for _, e := range events {
		evs = append(evs, e)
	}
	body := map[string]any{"next_batch": "s2", "rooms": map[string]any{}}
	if invite {
		body["rooms"] = map[string]any{"invite": map[string]any{secRoom: map[string]any{"invite_state": map[string]any{"events": evs}}}}
	} else {
		body["rooms"] = map[string]any{"join": map[string]any{secRoom: map[string]any{"timeline": map[string]any{"events": evs}}}}
	}
	raw, _ := json.Marshal(body)
	var res mautrix.RespSync
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

// The bot is invited to its configured room after the start: sync shows
// the invite, the bot joins, checks the room (and learns its members, so
// the first encrypted message reaches them) and promotes it. A join rule
// made public demotes it; encryption is checked; the bot kicked is held
// at once.
func TestSecurityRoomRecheckedOnInviteAndStateChanges(t *testing.T) {
	hs := &roomHS{joinRule: "invite", encrypted: true}
	a, e := securityAdapter(t, hs)
	ctx := context.Background()
	room := roomRef(secRoom)

	a.checkRooms(ctx, true)
	if e.IsPrivate(room) || !strings.Contains(e.DemotionReason(room), "not in the room") {
		t.Fatalf("not invited yet: private=%v %q", e.IsPrivate(room), e.DemotionReason(room))
	}

	hs.set(func(h *roomHS) { h.mayJoin = true })
	invite := stateEvent("m.room.member", "@vigil:example.org", alice, map[string]any{"membership": "invite"})
	if err := a.syncer.ProcessResponse(ctx, batch(t, true, invite), "s1"); err != nil {
		t.Fatal(err)
	}
	if !e.IsPrivate(room) {
		t.Fatalf("after the invite: %q, want private", e.DemotionReason(room))
	}
	members, err := a.client.StateStore.GetRoomJoinedOrInvitedMembers(ctx, secRoom)
	if err != nil || len(members) != 2 {
		t.Errorf("state store members %v, %v: want the bot and alice before the first message", members, err)
	}

	hs.set(func(h *roomHS) { h.joinRule = "public" })
	rule := stateEvent("m.room.join_rules", "", alice, map[string]any{"join_rule": "public"})
	if err := a.syncer.ProcessResponse(ctx, batch(t, false, rule), "s2"); err != nil {
		t.Fatal(err)
	}
	if e.IsPrivate(room) || !strings.Contains(e.DemotionReason(room), `join rule "public"`) {
		t.Errorf("made public: private=%v %q", e.IsPrivate(room), e.DemotionReason(room))
	}

	hs.set(func(h *roomHS) { h.joinRule, h.encrypted = "invite", false })
	if err := a.syncer.ProcessResponse(ctx, batch(t, false, stateEvent("m.room.join_rules", "", alice, map[string]any{"join_rule": "invite"})), "s3"); err != nil {
		t.Fatal(err)
	}
	if e.IsPrivate(room) || !strings.Contains(e.DemotionReason(room), "not end-to-end encrypted") {
		t.Errorf("invite-only but not encrypted: private=%v %q", e.IsPrivate(room), e.DemotionReason(room))
	}
	hs.set(func(h *roomHS) { h.encrypted = true })
	enc := stateEvent("m.room.encryption", "", alice, map[string]any{"algorithm": string(id.AlgorithmMegolmV1)})
	if err := a.syncer.ProcessResponse(ctx, batch(t, false, enc), "s4"); err != nil {
		t.Fatal(err)
	}
	if !e.IsPrivate(room) {
		t.Errorf("encrypted again: %q", e.DemotionReason(room))
	}

	kick := stateEvent("m.room.member", "@vigil:example.org", alice, map[string]any{"membership": "leave"})
	before := hs.count()
	if err := a.syncer.ProcessResponse(ctx, batch(t, false, kick), "s5"); err != nil {
		t.Fatal(err)
	}
	if e.IsPrivate(room) || !strings.Contains(e.DemotionReason(room), "no longer in the room") {
		t.Errorf("kicked: private=%v %q", e.IsPrivate(room), e.DemotionReason(room))
	}
	if hs.count() != before {
		t.Errorf("a kick made %d requests; the event says it all", hs.count()-before)
	}
}

// Events in other rooms, and state events from the first sync (history),
// check nothing.
func TestOtherRoomsAreNotChecked(t *testing.T) {
	hs := &roomHS{joined: true, joinRule: "invite", encrypted: true}
	a, _ := securityAdapter(t, hs)
	ctx := context.Background()
	res := batch(t, false, stateEvent("m.room.join_rules", "", alice, map[string]any{"join_rule": "public"}))
	res.Rooms.Join["!other:example.org"] = res.Rooms.Join[secRoom]
	delete(res.Rooms.Join, secRoom)
	if err := a.syncer.ProcessResponse(ctx, res, "s1"); err != nil {
		t.Fatal(err)
	}
	initial := context.WithValue(ctx, mautrix.SyncTokenContextKey, "")
	if err := a.syncer.ProcessResponse(initial, batch(t, false, stateEvent("m.room.join_rules", "", alice, map[string]any{"join_rule": "public"})), ""); err != nil {
		t.Fatal(err)
	}
	if n := hs.count(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

// What sync did not tell is found by the periodic check on the engine's
// clock; a check the homeserver could not answer holds the room and is
// repeated sooner.
func TestSecurityRoomRecheckedPeriodically(t *testing.T) {
	hs := &roomHS{joined: true, joinRule: "invite", encrypted: true}
	a, e := securityAdapter(t, hs)
	fake := e.Clock().(*clock.Fake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.recheckRooms(ctx, false) }()
	t.Cleanup(func() { cancel(); <-done })
	room := roomRef(secRoom)
	a.checkRooms(ctx, true)
	if !e.IsPrivate(room) {
		t.Fatalf("at start: %q", e.DemotionReason(room))
	}
	advance := func(in time.Duration) {
		t.Helper()
		want := fake.Now().Add(in)
		deadline := time.Now().Add(5 * time.Second)
		for {
			a.mu.Lock()
			armed := a.nextRecheck.Equal(want)
			a.mu.Unlock()
			if armed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no check planned in %s", in)
			}
			time.Sleep(5 * time.Millisecond)
		}
		before := hs.count()
		fake.Advance(in)
		// The loop plans the next check once this one is recorded.
		for {
			a.mu.Lock()
			next := a.nextRecheck
			a.mu.Unlock()
			if next.After(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the periodic check did not run")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if hs.count() == before {
			t.Fatal("the periodic check asked the homeserver nothing")
		}
	}
	hs.set(func(h *roomHS) { h.down = true })
	advance(5 * time.Minute)
	if e.IsPrivate(room) || !strings.Contains(e.DemotionReason(room), "HTTP 502") {
		t.Errorf("homeserver down: private=%v %q", e.IsPrivate(room), e.DemotionReason(room))
	}
	hs.set(func(h *roomHS) { h.down = false })
	advance(time.Second)
	if !e.IsPrivate(room) {
		t.Errorf("homeserver back: %q", e.DemotionReason(room))
	}
	hs.set(func(h *roomHS) { h.encrypted = false })
	advance(5 * time.Minute)
	if e.IsPrivate(room) {
		t.Error("encryption off went unnoticed")
	}
}
