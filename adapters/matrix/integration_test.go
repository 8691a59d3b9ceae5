//go:build goolm

package matrix

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/testmatrix"
	"github.com/vigil-sec/vigil/store"
)

// waitTimeout bounds every wait on the homeserver (a sync round trip,
// decryption); conditions are polled, never slept on blindly.
const waitTimeout = 45 * time.Second

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// person is a real Matrix client with end-to-end encryption, as a member of
// the security team would run.
type person struct {
	t      *testing.T
	cli    *mautrix.Client
	mu     sync.Mutex
	events []*event.Event // messages and reactions received (decrypted)
	joinOn bool           // accept invites
}

func newPerson(t *testing.T, hs *testmatrix.Server, name string) *person {
	t.Helper()
	acct := hs.Register(t, name)
	cli, err := mautrix.NewClient(hs.URL, id.UserID(acct.UserID), acct.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	cli.DeviceID = id.DeviceID(acct.DeviceID)
	p := &person{t: t, cli: cli}
	syncer := cli.Syncer.(*mautrix.DefaultSyncer)
	record := func(_ context.Context, evt *event.Event) {
		p.mu.Lock()
		p.events = append(p.events, evt)
		p.mu.Unlock()
	}
	syncer.OnEventType(event.EventMessage, record)
	syncer.OnEventType(event.EventReaction, record)
	syncer.OnEventType(event.StateMember, func(ctx context.Context, evt *event.Event) {
		if evt.GetStateKey() == string(cli.UserID) && evt.Content.AsMember().Membership == event.MembershipInvite && p.joinOn {
			// Under load Dendrite can hand out the invite in a sync before
			// its room server holds it, and refuses a join then ("from
			// leave to join"): try again briefly, as a client would.
			for try := 0; try < 20; try++ {
				if _, err := cli.JoinRoomByID(ctx, evt.RoomID); err == nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(250 * time.Millisecond):
				}
			}
		}
	})
	db, err := openCryptoDB(filepath.Join(t.TempDir(), "crypto.db"))
	if err != nil {
		t.Fatal(err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("test-pickle-key"), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := helper.Init(ctx); err != nil {
		t.Fatalf("%s: crypto init: %v", name, err)
	}
	cli.Crypto = helper
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cli.SyncWithContext(sctx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
		helper.Close()
	})
	return p
}

func (p *person) id() id.UserID { return p.cli.UserID }

// fromBot returns the messages the bot sent that this person could read;
// edits of them are not messages of their own (see edits).
func (p *person) fromBot(bot id.UserID) []*event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*event.Event
	for _, e := range p.events {
		if c := e.Content.AsMessage(); e.Sender == bot && e.Type == event.EventMessage && (c.RelatesTo == nil || c.RelatesTo.Type != event.RelReplace) {
			out = append(out, e)
		}
	}
	return out
}

// waitBot waits for a message from the bot whose body contains want and
// returns it.
func (p *person) waitBot(bot id.UserID, want string) *event.Event {
	p.t.Helper()
	var found *event.Event
	defer func() {
		if found == nil {
			for _, e := range p.fromBot(bot) {
				p.t.Logf("bot said: %q", e.Content.AsMessage().Body)
			}
		}
	}()
	waitFor(p.t, fmt.Sprintf("%s to receive a bot message containing %q", p.id(), want), func() bool {
		for _, e := range p.fromBot(bot) {
			if strings.Contains(e.Content.AsMessage().Body, want) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func (p *person) countBot(bot id.UserID, want string) int {
	n := 0
	for _, e := range p.fromBot(bot) {
		if strings.Contains(e.Content.AsMessage().Body, want) {
			n++
		}
	}
	return n
}

func (p *person) send(room id.RoomID, body string, thread id.EventID) id.EventID {
	p.t.Helper()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: body}
	if thread != "" {
		content.RelatesTo = (&event.RelatesTo{}).SetThread(thread, thread)
	}
	resp, err := p.cli.SendMessageEvent(context.Background(), room, event.EventMessage, content)
	if err != nil {
		p.t.Fatalf("%s sends %q: %v", p.id(), body, err)
	}
	return resp.EventID
}

// privateRoom makes an invite-only encrypted room with the invitees.
func (p *person) privateRoom(invite ...id.UserID) id.RoomID {
	p.t.Helper()
	resp, err := p.cli.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{
		Preset: "private_chat",
		Invite: invite,
		InitialState: []*event.Event{{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		}},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.RoomID
}

// membership is how p's homeserver sees u in room.
func (p *person) membership(room id.RoomID, u id.UserID) event.Membership {
	var m event.MemberEventContent
	if err := p.cli.StateEvent(context.Background(), room, event.StateMember, string(u), &m); err != nil {
		return ""
	}
	return m.Membership
}

// sees waits until p's client knows u has joined room (so its messages
// are encrypted for u's devices too).
func (p *person) sees(room id.RoomID, u id.UserID) {
	p.t.Helper()
	waitFor(p.t, fmt.Sprintf("%s to see %s in the room", p.id(), u), func() bool {
		return p.cli.StateStore.IsInRoom(context.Background(), room, u)
	})
}

// warmUp waits until p reads the bot in room: the first exchange settles
// the devices and the room key, so what follows is not lost to a late key.
func warmUp(t *testing.T, r *running, p *person, room id.RoomID, botID id.UserID) {
	t.Helper()
	p.sees(room, botID)
	p.send(room, "hello", "")
	sent := 0
	waitFor(t, p.id().String()+" to read the bot", func() bool {
		if p.countBot(botID, "warm-up") > 0 {
			return true
		}
		if sent++; sent%40 == 1 { // every 2 s while unread
			if _, err := r.adapter.Send(context.Background(), bot.ToRoom(roomRef(string(room)), bot.ThreadRef{}), bot.Text("warm-up")); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
		}
		return false
	})
}

// world is the bot's side: one store shared by every bot run, so a
// restart sees what the previous run stored.
type world struct {
	t       *testing.T
	hs      *testmatrix.Server
	store   store.Store
	botAcct testmatrix.Account
	dataDir string
	people  []bot.Person
	rooms   []string
	// features, when set, registers more of Vigil on each run's engine.
	features func(t *testing.T, e *bot.Engine)
}

func newWorld(t *testing.T) *world {
	hs := testmatrix.StartDedicated(t)
	return &world{
		t:       t,
		hs:      hs,
		store:   bottest.OpenStore(t),
		botAcct: hs.Register(t, "vigil"),
		dataDir: t.TempDir(),
	}
}

func (w *world) addPerson(name string, p *person, roles ...bot.Role) {
	w.people = append(w.people, bot.Person{Name: name, Chat: map[string]string{bot.AdapterMatrix: string(p.id())}, Roles: roles})
}

// running is one run of the bot.
type running struct {
	engine  *bot.Engine
	adapter *Adapter
	stop    func()
}

// start builds an engine and the adapter on the shared store and runs it
// until stop (or the end of the test).
func (w *world) start() *running {
	t := w.t
	t.Helper()
	var private []bot.RoomRef
	for _, r := range w.rooms {
		private = append(private, roomRef(r))
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e, err := bot.New(bot.Options{Store: w.store, Clock: clock.Real{}, People: w.people, PrivateRooms: private, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	registerTestCommands(t, e)
	if w.features != nil {
		w.features(t, e)
	}
	a, err := New(Options{
		Engine:     e,
		Homeserver: w.hs.URL,
		UserID:     w.botAcct.UserID,
		Password:   w.botAcct.Password,
		Rooms:      w.rooms,
		DataDir:    w.dataDir,
		Logger:     logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Started():
	case err := <-done:
		cancel()
		t.Fatalf("bot did not start: %v", err)
	case <-time.After(waitTimeout):
		cancel()
		t.Fatal("bot did not start in time")
	}
	var once sync.Once
	r := &running{engine: e, adapter: a}
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("bot Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Error("bot did not stop in time")
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// stepping runs the engine's loops (which do not run in these tests)
// every 100ms until stop is called: a message held because the adapter was
// not connected yet at the first step is sent at a later one, as the
// engine's own loop would send it.
func (r *running) stepping(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r.engine.Step(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond): // the held message's retry is on the real clock
			}
		}
	}()
	return func() { cancel(); <-done }
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

const secretDetail = "CVE-DRAFT heap overflow in parse_header"

// registerTestCommands adds a form (two steps) and a command with a
// sensitive answer for the team only.
func registerTestCommands(t *testing.T, e *bot.Engine) {
	t.Helper()
	err := e.RegisterForm(&bot.Form{
		ID:    "triage",
		Title: "Triage",
		Fields: []bot.FormField{
			{Name: "severity", Label: "Severity", Kind: bot.FieldChoice, Options: []bot.Option{{Value: "low", Label: "Low"}, {Value: "high", Label: "High"}}},
			{Name: "summary", Label: "Summary", Kind: bot.FieldText},
		},
		Sensitive: true,
		Submit: func(ctx context.Context, req *bot.Request) error {
			_, err := req.Reply(ctx, bot.Message{Text: "Saved: " + req.Form.Values["severity"] + " / " + req.Form.Values["summary"], Sensitive: true})
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.MustRegister(&bot.Command{
		Name: "triage", Summary: "score a report", Roles: []bot.Role{bot.RoleResponder},
		Run: func(ctx context.Context, req *bot.Request) error { return req.StartForm(ctx, "triage", nil) },
	})
	e.MustRegister(&bot.Command{
		Name: "secret", Summary: "show report details", Roles: []bot.Role{bot.RoleResponder},
		Run: func(ctx context.Context, req *bot.Request) error {
			_, err := req.Reply(ctx, bot.Message{Text: secretDetail, Sensitive: true})
			return err
		},
	})
}

// setup: alice (responder) and a bot configured with alice's encrypted,
// invite-only room, which the bot joins at start.
func setup(t *testing.T) (*world, *person, id.RoomID) {
	w := newWorld(t)
	alice := newPerson(t, w.hs, "alice")
	w.addPerson("alice", alice, bot.RoleResponder, bot.RoleAdmin)
	room := alice.privateRoom(id.UserID(w.botAcct.UserID))
	w.rooms = []string{string(room)}
	return w, alice, room
}

func TestHelpInEncryptedRoomRepliesInThread(t *testing.T) {
	w, alice, room := setup(t)
	r := w.start()
	if !r.engine.IsPrivate(roomRef(string(room))) {
		t.Fatal("the invite-only encrypted room was demoted")
	}
	botID := id.UserID(w.botAcct.UserID)
	alice.sees(room, botID)
	cmd := alice.send(room, "!sec help", "")
	reply := alice.waitBot(botID, "Vigil commands")
	if !reply.Mautrix.WasEncrypted {
		t.Error("the reply was not end-to-end encrypted")
	}
	c := reply.Content.AsMessage()
	if c.MsgType != event.MsgNotice {
		t.Errorf("msgtype = %s, want m.notice", c.MsgType)
	}
	if c.Format != event.FormatHTML || !strings.Contains(c.FormattedBody, "<") || c.Body == "" {
		t.Errorf("want an HTML body and a plain one, got format %q html %q", c.Format, c.FormattedBody)
	}
	if c.RelatesTo.GetThreadParent() != cmd {
		t.Errorf("reply thread = %q, want the command %q", c.RelatesTo.GetThreadParent(), cmd)
	}
}

func TestFormStepByStepInThread(t *testing.T) {
	w, alice, room := setup(t)
	w.start()
	botID := id.UserID(w.botAcct.UserID)
	alice.sees(room, botID)
	cmd := alice.send(room, "!sec triage", "")
	q1 := alice.waitBot(botID, "Severity")
	if q1.Content.AsMessage().RelatesTo.GetThreadParent() != cmd {
		t.Fatal("the first question is not in the command's thread")
	}
	// Answer the choice with a keycap reaction on the question.
	if _, err := alice.cli.SendReaction(context.Background(), room, q1.ID, "2️⃣"); err != nil {
		t.Fatal(err)
	}
	q2 := alice.waitBot(botID, "Summary")
	if q2.Content.AsMessage().RelatesTo.GetThreadParent() != cmd {
		t.Fatal("the second question is not in the thread")
	}
	alice.send(room, "overflow in the parser", cmd)
	done := alice.waitBot(botID, "Saved:")
	if got := done.Content.AsMessage().Body; got != "Saved: high / overflow in the parser" {
		t.Errorf("form result = %q", got)
	}
}

func TestRestartMidConversationNeitherRepeatsNorMisses(t *testing.T) {
	w, alice, room := setup(t)
	first := w.start()
	botID := id.UserID(w.botAcct.UserID)
	device := first.adapter.DeviceID()
	alice.sees(room, botID)
	cmd := alice.send(room, "!sec triage", "")
	alice.waitBot(botID, "Severity")
	alice.send(room, "1", cmd)
	alice.waitBot(botID, "Summary")
	first.stop()

	// Said while the bot is down: the next run must answer it, once.
	alice.send(room, "race in the session cache", cmd)
	second := w.start()
	if second.adapter.DeviceID() != device {
		t.Errorf("device after restart = %s, want the same device %s", second.adapter.DeviceID(), device)
	}
	alice.waitBot(botID, "Saved: low / race in the session cache")
	// And a command after the restart runs normally.
	alice.send(room, "!sec help", "")
	alice.waitBot(botID, "Vigil commands")
	for _, want := range []string{"Severity", "Summary", "Saved:"} {
		if n := alice.countBot(botID, want); n != 1 {
			t.Errorf("%d bot messages contain %q, want exactly 1 (a restart must not replay)", n, want)
		}
	}
}

func TestStrangerInviteDeclined(t *testing.T) {
	w, _, _ := setup(t)
	w.start()
	botID := id.UserID(w.botAcct.UserID)
	stranger := newPerson(t, w.hs, "mallory")
	room := stranger.privateRoom(botID)
	waitFor(t, "the bot to decline the stranger's invite", func() bool {
		return stranger.membership(room, botID) == event.MembershipLeave
	})
}

func TestNonMemberGetsNoSensitiveAnswer(t *testing.T) {
	w, alice, room := setup(t)
	w.start()
	botID := id.UserID(w.botAcct.UserID)
	// Someone alice let into the room who is not in Vigil's directory.
	eve := newPerson(t, w.hs, "eve")
	eve.joinOn = true
	if _, err := alice.cli.InviteUser(context.Background(), room, &mautrix.ReqInviteUser{UserID: eve.id()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "eve to join", func() bool { return alice.membership(room, eve.id()) == event.MembershipJoin })
	eve.sees(room, botID)
	eve.send(room, "!sec secret", "")
	refusal := eve.waitBot(botID, "directory")
	if strings.Contains(refusal.Content.AsMessage().Body, secretDetail) {
		t.Fatal("a non-member got the sensitive answer")
	}
	// The same command from alice does answer: the refusal was about eve.
	alice.sees(room, botID)
	alice.send(room, "!sec secret", "")
	alice.waitBot(botID, secretDetail)
}

func TestDirectMessageOpensEncryptedRoom(t *testing.T) {
	w, alice, _ := setup(t)
	alice.joinOn = true
	r := w.start()
	botID := id.UserID(w.botAcct.UserID)
	dest := bot.ToUser(userRef(alice.id()))
	ref, err := r.adapter.Send(context.Background(), dest, bot.Text("ping by DM"))
	if err != nil {
		t.Fatal(err)
	}
	got := alice.waitBot(botID, "ping by DM")
	if !got.Mautrix.WasEncrypted {
		t.Error("the DM was not encrypted")
	}
	if string(got.RoomID) != ref.Room.ID {
		t.Errorf("DM room = %s, ref room = %s", got.RoomID, ref.Room.ID)
	}
	// The second DM reuses the room.
	ref2, err := r.adapter.Send(context.Background(), dest, bot.Text("second ping"))
	if err != nil {
		t.Fatal(err)
	}
	if ref2.Room != ref.Room {
		t.Errorf("second DM went to %s, want the same room %s", ref2.Room.ID, ref.Room.ID)
	}
	alice.waitBot(botID, "second ping")
}

// A room Vigil creates (incident start --room) is encrypted and private:
// a person invited joins and reads Vigil's sensitive message in it.
func TestCreatedPrivateRoomIsEncryptedForInvitees(t *testing.T) {
	w, alice, _ := setup(t)
	bob := newPerson(t, w.hs, "bob")
	bob.joinOn = true
	w.addPerson("bob", bob, bot.RoleResponder)
	r := w.start()
	ctx := context.Background()
	botID := id.UserID(w.botAcct.UserID)
	room, err := r.engine.CreatePrivateRoom(ctx, bot.AdapterMatrix, "inc-2026-1-leak", "INC-2026-1: Leak",
		[]bot.UserRef{userRef(alice.id()), userRef(bob.id()), userRef(botID)})
	if err != nil {
		t.Fatal(err)
	}
	if !r.engine.IsPrivate(room) {
		t.Fatal("the created room is not private")
	}
	if err := r.engine.Post(ctx, "war-1", bot.ToRoom(room, bot.ThreadRef{}), bot.Message{Text: secretDetail, Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	stop := r.stepping(ctx)
	got := bob.waitBot(botID, secretDetail)
	stop()
	if !got.Mautrix.WasEncrypted || string(got.RoomID) != room.ID {
		t.Errorf("bob got %s in %s (encrypted %v), want it encrypted in %s", got.ID, got.RoomID, got.Mautrix.WasEncrypted, room.ID)
	}
	var rules event.JoinRulesEventContent
	if err := bob.cli.StateEvent(ctx, id.RoomID(room.ID), event.StateJoinRules, "", &rules); err != nil || rules.JoinRule != event.JoinRuleInvite {
		t.Errorf("join rule %q, %v: want invite", rules.JoinRule, err)
	}
	if m := bob.membership(id.RoomID(room.ID), alice.id()); m != event.MembershipInvite {
		t.Errorf("alice is %q in the room, want invited", m)
	}
}

func TestPublicRoomIsDemoted(t *testing.T) {
	w := newWorld(t)
	alice := newPerson(t, w.hs, "alice")
	w.addPerson("alice", alice, bot.RoleResponder)
	resp, err := alice.cli.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{
		Preset: "public_chat",
		Invite: []id.UserID{id.UserID(w.botAcct.UserID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.rooms = []string{string(resp.RoomID)}
	r := w.start()
	if r.engine.IsPrivate(roomRef(string(resp.RoomID))) {
		t.Fatal("a public, unencrypted room still counts as private")
	}
}

// The bot is invited to its configured room only after it started: the
// start-up check holds the room, the invite is accepted, the room checked
// again and promoted, and the first encrypted message in it is readable by
// the member (the bot learnt the members before sending).
func TestInviteAfterStartPromotesTheRoom(t *testing.T) {
	w := newWorld(t)
	alice := newPerson(t, w.hs, "alice")
	w.addPerson("alice", alice, bot.RoleResponder, bot.RoleAdmin)
	room := alice.privateRoom() // the bot is not invited yet
	w.rooms = []string{string(room)}
	r := w.start()
	ref := roomRef(string(room))
	if r.engine.IsPrivate(ref) || !strings.Contains(r.engine.DemotionReason(ref), "not in the room") {
		t.Fatalf("before the invite: private=%v %q", r.engine.IsPrivate(ref), r.engine.DemotionReason(ref))
	}
	botID := id.UserID(w.botAcct.UserID)
	if _, err := alice.cli.InviteUser(context.Background(), room, &mautrix.ReqInviteUser{UserID: botID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the room to be promoted after the invite", func() bool { return r.engine.IsPrivate(ref) })
	ctx := context.Background()
	if err := r.engine.Post(ctx, "late-1", bot.ToRoom(ref, bot.ThreadRef{}), bot.Message{Text: secretDetail, Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	stop := r.stepping(ctx)
	got := alice.waitBot(botID, secretDetail)
	stop()
	if !got.Mautrix.WasEncrypted {
		t.Error("the message was not encrypted")
	}
	// The join rule made public demotes it again.
	if _, err := alice.cli.SendStateEvent(ctx, room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the room to be demoted once public", func() bool { return !r.engine.IsPrivate(ref) })
	if !strings.Contains(r.engine.DemotionReason(ref), "join rule") {
		t.Errorf("demoted for %q", r.engine.DemotionReason(ref))
	}
}
