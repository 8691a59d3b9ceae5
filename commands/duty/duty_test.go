package duty_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

var paris, _ = time.LoadLocation("Europe/Paris")

func people() []bot.Person {
	p := func(name string, roles ...bot.Role) bot.Person {
		return bot.Person{Name: name, Chat: map[string]string{"test": name}, Roles: roles}
	}
	return []bot.Person{
		p("alice", bot.RoleAdmin, bot.RoleResponder),
		p("bob", bot.RoleResponder),
		p("carol", bot.RoleResponder),
		p("dave", bot.RoleResponder),
		p("mallory"),
	}
}

type fixture struct {
	*bottest.Harness
	duty *duty.Duty
}

func newFixture(t *testing.T, o bottest.Options, do duty.Options) *fixture {
	t.Helper()
	if o.People == nil {
		o.People = people()
	}
	h := bottest.New(t, o)
	d, err := duty.Register(h.Engine, do)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{Harness: h, duty: d}
}

const create = `duty rotation create triage --members @alice,@bob,@carol --shift 1w --handoff "Mon 09:00 Europe/Paris"`

func texts(sent []bottest.Sent) string { return bottest.Joined(sent) }

func has(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q in:\n%s", w, got)
		}
	}
}

// roomHandoffs returns the hand-off announcements in the private room.
func roomHandoffs(sent []bottest.Sent) []bottest.Sent {
	var out []bottest.Sent
	for _, s := range sent {
		if !s.To.IsDM() && strings.HasPrefix(s.Msg.Header, "Duty hand-off") {
			out = append(out, s)
		}
	}
	return out
}

func TestCreateAndAsk(t *testing.T) {
	// Monday 5 January 2026, 10:00 UTC (11:00 in Paris).
	f := newFixture(t, bottest.Options{Clock: clock.NewFake(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))}, duty.Options{})
	has(t, texts(f.Command("bob", "duty")), "There are no rotations yet")
	sent := f.Command("alice", create)
	has(t, texts(sent), "@alice created rotation *triage* (the default): @alice is on duty until Mon 12 Jan 2026 09:00 CET, then @bob.")
	// Members are told their shifts.
	has(t, texts(bottest.DMsTo(sent, "bob")), "Your duty on *triage* changed", "Mon 12 Jan 2026 09:00 CET → Mon 19 Jan 2026 09:00 CET")
	has(t, texts(f.CommandIn(bottest.PublicRoom, "mallory", "duty")),
		"*triage*: @alice is on duty since Mon 5 Jan 2026 09:00 CET, until Mon 12 Jan 2026 09:00 CET. Next: @bob.")
	sched := texts(f.Command("bob", "duty schedule 3"))
	has(t, sched, "Mon 5 Jan 09:00 CET → Mon 12 Jan 09:00 CET  @alice _(now)_", "@bob", "Mon 19 Jan 09:00 CET → Mon 26 Jan 09:00 CET  @carol")
	if strings.Count(sched, "→") != 3 {
		t.Errorf("schedule 3 shows %d shifts:\n%s", strings.Count(sched, "→"), sched)
	}
	if n := strings.Count(texts(f.Command("bob", "duty schedule --weeks 10")), "→"); n != 10 {
		t.Errorf("--weeks 10 shows %d shifts", n)
	}
	has(t, texts(f.Command("bob", "duty rotation list")), "*triage* _(default)_: @alice, @bob, @carol; shifts of 1 week, hand-off Mon 09:00 Europe/Paris; on duty now: @alice")
	entries, _ := f.Engine.Audit().Last(context.Background(), 5)
	if len(entries) == 0 || entries[len(entries)-1].Action != "duty.rotation.create" {
		t.Errorf("creation not audited: %+v", entries)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create)
	before := texts(f.Command("bob", "duty schedule 8"))
	bad := []struct{ who, cmd, want string }{
		{"alice", `duty rotation create x --members @alice --shift 1w`, "--handoff is required"},
		{"alice", `duty rotation create x --members "" --shift 1w --handoff "Mon 09:00"`, "needs at least one member"},
		{"alice", `duty rotation create x --members @alice,@zed --shift 1w --handoff "Mon 09:00"`, "there is no @zed in the people directory"},
		{"alice", `duty rotation create x --members @alice,@alice --shift 1w --handoff "Mon 09:00"`, "@alice is listed twice"},
		{"alice", `duty rotation create x --members @alice --shift 1h --handoff "Mon 09:00"`, "--shift: shift \"1h\": use whole days or weeks"},
		{"alice", `duty rotation create x --members @alice --shift 1w --handoff "09:00"`, "needs a weekday"},
		{"alice", `duty rotation create X! --members @alice --shift 1w --handoff "Mon 09:00"`, "use lower-case letters"},
		{"alice", create, `rotation "triage" already exists`},
		{"bob", `duty rotation create x --members @bob --shift 1w --handoff "Mon 09:00"`, "needs the admin role"},
		{"bob", `duty override @zed --to 2026-01-07`, "there is no @zed"},
		{"bob", `duty override @carol --from 2026-01-08 --to 2026-01-07`, "must be before --to"},
		{"bob", `duty override @carol --from 2025-12-01 --to 2025-12-02`, "that span is in the past"},
		{"bob", `duty override @carol`, "--to TIME is required"},
		{"bob", `duty override @carol --to tomorrow`, `"tomorrow" is not a time`},
		{"bob", `duty override @carol --to 2026-01-07 --rotation nope`, `there is no rotation "nope" (rotations: triage)`},
		{"mallory", `duty override @carol --to 2026-01-07`, "needs the responder or admin role"},
		{"bob", `duty away @mallory --from 2026-01-06 --to 2026-01-07`, "not a member of any rotation"},
		{"bob", `duty away @carol --to 2026-01-07`, "--from TIME is required"},
		{"bob", `duty swap @bob 2026-01-12`, "you cannot swap a shift with yourself"},
		{"carol", `duty swap @alice 2026-01-12`, "is @bob's, not yours"},
		{"bob", `duty swap @dave 2026-01-12`, "@dave has no shift after"},
		{"bob", `duty handoff`, "only @alice (on duty) or an admin"},
		{"alice", `duty rotation edit triage`, "nothing to change"},
		{"alice", `duty rotation edit triage --shift 3d`, "needs a matching --handoff"},
		{"alice", `duty rotation delete nope`, `there is no rotation "nope"`},
		{"bob", `duty schedule 99`, "N must be from 1 to 52"},
	}
	for _, b := range bad {
		// Replies start with a capital; match the rest of the sentence.
		has(t, strings.ToLower(texts(f.Command(b.who, b.cmd))), strings.ToLower(b.want))
	}
	f.Command("bob", `duty override @carol --from "2026-01-07 09:00" --to "2026-01-08 09:00"`)
	has(t, texts(f.Command("bob", `duty override @dave --from "2026-01-07 18:00" --to "2026-01-09 09:00"`)), "overlaps the override of @carol")
	f.Command("bob", "duty schedule 8")
	after := texts(f.Command("bob", "duty schedule 8"))
	// Only the one valid override changed the schedule.
	if strings.Count(after, "override:") != 1 || strings.ReplaceAll(after, "    ↳ override: @carol Wed 7 Jan 09:00 CET → Thu 8 Jan 09:00 CET _(by @bob)_\n", "") != before {
		t.Errorf("schedule changed beyond the one override:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// The console acceptance path, as a test: three people, hand-offs across
// weeks, each announced once in the room with DMs to both people, in order.
func TestHandoffsAnnouncedInOrder(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create) // Monday 5 January 09:00 UTC = 10:00 Paris: alice's shift
	sent := f.Advance(15 * 24 * time.Hour)
	hand := roomHandoffs(sent)
	if len(hand) != 2 {
		t.Fatalf("%d hand-offs in two weeks, want 2: %q", len(hand), bottest.Texts(sent))
	}
	has(t, bottest.Read(hand[0].Msg), "Duty passes from @alice to @bob.", "Until: Mon 19 Jan 2026 09:00 CET", "Next: @carol")
	has(t, bottest.Read(hand[1].Msg), "Duty passes from @bob to @carol.")
	if want := time.Date(2026, 1, 12, 9, 0, 0, 0, paris); !hand[0].At.Equal(want) {
		t.Errorf("first hand-off at %s, want %s", hand[0].At, want)
	}
	// Order around the first hand-off: heads-up to bob the day before, then
	// the room message, then bob's and alice's DMs.
	var order []string
	for _, s := range sent {
		if s.At.Before(time.Date(2026, 1, 13, 0, 0, 0, 0, time.UTC)) {
			who := "room"
			if s.To.IsDM() {
				who = s.To.DM.ID
			}
			order = append(order, who+":"+strings.SplitN(bottest.Read(s.Msg), "\n", 2)[0])
		}
	}
	want := []string{
		"bob:Heads-up: duty (triage)",
		"room:Duty hand-off: triage",
		"bob:You are on duty: triage",
		"alice:Your duty shift for *triage* has ended; @bob has it now. Thank you!",
	}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("messages around the first hand-off:\n got %q\nwant %q", order, want)
	}
	has(t, texts(bottest.DMsTo(sent, "bob")), "@alice handed duty for *triage* to you. You are on duty until Mon 19 Jan 2026 09:00 CET; @carol is next.", "Nothing open is handed over.")
}

// A year on the fake clock, with restarts: every Monday 09:00 Paris
// hand-off is announced exactly once, in member order, whatever daylight
// saving does.
func TestAYearOfHandoffsAcrossDSTAndRestarts(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
	f := newFixture(t, bottest.Options{Store: st, Clock: clk}, duty.Options{})
	f.Command("alice", create)
	var all []bottest.Sent
	for week := 0; week < 53; week++ {
		all = append(all, f.Advance(7*24*time.Hour)...)
		if week%10 == 9 {
			// Restart: a new engine on the same store and clock.
			f = newFixture(t, bottest.Options{Store: st, Clock: clk}, duty.Options{})
		}
	}
	hand := roomHandoffs(all)
	if len(hand) != 53 {
		t.Fatalf("%d hand-offs in 53 weeks, want 53", len(hand))
	}
	members := []string{"alice", "bob", "carol"}
	for i, h := range hand {
		local := h.At.In(paris)
		if local.Weekday() != time.Monday || local.Hour() != 9 || local.Minute() != 0 {
			t.Errorf("hand-off %d at %s, want Monday 09:00 Paris", i, local)
		}
		if i > 0 && h.At.Sub(hand[i-1].At) < 167*time.Hour {
			t.Errorf("hand-offs %d and %d only %s apart", i-1, i, h.At.Sub(hand[i-1].At))
		}
		want := fmt.Sprintf("Duty passes from @%s to @%s.", members[i%3], members[(i+1)%3])
		if !strings.Contains(bottest.Read(h.Msg), want) {
			t.Errorf("hand-off %d: %q, want %q", i, h.Msg.Text, want)
		}
	}
	for _, who := range members {
		if n := len(bottest.DMsTo(all, who)); n < 50 || n > 54 {
			// Each person: about 53/3 shifts, each with a heads-up, a
			// welcome and a goodbye.
			t.Errorf("%s got %d DMs in the year", who, n)
		}
	}
}

// Two replicas on one Redis, stepping at the same moments: each hand-off
// is announced once, even when the leader dies.
func TestTwoReplicasAnnounceOnce(t *testing.T) {
	srv := testredis.Start(t)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
	a := newFixture(t, bottest.Options{Store: st, Clock: clk, Instance: "a", LeaseTTL: time.Minute}, duty.Options{})
	b := newFixture(t, bottest.Options{Store: st, Clock: clk, Instance: "b", LeaseTTL: time.Minute}, duty.Options{})
	a.Command("alice", create)
	ctx := context.Background()
	a.Engine.Step(ctx) // a leads
	for now := clk.Now(); now.Before(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)); now = now.Add(20 * time.Minute) {
		clk.Set(now)
		var wg sync.WaitGroup
		if now.Before(time.Date(2026, 1, 27, 0, 0, 0, 0, time.UTC)) {
			wg.Go(func() { a.Engine.Step(ctx) })
		}
		wg.Go(func() { b.Engine.Step(ctx) })
		wg.Wait()
	}
	hand := append(roomHandoffs(a.Chat.Sent()), roomHandoffs(b.Chat.Sent())...)
	if len(hand) != 8 {
		t.Fatalf("%d hand-off announcements over 8 weeks on two replicas, want 8", len(hand))
	}
	// b took over the scheduler after a died (any replica may deliver
	// queued messages; only the lease holder runs the hand-off jobs).
	if holder, err := st.LeaseHolder(ctx, "scheduler", clk.Now()); err != nil || holder != "b" {
		t.Errorf("scheduler lease held by %q (%v), want b after a died", holder, err)
	}
	seen := map[time.Time]bool{}
	for _, h := range hand {
		if seen[h.At] {
			t.Errorf("hand-off at %s announced twice", h.At)
		}
		seen[h.At] = true
	}
}

func TestOverrideAnnouncedAtItsEdges(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create)
	sent := f.Command("bob", `duty override @dave --from "2026-01-07 09:00" --to "2026-01-08 09:00"`)
	has(t, texts(sent), "@dave covers *triage* from Wed 7 Jan 2026 09:00 CET to Thu 8 Jan 2026 09:00 CET.")
	// dave and alice are told their duty moved; bob made the change.
	has(t, texts(bottest.DMsTo(sent, "dave")), "Your duty on *triage* changed (override by @bob)", "Wed 7 Jan 2026 09:00 CET → Thu 8 Jan 2026 09:00 CET")
	has(t, texts(bottest.DMsTo(sent, "alice")), "Your duty on *triage* changed")
	if len(bottest.DMsTo(sent, "bob")) != 0 {
		t.Errorf("bob, who made the change, was told about it")
	}
	hand := roomHandoffs(f.Advance(3 * 24 * time.Hour))
	if len(hand) != 2 {
		t.Fatalf("%d announcements around the override, want 2", len(hand))
	}
	has(t, bottest.Read(hand[0].Msg), "from @alice to @dave")
	has(t, bottest.Read(hand[1].Msg), "from @dave to @alice")
	has(t, texts(f.Command("bob", "duty")), "@alice is on duty")
}

func TestSwapNeedsTheOtherPersonsYes(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create) // alice 5 Jan, bob 12 Jan, carol 19 Jan, alice 26 Jan
	sent := f.Command("bob", "duty swap @carol 2026-01-14")
	has(t, texts(sent), "Asked @carol to take the shift of Mon 12 Jan 09:00 CET in exchange for theirs of Mon 19 Jan 09:00 CET. Nothing changes until they accept.")
	ask := bottest.DMsTo(sent, "carol")
	if len(ask) != 1 || len(ask[0].Msg.Buttons) != 2 {
		t.Fatalf("carol should get one DM with Accept/Decline: %+v", ask)
	}
	accept := ask[0].Msg.Buttons[0]
	has(t, texts(f.Command("bob", "duty schedule 3")), "Mon 12 Jan 09:00 CET → Mon 19 Jan 09:00 CET  @bob")
	has(t, texts(f.Press("alice", accept)), "this swap request is for @carol")
	// Pressed in the DM it came in: the request is edited to show the
	// answer, without its buttons.
	askRef := bot.MessageRef{Room: bot.RoomRef{Adapter: "test", ID: "dm-carol"}, ID: "ask-1"}
	f.Chat.TakeEdits()
	sent = f.Event(bot.Event{Kind: bot.EventButton, DM: true, Room: askRef.Room, Message: askRef, User: bot.UserRef{Adapter: "test", ID: "carol"}, Action: accept.Action, Value: accept.Value})
	has(t, texts(sent), "Swapped: @carol is on duty Mon 12 Jan 2026 09:00 CET → Mon 19 Jan 2026 09:00 CET instead of Mon 19 Jan 2026")
	if edits := f.Chat.TakeEdits(); len(edits) != 1 || edits[0].Ref != askRef || edits[0].Msg.Header != "Shift swap accepted (triage)" ||
		len(edits[0].Msg.Buttons) != 0 || !strings.Contains(bottest.Read(edits[0].Msg), "@bob asks to trade shifts with you") {
		t.Errorf("edits %+v; want the request edited to show it was accepted, no buttons", edits)
	}
	has(t, texts(bottest.DMsTo(sent, "bob")), "@carol accepted your shift swap on *triage*")
	sched := texts(f.Command("bob", "duty schedule 3"))
	has(t, sched, "Mon 12 Jan 09:00 CET → Mon 19 Jan 09:00 CET  @carol _(swapped)_", "Mon 19 Jan 09:00 CET → Mon 26 Jan 09:00 CET  @bob _(swapped)_")
	has(t, texts(f.Press("carol", accept)), "already answered")
	// Decline: nothing changes, the asker is told.
	sent = f.Command("carol", "duty swap @alice 2026-01-12")
	decline := bottest.DMsTo(sent, "alice")[0].Msg.Buttons[1]
	if decline.Confirm == nil {
		t.Error("Decline does not ask first")
	}
	has(t, texts(f.Press("alice", decline)), "Decline the swap?", "Reply `yes`")
	sent = f.Say("alice", "yes")
	has(t, texts(sent), "Declined; @carol is told and nothing changed.")
	has(t, texts(bottest.DMsTo(sent, "carol")), "@alice declined your shift swap")
	if got := texts(f.Command("bob", "duty schedule 3")); got != sched {
		t.Errorf("a declined swap changed the schedule:\n%s", got)
	}
}

func TestAwaySkipsAndHandoffNow(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create)
	has(t, texts(f.Command("alice", "duty away @bob --from 2026-01-10 --to 2026-01-20")), "@alice marked @bob away in triage")
	has(t, texts(f.Command("bob", "duty schedule 3")), "Mon 12 Jan 09:00 CET → Mon 19 Jan 09:00 CET  @carol _(@bob away)_")
	sent := f.Command("alice", "duty handoff")
	has(t, texts(sent), "@alice handed *triage* over from @alice to @carol.")
	hand := roomHandoffs(sent)
	if len(hand) != 1 || !strings.Contains(bottest.Read(hand[0].Msg), "Duty passes from @alice to @carol.") {
		t.Errorf("hand-off now was not announced: %q", bottest.Texts(sent))
	}
	has(t, texts(bottest.DMsTo(sent, "carol")), "@alice handed duty for *triage* to you")
	has(t, texts(f.Command("bob", "duty")), "@carol is on duty")
	// The regular hand-off on Monday is carol to carol: nothing to announce;
	// the one after is.
	if hand := roomHandoffs(f.Advance(8 * 24 * time.Hour)); len(hand) != 0 {
		t.Errorf("announced %q though carol simply carries on", bottest.Texts(hand))
	}
}

func TestEditKeepsWhoeverIsOnDuty(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create)
	f.Advance(8 * 24 * time.Hour) // bob's shift
	sent := f.Command("alice", `duty rotation edit triage --members @dave,@carol,@bob,@alice --handoff "Tue 10:00 Europe/Paris"`)
	has(t, texts(sent), "@alice updated rotation *triage*: @bob is on duty now; shifts of 1 week, hand-off Tue 10:00 Europe/Paris.")
	has(t, texts(bottest.DMsTo(sent, "dave")), "Your duty on *triage* changed (the rotation was edited by @alice)")
	has(t, texts(f.Command("bob", "duty schedule 2")), "Tue 13 Jan 10:00 CET → Tue 20 Jan 10:00 CET  @bob _(now)_\nTue 20 Jan 10:00 CET → Tue 27 Jan 10:00 CET  @alice")
	has(t, texts(f.Command("alice", "duty rotation delete triage")), "@alice deleted rotation *triage*.")
	if hand := roomHandoffs(f.Advance(30 * 24 * time.Hour)); len(hand) != 0 {
		t.Errorf("a deleted rotation still announced: %q", bottest.Texts(hand))
	}
}

func TestConfiguredRotationAndNotice(t *testing.T) {
	spec := duty.RotationSpec{Name: "release", Members: []string{"@dave", "carol"}, Shift: "2d", Handoff: "17:00 America/New_York", Default: true}
	f := newFixture(t, bottest.Options{}, duty.Options{Rotations: []duty.RotationSpec{spec}, NoticeBefore: 3 * time.Hour})
	has(t, texts(f.Command("bob", "duty")), "*release*: @dave is on duty")
	has(t, texts(f.Command("alice", "duty rotation delete release")), "comes from the configuration file")
	sent := f.Advance(3 * 24 * time.Hour)
	notices := 0
	for _, s := range bottest.DMsTo(sent, "carol") {
		if strings.HasPrefix(s.Msg.Header, "Heads-up") {
			notices++
			if start := s.At.Add(3 * time.Hour).In(mustLoc(t, "America/New_York")); start.Hour() != 17 {
				t.Errorf("heads-up at %s is not 3h before a 17:00 hand-off", s.At)
			}
		}
	}
	if notices != 1 {
		t.Errorf("carol got %d heads-ups, want 1", notices)
	}
	if _, err := duty.Register(f.Engine, duty.Options{Rotations: []duty.RotationSpec{{Name: "x", Shift: "1w", Handoff: "09:00"}}}); err == nil ||
		!strings.Contains(err.Error(), "duty.rotations[0].members: a rotation needs at least one member") ||
		!strings.Contains(err.Error(), "duty.rotations[0].handoff") {
		t.Errorf("bad specs: %v", err)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestICalFeed(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{ICalToken: "s3cret"})
	f.Command("alice", create)
	srv := httptest.NewServer(f.Engine.HTTP())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/duty/triage.ics"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _ := get("/duty/triage.ics?token=wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	if code, _ := get("/duty/nope.ics?token=s3cret"); code != http.StatusNotFound {
		t.Errorf("unknown rotation: %d", code)
	}
	code, body := get("/duty/triage.ics?token=s3cret")
	if code != 200 || !strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") || strings.Count(body, "BEGIN:VEVENT") < 25 {
		t.Errorf("feed: %d\n%s", code, body)
	}
	has(t, body, "SUMMARY:On duty (triage): @bob", "DTSTART:20260112T080000Z")
}

func TestICalFeedOffWithoutToken(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create)
	rec := httptest.NewRecorder()
	f.Engine.HTTP().ServeHTTP(rec, httptest.NewRequest("GET", "/duty/triage.ics?token=", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("feed without a configured token: %d", rec.Code)
	}
}

// OnDuty is what other features (report intake) ask.
func TestOnDutyForOtherFeatures(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	f.Command("alice", create)
	p, err := f.duty.OnDuty(context.Background(), "", time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC))
	if err != nil || p.Name != "carol" {
		t.Errorf("OnDuty on 20 January = %v, %v; want carol", p, err)
	}
	var _ store.Store = f.Store
}

// Vigil is down over a hand-off: when it starts again, that hand-off is
// announced (late) rather than skipped, and only once.
func TestHandoffMissedWhileDownIsAnnouncedOnRestart(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(bottest.Start)
	f := newFixture(t, bottest.Options{Store: st, Clock: clk}, duty.Options{})
	f.Command("alice", create)
	f.Advance(24 * time.Hour)
	// Down from Tuesday to Monday 12 January 11:00 UTC, two hours after the
	// hand-off: nothing runs meanwhile.
	clk.Set(time.Date(2026, 1, 12, 11, 0, 0, 0, time.UTC))
	g := newFixture(t, bottest.Options{Store: st, Clock: clk}, duty.Options{})
	hand := roomHandoffs(g.Advance(time.Minute))
	if len(hand) != 1 || !strings.Contains(bottest.Read(hand[0].Msg), "from @alice to @bob") {
		t.Fatalf("after the restart: %q", bottest.Texts(hand))
	}
	if again := roomHandoffs(g.Advance(24 * time.Hour)); len(again) != 0 {
		t.Errorf("announced again: %q", bottest.Texts(again))
	}
}

// Who sees what: a rota change is told to the room, "who is on duty" is
// for the asker alone.
func TestAudienceOfAnswers(t *testing.T) {
	f := newFixture(t, bottest.Options{}, duty.Options{})
	for _, s := range f.Command("alice", create) {
		if !s.To.IsDM() && s.ForAsker() {
			t.Errorf("creating a rotation answered the asker only: %q", bottest.Read(s.Msg))
		}
	}
	out := f.Command("bob", "duty")
	if len(out) != 1 || !out[0].ForAsker() {
		t.Errorf("duty = %q, want one answer for the asker", bottest.Texts(out))
	}
}
