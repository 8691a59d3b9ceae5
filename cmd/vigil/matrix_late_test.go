//go:build goolm

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/internal/testmatrix"
	"github.com/vigil-sec/vigil/store/embedded"
)

// member is a team member's own Matrix client, with end-to-end encryption,
// recording what it can read.
type member struct {
	cli    *mautrix.Client
	mu     sync.Mutex
	events []*event.Event
}

func newMember(t *testing.T, hs *testmatrix.Server, name string) *member {
	t.Helper()
	acct := hs.Register(t, name)
	cli, err := mautrix.NewClient(hs.URL, id.UserID(acct.UserID), acct.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	cli.DeviceID = id.DeviceID(acct.DeviceID)
	m := &member{cli: cli}
	cli.Syncer.(*mautrix.DefaultSyncer).OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		m.mu.Lock()
		m.events = append(m.events, evt)
		m.mu.Unlock()
	})
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "crypto.db")+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbutil.NewWithDB(raw, "sqlite3")
	if err != nil {
		t.Fatal(err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("member-pickle-key"), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := helper.Init(ctx); err != nil {
		t.Fatalf("%s: crypto init: %v", name, err)
	}
	cli.Crypto = helper
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cli.SyncWithContext(sctx) }()
	t.Cleanup(func() { stop(); <-done; helper.Close() })
	return m
}

// fromBot returns the bodies of the bot's messages this member could read
// (decrypted) that contain want.
func (m *member) fromBot(bot id.UserID, want string) []*event.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*event.Event
	for _, e := range m.events {
		if c := e.Content.AsMessage(); e.Sender == bot && c != nil && strings.Contains(c.Body, want) {
			out = append(out, e)
		}
	}
	return out
}

// Acceptance (issue 14), on a real Dendrite: Vigil starts with its
// configured encrypted room, which the bot is not in yet. A report POSTed
// to the intake API meanwhile is stored (201). Ten seconds after the start
// a team member invites the bot: it joins, checks the room, and the report
// appears there exactly once, readable by the member (encrypted for their
// device). Its acknowledgement clock runs from receipt, not from the
// invite.
func TestMatrixInviteAfterStartPostsTheWaitingReportOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("a real homeserver and a 10 s wait; skipped with -short")
	}
	hs := testmatrix.StartDedicated(t)
	botAcct := hs.Register(t, "vigil")
	botID := id.UserID(botAcct.UserID)
	alice := newMember(t, hs, "alice")
	ctx := context.Background()
	resp, err := alice.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "private_chat",
		InitialState: []*event.Event{{Type: event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID

	httpAddr := freeAddr(t)
	data := t.TempDir()
	cfg := fmt.Sprintf(`
http: {listen: %q}
rooms: {matrix: [%q]}
people:
  - {name: alice, roles: [responder, admin], chat: {matrix: %q}}
duty:
  rotations:
    - {name: triage, members: [alice], shift: 1w, handoff: "Mon 09:00 UTC"}
reports:
  api_token: api-secret
matrix:
  homeserver: %q
  user_id: %q
  password: %q
`, httpAddr, room, alice.cli.UserID, hs.URL, botAcct.UserID, botAcct.Password)
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb syncBuffer
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	started := time.Now()
	go func() {
		lookup := func(k string) (string, bool) {
			if k == "VIGIL_LOG_LEVEL" {
				return "debug", true
			}
			return "", false
		}
		done <- run(rctx, runOptions{ConfigPath: path, Data: data}, streams{In: strings.NewReader(""), Out: io.Discard, Err: &errb}, lookup)
	}()
	defer func() {
		if t.Failed() {
			t.Logf("Vigil's log:\n%s", errb.String())
		}
	}()
	waitFor(t, "Vigil's HTTP listener", func() bool {
		r, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})

	// The report arrives before the bot is in the room.
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/reports",
		strings.NewReader(`{"title":"Heap overflow in parse_header","description":"A long header overflows the buffer."}`))
	req.Header.Set("Authorization", "Bearer api-secret")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "late-invite-1")
	before := time.Now()
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&created)
	r.Body.Close()
	if r.StatusCode != http.StatusCreated || created.ID == "" {
		t.Fatalf("intake API before the invite: %d %+v, want 201 with an id (stored)", r.StatusCode, created)
	}

	// Ten seconds after the start, alice invites the bot.
	select {
	case err := <-done:
		t.Fatalf("Vigil stopped before the invite: %v", err)
	case <-time.After(time.Until(started.Add(10 * time.Second))):
	}
	invitedAt := time.Now()
	if _, err := alice.cli.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: botID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(alice.fromBot(botID, created.ID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the report %s did not reach the room within 60 s of the invite", created.ID)
		}
		time.Sleep(100 * time.Millisecond) // waiting on the homeserver
	}
	got := alice.fromBot(botID, created.ID)[0]
	if !got.Mautrix.WasEncrypted || got.RoomID != room {
		t.Errorf("the report came in %s, encrypted=%v; want it encrypted in %s", got.RoomID, got.Mautrix.WasEncrypted, room)
	}
	// Ask for the list and wait for the answer: the report's own post, if
	// it were doubled, would be in by then too.
	if _, err := alice.cli.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "!sec report list"}); err != nil {
		t.Fatal(err)
	}
	for len(alice.fromBot(botID, "[new]")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no answer to !sec report list")
		}
		time.Sleep(100 * time.Millisecond)
	}
	roots := 0
	for _, e := range alice.fromBot(botID, "Heap overflow in parse_header") {
		if c := e.Content.AsMessage(); c.RelatesTo == nil && !strings.Contains(c.Body, "[new]") {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("the report was posted %d times as a thread root, want exactly once", roots)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Vigil did not stop")
	}
	// The acknowledgement clock runs from receipt (before the invite).
	st, err := embedded.Open(filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	doc, err := st.Get(ctx, "reports", created.ID)
	if err != nil {
		t.Fatalf("the report %s in the store: %v", created.ID, err)
	}
	var rep struct {
		Received time.Time `json:"received"`
		AckDue   time.Time `json:"ack_due"`
	}
	if err := json.Unmarshal(doc.Data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Received.Before(before.Add(-time.Second)) || !rep.Received.Before(invitedAt) {
		t.Errorf("received %s: want it at the POST (%s), before the invite (%s)", rep.Received, before, invitedAt)
	}
	if d := rep.AckDue.Sub(rep.Received); d != 48*time.Hour {
		t.Errorf("ack due %s after receipt, want 48h", d)
	}
}
