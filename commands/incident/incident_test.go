package incident

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
	"github.com/vigil-sec/vigil/store"
)

// fakeGitHub is an in-memory GitHub with the calls recorded.
type fakeGitHub struct {
	mu     sync.Mutex
	calls  []string
	labels map[string]bool
	issues []Issue
	bodies []string
	pinned map[string]bool
	fail   map[string]error
}

func newFakeGitHub() *fakeGitHub {
	return &fakeGitHub{labels: map[string]bool{}, pinned: map[string]bool{}, fail: map[string]error{}}
}

func (g *fakeGitHub) record(call string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, call)
	name, _, _ := strings.Cut(call, " ")
	if err := g.fail[name]; err != nil {
		delete(g.fail, name)
		return err
	}
	return nil
}

func (g *fakeGitHub) EnsureLabel(_ context.Context, repo, label string) error {
	if err := g.record("label " + repo + " " + label); err != nil {
		return err
	}
	g.labels[label] = true
	return nil
}

func (g *fakeGitHub) CreateIssue(_ context.Context, repo, title, body string, labels []string) (Issue, error) {
	if err := g.record("issue " + repo + " " + title + " " + strings.Join(labels, ",")); err != nil {
		return Issue{}, err
	}
	n := len(g.issues) + 1
	is := Issue{Number: n, URL: fmt.Sprintf("https://github.com/%s/issues/%d", repo, n), NodeID: fmt.Sprintf("I_%d", n)}
	g.issues = append(g.issues, is)
	g.bodies = append(g.bodies, body)
	return is, nil
}

func (g *fakeGitHub) Pin(_ context.Context, id string) error {
	if err := g.record("pin " + id); err != nil {
		return err
	}
	g.pinned[id] = true
	return nil
}

func (g *fakeGitHub) Unpin(_ context.Context, id string) error {
	if err := g.record("unpin " + id); err != nil {
		return err
	}
	g.pinned[id] = false
	return nil
}

func (g *fakeGitHub) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

type rateLimited struct{}

func (rateLimited) Error() string             { return "rate limited" }
func (rateLimited) RetryAfter() time.Duration { return time.Minute }

func setup(t *testing.T) (*bottest.Harness, *Incidents, *fakeGitHub) {
	t.Helper()
	h := bottest.New(t, bottest.Options{})
	gh := newFakeGitHub()
	inc, err := Register(h.Engine, Options{GitHub: gh, Repository: "acme/security"})
	if err != nil {
		t.Fatal(err)
	}
	return h, inc, gh
}

// warRoom returns the thread of the incident's status header.
func warRoom(t *testing.T, h *bottest.Harness, id string) bot.ThreadRef {
	t.Helper()
	ref, ok, err := h.Engine.Outbox().PostedRef(context.Background(), rootID(id))
	if err != nil || !ok {
		t.Fatalf("war room of %s not posted: %v", id, err)
	}
	return bot.ThreadRef{Room: bottest.Room, ID: ref.ID}
}

func say(h *bottest.Harness, who string, thread bot.ThreadRef, msgID, text string) []bottest.Sent {
	return h.Event(bot.Event{Kind: bot.EventMessage, Room: bottest.Room, Thread: thread, User: bot.UserRef{Adapter: "test", ID: who},
		Message: bot.MessageRef{Room: bottest.Room, ID: msgID}, Text: text})
}

func react(h *bottest.Harness, who, msgID, emoji string) []bottest.Sent {
	return h.Event(bot.Event{Kind: bot.EventReaction, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: who},
		Message: bot.MessageRef{Room: bottest.Room, ID: msgID}, Reaction: emoji})
}

func TestStartPostsHeaderWithLead(t *testing.T) {
	h, _, _ := setup(t)
	out := h.Command("alice", `incident start "Leaked deploy token"`)
	if len(out) != 2 {
		t.Fatalf("sent %d messages, want the header and the reply: %q", len(out), bottest.Texts(out))
	}
	hdr := out[0]
	if out[1].Msg.Header != "" {
		hdr = out[1]
	}
	if !hdr.Msg.Sensitive || hdr.To.Room != bottest.Room || !hdr.To.Thread.IsZero() {
		t.Errorf("header %+v: want a sensitive root message in the private room", hdr.To)
	}
	bottest.InOrder(t, hdr.Msg.PlainText(), "INC-2026-1: Leaked deploy token", "State: 🔴 Open", "Lead: @alice", "Scribe: —")
	if !strings.Contains(bottest.Joined(out), "@alice leads") {
		t.Errorf("reply: %q", bottest.Texts(out))
	}
	if out := h.Command("alice", `incident start --room "x"`); !strings.Contains(bottest.Joined(out), "cannot create rooms") {
		t.Errorf("--room: %q", bottest.Texts(out))
	}
}

// Issue 16: a war room has one header, edited in place on every change.
func TestRolesAndStatusEditTheOneHeader(t *testing.T) {
	h, _, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	thread := warRoom(t, h, "INC-2026-1")
	h.Chat.TakeEdits()
	out := h.Command("alice", "incident role scribe @bob")
	for _, s := range out {
		if s.Msg.Header != "" {
			t.Errorf("a header was posted again: %q", s.Msg.PlainText())
		}
	}
	edits := h.Chat.TakeEdits()
	if len(edits) != 1 || edits[0].Ref.ID != thread.ID || !strings.Contains(edits[0].Msg.PlainText(), "Scribe: @bob") {
		t.Fatalf("edits %+v: want the header (the war room's root %s) edited to name the scribe", edits, thread.ID)
	}
	h.Command("alice", `incident status "Token revoked; auditing logs"`)
	if edits := h.Chat.TakeEdits(); len(edits) != 1 || edits[0].Ref.ID != thread.ID || !strings.Contains(edits[0].Msg.PlainText(), "Status: Token revoked; auditing logs") {
		t.Errorf("status edits: %+v", edits)
	}
	if out := h.Command("alice", "incident role boss @bob"); !strings.Contains(bottest.Joined(out), "roles are lead, scribe, comms") {
		t.Errorf("bad role: %q", bottest.Texts(out))
	}
	if out := h.Command("mallory", "incident role lead @mallory"); !strings.Contains(bottest.Joined(out), "Sorry") {
		t.Errorf("mallory (not on the team) set a role: %q", bottest.Texts(out))
	}
}

func TestPinnedMessagesBecomeTimelineEntries(t *testing.T) {
	h, inc, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	thread := warRoom(t, h, "INC-2026-1")
	h.Clock.Set(bottest.Start.Add(10 * time.Minute))
	say(h, "bob", thread, "m1", "Found the token in a public CI log")
	say(h, "bob", bot.ThreadRef{}, "m2", "lunch?") // outside the war room
	h.Clock.Set(bottest.Start.Add(20 * time.Minute))

	out := react(h, "alice", "m1", "pushpin") // Slack's name
	if !strings.Contains(bottest.Joined(out), "Timeline #1 (2026-01-05 09:10 UTC, @bob): Found the token in a public CI log") {
		t.Fatalf("pin: %q", bottest.Texts(out))
	}
	if out[0].To.InThreadOf != rootID("INC-2026-1") || !out[0].Msg.Sensitive {
		t.Errorf("confirmation went to %+v", out[0].To)
	}
	if out := react(h, "alice", "m1", "📌"); len(out) != 0 { // the emoji itself, a second time
		t.Errorf("a second pin added something: %q", bottest.Texts(out))
	}
	react(h, "alice", "m2", "📌")        // not a war-room message
	react(h, "mallory", "m1", "📎")      // not on the team
	react(h, "alice", "m1", "thumbsup") // another reaction
	in, err := inc.Get(context.Background(), "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 {
		t.Fatalf("entries %+v, want only the pinned war-room message", in.Entries)
	}
	e := in.Entries[0]
	if e.Author != "bob" || !e.At.Equal(bottest.Start.Add(10*time.Minute)) || e.By != "alice" {
		t.Errorf("entry %+v: want bob's time and name, pinned by alice", e)
	}
}

func TestTimelineShowsDatesAcrossDays(t *testing.T) {
	h, _, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	h.Command("bob", `incident log "Token revoked" --at 08:45`)
	out := h.Command("bob", "incident timeline")
	bottest.InOrder(t, bottest.Joined(out), "Mon 2026-01-05 (UTC)", "#1 08:45 @bob: Token revoked")
	if strings.Contains(bottest.Joined(out), "2026-01-05 08:45") {
		t.Errorf("one day: the entry should show no date: %q", bottest.Texts(out))
	}
	h.Advance(26 * time.Hour)
	h.Command("bob", `incident log "Audit finished"`)
	out = h.Command("bob", "incident timeline")
	bottest.InOrder(t, bottest.Joined(out), "#1 2026-01-05 08:45 UTC @bob: Token revoked", "#2 2026-01-06 11:00 UTC @bob: Audit finished")
	if out := h.Command("bob", `incident log "x" --at 23:59`); !strings.Contains(bottest.Joined(out), "in the future") {
		t.Errorf("future --at: %q", bottest.Texts(out))
	}
	// alice's zone is Europe/Paris: 10:00 there is 09:00 UTC.
	h.Command("alice", `incident log "Paris time" --at "2026-01-06 10:00"`)
	if out := h.Command("bob", "incident timeline"); !strings.Contains(bottest.Joined(out), "2026-01-06 09:00 UTC @alice: Paris time") {
		t.Errorf("--at in the person's zone: %q", bottest.Texts(out))
	}
	h.Command("bob", "incident entry 2 --remove")
	h.Command("bob", `incident entry 1 "Token revoked by alice"`)
	out = h.Command("bob", "incident timeline")
	if j := bottest.Joined(out); strings.Contains(j, "Audit finished") || !strings.Contains(j, "Token revoked by alice (edited)") {
		t.Errorf("after edit and removal: %q", bottest.Texts(out))
	}
}

func TestEvidenceListedApartWithWarning(t *testing.T) {
	h, _, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	thread := warRoom(t, h, "INC-2026-1")
	say(h, "bob", thread, "m1", "CI log excerpt, token redacted")
	react(h, "bob", "m1", "📎")
	h.Command("bob", `incident log "Audit log export" --evidence`)
	out := h.Command("bob", "incident evidence")
	j := bottest.Joined(out)
	bottest.InOrder(t, j, "Evidence of INC-2026-1", "CI log excerpt, token redacted", "Audit log export", "must hold no user data and no secrets")
	if out := h.Command("bob", "incident timeline"); strings.Contains(bottest.Joined(out), "CI log excerpt") {
		t.Errorf("evidence on the timeline: %q", bottest.Texts(out))
	}
}

func TestScanFindsWhatMustNotGoPublic(t *testing.T) {
	h, inc, _ := setup(t)
	in := &Incident{ID: "INC-1", Title: "t", Authors: []string{"alice"}, Sections: map[string]string{"tldr": "x", "references": "y"}}
	body := "Reported by bob from 203.0.113.7 and 2001:db8::1, mail carol@example.org, token ghp_abcdefghijklmnopqrstuvwxyz0123, " +
		"key AKIAABCDEFGHIJKLMNOP, fixed in 3f786850e387550fdab836ed7e6dc881de23001b by alice, robotic ≠ bob's"
	fs := inc.scan(in, body)
	got := fmt.Sprint(fs)
	for _, w := range []string{"{email address carol@example.org}", "{IP address 203.0.113.7}", "{IP address 2001:db8::1}", "{token or key ghp_ab…}", "{token or key AKIAAB…}", "{name bob}"} {
		if !strings.Contains(got, w) {
			t.Errorf("findings %s lack %s", got, w)
		}
	}
	for _, not := range []string{"alice", "3f7868", "{unwritten TLDR}"} {
		if strings.Contains(got, not) {
			t.Errorf("findings %s include %s", got, not)
		}
	}
	if fs := inc.scan(in, "A plain sentence about version 1.2.3."); len(fs) != 1 || fs[0].Kind != "unwritten" {
		t.Errorf("clean text (only the unwritten summary expected): %v", fs)
	}
	_ = h
}

// The whole path on a fake clock: start, timeline, resolve, write-up,
// scan, confirmation, publication, and the unpin no sooner than three days
// after resolution.
func TestStartToPublishAndUnpin(t *testing.T) {
	h, inc, gh := setup(t)
	ctx := context.Background()
	h.Command("alice", `incident start "Leaked deploy token"`)
	thread := warRoom(t, h, "INC-2026-1")
	h.Clock.Set(bottest.Start.Add(5 * time.Minute))
	say(h, "bob", thread, "m1", "Revoked the token; contact bob@example.org for the log")
	react(h, "alice", "m1", "📌")
	h.Advance(3 * time.Hour)
	h.Chat.TakeEdits()
	out := h.Command("alice", "incident resolve")
	if edits := h.Chat.TakeEdits(); len(edits) != 1 || !strings.Contains(edits[0].Msg.PlainText(), "State: ✅ Resolved 2026-01-05 12:05 UTC (after 3h 5m)") {
		t.Fatalf("resolve: %q; edits %+v, want the header edited", bottest.Texts(out), edits)
	}
	resolved := h.Clock.Now()

	out = h.Command("alice", "incident publish")
	j := bottest.Joined(out)
	bottest.InOrder(t, j, "Publish the write-up of INC-2026-1 to acme/security?", "email address: `bob@example.org`", "name: `bob`", "section TLDR is still a placeholder")
	if len(gh.Calls()) != 0 {
		t.Fatalf("GitHub called before confirmation: %v", gh.Calls())
	}
	var btn bot.Button
	for _, s := range out {
		if len(s.Msg.Buttons) == 1 {
			btn = s.Msg.Buttons[0]
		}
	}
	// An edit after the scan was shown voids that confirmation.
	h.Command("alice", `incident writeup edit tldr "No user needs to act: the token could only read public data."`)
	h.Command("alice", `incident writeup edit summary "A deploy token was printed in a CI log and revoked within minutes."`)
	h.Command("alice", `incident writeup edit references "https://example.org/blog/incident"`)
	h.Command("alice", `incident entry 1 "Token revoked"`)
	// Publishing asks first (Slack draws btn.Confirm; here the engine
	// asks for a "yes").
	if btn.Confirm == nil || !strings.Contains(btn.Confirm.Text, "becomes a public issue in acme/security") {
		t.Errorf("the publish button asks nothing first: %+v", btn.Confirm)
	}
	if out := h.Press("alice", btn); !strings.Contains(bottest.Joined(out), "Reply `yes`") || len(gh.Calls()) != 0 {
		t.Fatalf("publish press: %q, calls %v; want a question first", bottest.Texts(out), gh.Calls())
	}
	if out := h.Say("alice", "yes"); !strings.Contains(bottest.Joined(out), "changed since this was shown") || len(gh.Calls()) != 0 {
		t.Fatalf("stale button: %q, calls %v", bottest.Texts(out), gh.Calls())
	}
	out = h.Command("alice", "incident writeup")
	bottest.InOrder(t, bottest.Joined(out), "## TLDR", "No user needs to act", "## Summary", "## Timeline", "- **09:05** Token revoked", "- **12:05** Resolved.", "## References", "## Evidence", "None published.")
	if strings.Contains(bottest.Joined(out), "bob") {
		t.Errorf("the write-up names a non-author: %q", bottest.Texts(out))
	}
	gh.fail["issue"] = rateLimited{} // the first attempt is rate-limited
	out = h.Command("alice", "incident publish --confirm")
	if !strings.Contains(bottest.Joined(out), "publishing the write-up") {
		t.Fatalf("a clean write-up with --confirm should publish: %q", bottest.Texts(out))
	}
	out = h.Advance(2 * time.Minute)
	if !strings.Contains(bottest.Joined(out), "is published and pinned") {
		t.Fatalf("publish job: %q (calls %v)", bottest.Texts(out), gh.Calls())
	}
	want := []string{"label acme/security security-incident", "issue acme/security Security incident: Leaked deploy token security-incident",
		"label acme/security security-incident", "issue acme/security Security incident: Leaked deploy token security-incident", "pin I_1"}
	if got := gh.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls %q,\nwant %q", got, want)
	}
	if len(gh.issues) != 1 || !strings.Contains(gh.bodies[0], "# Security incident: Leaked deploy token") {
		t.Errorf("issues %+v", gh.issues)
	}
	if out := h.Command("alice", "incident publish --confirm"); !strings.Contains(bottest.Joined(out), "is published") {
		t.Errorf("second publish: %q", bottest.Texts(out))
	}

	// Two days after resolution: too early to unpin by hand.
	h.Advance(resolved.Add(48 * time.Hour).Sub(h.Clock.Now()))
	if out := h.Command("bob", "incident unpin"); !strings.Contains(bottest.Joined(out), "can be unpinned from 2026-01-08 12:05 UTC") {
		t.Errorf("early unpin: %q", bottest.Texts(out))
	}
	if !gh.pinned["I_1"] {
		t.Fatal("unpinned before three days")
	}
	h.Advance(resolved.Add(MinPinned).Sub(h.Clock.Now()))
	out = h.Command("bob", "incident unpin")
	if !strings.Contains(bottest.Joined(out), "is no longer pinned") || gh.pinned["I_1"] {
		t.Fatalf("unpin after three days: %q", bottest.Texts(out))
	}
	calls := len(gh.Calls())
	h.Advance(10 * 24 * time.Hour) // the planned unpin was moved, not doubled
	if got := gh.Calls(); len(got) != calls {
		t.Errorf("more GitHub calls after the unpin: %v", got[calls:])
	}
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil || in.Issue == nil || in.Issue.Pinned || !in.Issue.Unpinned.Equal(resolved.Add(MinPinned)) {
		t.Errorf("stored issue %+v (%v)", in.Issue, err)
	}
}

// Left alone, Vigil unpins the write-up PinnedFor after resolution.
func TestPlannedUnpin(t *testing.T) {
	h, _, gh := setup(t)
	h.Command("alice", `incident start "Leak"`)
	for _, sec := range []string{"tldr", "summary", "references"} {
		h.Command("alice", "incident writeup edit "+sec+` "Written."`)
	}
	if out := h.Command("alice", "incident publish --confirm"); !strings.Contains(bottest.Joined(out), "not resolved yet") {
		t.Fatalf("publish before resolution: %q", bottest.Texts(out))
	}
	h.Command("alice", "incident resolve")
	resolved := h.Clock.Now()
	h.Command("alice", "incident publish --confirm")
	h.Advance(time.Minute)
	if !gh.pinned["I_1"] {
		t.Fatalf("not pinned: %v", gh.Calls())
	}
	h.Advance(resolved.Add(7*24*time.Hour - time.Minute).Sub(h.Clock.Now()))
	if !gh.pinned["I_1"] {
		t.Fatal("unpinned before the planned time")
	}
	out := h.Advance(2 * time.Minute)
	if gh.pinned["I_1"] || !strings.Contains(bottest.Joined(out), "no longer pinned") {
		t.Errorf("planned unpin: pinned=%v %q", gh.pinned["I_1"], bottest.Texts(out))
	}
}

func TestPublishRefusedByGitHubIsToldAndRetryable(t *testing.T) {
	h, _, gh := setup(t)
	h.Command("alice", `incident start "Leak"`)
	for _, sec := range []string{"tldr", "summary", "references"} {
		h.Command("alice", "incident writeup edit "+sec+` "Written."`)
	}
	h.Command("alice", "incident resolve")
	gh.fail["label"] = errors.New("Vigil's token cannot create label (needs issues:write)")
	out := append(h.Command("alice", "incident publish --confirm"), h.Advance(time.Minute)...)
	if !strings.Contains(bottest.Joined(out), "Publishing the write-up of INC-2026-1 failed (label)") {
		t.Fatalf("refusal: %q", bottest.Texts(out))
	}
	out = append(h.Command("alice", "incident publish --confirm"), h.Advance(time.Minute)...)
	if !strings.Contains(bottest.Joined(out), "published and pinned") {
		t.Errorf("second attempt: %q", bottest.Texts(out))
	}
}

func TestSeveralOpenIncidentsNeedAnID(t *testing.T) {
	h, _, _ := setup(t)
	h.Command("alice", `incident start "One"`)
	h.Command("alice", `incident start "Two"`)
	if out := h.Command("alice", `incident status "x"`); !strings.Contains(bottest.Joined(out), "everal incidents are open (INC-2026-1, INC-2026-2)") {
		t.Errorf("ambiguous: %q", bottest.Texts(out))
	}
	thread := warRoom(t, h, "INC-2026-2")
	out := h.Event(bot.Event{Kind: bot.EventCommand, Room: bottest.Room, Thread: thread, User: bot.UserRef{Adapter: "test", ID: "alice"}, Text: `incident status "in two"`})
	if !strings.Contains(bottest.Joined(out), "updated the status of INC-2026-2") {
		t.Errorf("in the war room: %q", bottest.Texts(out))
	}
	if out := h.Command("alice", `incident status --id INC-2026-1 "in one"`); !strings.Contains(bottest.Joined(out), "updated the status of INC-2026-1") {
		t.Errorf("--id: %q", bottest.Texts(out))
	}
}

func TestIncidentDetailsStayPrivate(t *testing.T) {
	h, _, _ := setup(t)
	out := h.CommandIn(bottest.PublicRoom, "alice", `incident start "Leak"`)
	if j := bottest.Joined(out); strings.Contains(j, "Leak") || !strings.Contains(j, "private") {
		t.Errorf("in a public room: %q", bottest.Texts(out))
	}
}

func TestRegisterChecksOptions(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	if _, err := Register(h.Engine, Options{PinnedFor: 48 * time.Hour}); err == nil {
		t.Error("PinnedFor under three days accepted")
	}
	if _, err := Register(h.Engine, Options{PinReaction: "pushpin", EvidenceReaction: "📌"}); err == nil {
		t.Error("the same reaction for timeline and evidence accepted")
	}
}

// "incident list" says when each incident started and, once resolved, when
// it was resolved: the start time is never shown as the resolution.
func TestListSaysWhenResolved(t *testing.T) {
	h, _, _ := setup(t)
	h.Command("alice", `incident start "Leaked deploy token"`) // 09:00
	h.Advance(3*time.Hour + 5*time.Minute)
	h.Command("alice", "incident resolve") // 12:05
	h.Advance(time.Hour)
	h.Command("alice", `incident start "Second one"`) // 13:05
	j := bottest.Joined(h.Command("alice", "incident list"))
	bottest.InOrder(t, j,
		"INC-2026-2 Second one (open since 2026-01-05 13:05 UTC",
		"INC-2026-1 Leaked deploy token (started 2026-01-05 09:00 UTC, resolved 2026-01-05 12:05 UTC after 3h 5m, lead @alice)")
	if strings.Contains(j, "resolved since") {
		t.Errorf("list shows the start as the resolution: %q", j)
	}
}

// Ids come from the store's counter. Data from before it stays valid: the
// counter goes on after the number the old counter document reached, and
// an id still taken is skipped, so no incident is ever overwritten.
func TestIDsGoOnFromExistingIncidents(t *testing.T) {
	ctx := context.Background()
	t.Run("after the old counter document", func(t *testing.T) {
		h, inc, _ := setup(t)
		if _, err := h.Engine.Store().Put(ctx, counterColl, "2026", []byte("3"), 0); err != nil {
			t.Fatal(err)
		}
		bottest.InOrder(t, bottest.Joined(h.Command("alice", `incident start "Fourth"`)), "opened incident INC-2026-4")
		bottest.InOrder(t, bottest.Joined(h.Command("alice", `incident start "Fifth"`)), "opened incident INC-2026-5")
		// Another year has its own numbers.
		if id, err := inc.nextID(ctx, 2027); err != nil || id != "INC-2027-1" {
			t.Errorf("first id of 2027: %q %v", id, err)
		}
	})
	t.Run("past a taken id", func(t *testing.T) {
		h, _, _ := setup(t)
		if _, err := h.Engine.Store().Put(ctx, coll, "INC-2026-1", []byte(`{"id":"INC-2026-1","title":"Old","state":"resolved"}`), 0); err != nil {
			t.Fatal(err)
		}
		bottest.InOrder(t, bottest.Joined(h.Command("alice", `incident start "New"`)), "opened incident INC-2026-2")
	})
	t.Run("a damaged counter document", func(t *testing.T) {
		h, inc, _ := setup(t)
		if _, err := h.Engine.Store().Put(ctx, counterColl, "2026", []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := inc.nextID(ctx, 2026); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("damaged counter: %v, want ErrCorrupt", err)
		}
	})
}

// Replicas starting incidents at once get distinct ids, none of them one
// the old counter document already handed out.
func TestConcurrentIDsAreDistinct(t *testing.T) {
	ctx := context.Background()
	h, inc, _ := setup(t)
	if _, err := h.Engine.Store().Put(ctx, counterColl, "2026", []byte("2"), 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			id, err := inc.nextID(ctx, 2026)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("nextID: %v", err)
				return
			}
			ids[id] = true
		})
	}
	wg.Wait()
	for n := 3; n <= 18; n++ {
		if id := fmt.Sprintf("INC-2026-%d", n); !ids[id] {
			t.Errorf("%s not handed out; got %v", id, ids)
		}
	}
}
