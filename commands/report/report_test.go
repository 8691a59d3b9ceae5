package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/store"
)

// mailbox is an intake.Mailer that records mail and can fail.
type mailbox struct {
	mu   sync.Mutex
	sent []intake.Mail
	fail func(intake.Mail) error
}

func (m *mailbox) Send(_ context.Context, mail intake.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(mail); err != nil {
			return err
		}
	}
	m.sent = append(m.sent, mail)
	return nil
}

func (m *mailbox) all() []intake.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]intake.Mail(nil), m.sent...)
}

// github records advisory state changes and can fail.
type github struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (g *github) SetAdvisoryState(_ context.Context, repo, ghsa, state string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		err := g.fail
		g.fail = nil
		return err
	}
	g.calls = append(g.calls, repo+" "+ghsa+" "+state)
	return nil
}

type rateLimited struct{ after time.Duration }

func (e rateLimited) Error() string             { return "rate limited" }
func (e rateLimited) RetryAfter() time.Duration { return e.after }

// team: alice (admin), bob and carol (responders), mallory (no role).
func team() []bot.Person {
	p := func(name string, roles ...bot.Role) bot.Person {
		return bot.Person{Name: name, Chat: map[string]string{"test": name}, Roles: roles}
	}
	return []bot.Person{p("alice", bot.RoleAdmin, bot.RoleResponder), p("bob", bot.RoleResponder), p("carol", bot.RoleResponder), p("mallory")}
}

type fixture struct {
	*bottest.Harness
	reports *report.Reports
	mail    *mailbox
	gh      *github
}

func newFixture(t *testing.T, o report.Options) *fixture {
	t.Helper()
	h := bottest.New(t, bottest.Options{People: team()})
	d, err := duty.Register(h.Engine, duty.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Duty == nil {
		o.Duty = d
	}
	if o.Operators == nil {
		o.Operators = []report.Operator{{Name: "examplehost", Domain: "examplehost.net", Contact: "security@examplehost.net"}}
	}
	f := &fixture{Harness: h, mail: &mailbox{}, gh: &github{}}
	o.Mailer, o.Advisories = f.mail, f.gh
	r, err := report.Register(h.Engine, o)
	if err != nil {
		t.Fatal(err)
	}
	d.AddContributor(r.Inheritance)
	f.reports = r
	// bob is on duty this week, carol next week.
	f.Command("alice", `duty rotation create triage --members @bob,@carol --shift 1w --handoff "Mon 09:00 UTC"`)
	f.Chat.Take()
	return f
}

func (f *fixture) receive(t *testing.T, in intake.Incoming) intake.Result {
	t.Helper()
	res, err := f.reports.Receive(context.Background(), in)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return res
}

func sample(id string) intake.Incoming {
	return intake.Incoming{
		Source: intake.SourceEmail, SourceID: id,
		Title: "XSS in the search page", Description: "The q parameter is reflected unescaped.\nPoC attached.",
		Reporter:    intake.Reporter{Name: "Eve", Email: "eve@example.org", Credit: true},
		Attachments: []intake.Attachment{{Name: "poc.html", ContentType: "text/html", Size: 512, Data: []byte("<script>")}},
	}
}

func has(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q in:\n%s", w, got)
		}
	}
}

func joined(sent []bottest.Sent) string { return bottest.Joined(sent) }

func TestReportLandsInThePrivateRoomAssignedToDuty(t *testing.T) {
	f := newFixture(t, report.Options{})
	res := f.receive(t, sample("msg-1@example.org"))
	if res.ReportID != "VIG-2026-1" || !res.Created {
		t.Fatalf("result %+v", res)
	}
	sent := f.Advance(0)
	if len(sent) != 2 {
		t.Fatalf("want the report in the room and a DM to bob, got %q", bottest.Texts(sent))
	}
	root := sent[0]
	if root.To.Room != bottest.Room || root.To.IsDM() || !root.Msg.Sensitive {
		t.Errorf("the report went to %v (sensitive %v), want the private room", root.To, root.Msg.Sensitive)
	}
	has(t, bottest.Read(root.Msg), "VIG-2026-1: XSS in the search page", "The q parameter is reflected unescaped.",
		"Source: the security mailbox", "Reporter: Eve <eve@example.org> (wants credit)", "Received: Mon 5 Jan 2026 09:00 UTC",
		"Acknowledge by: Wed 7 Jan 2026 09:00 UTC", "Assignee: @bob", "poc.html (text/html, 512 bytes)",
		"☐ Verify the report", "☐ Notify maintainers")
	if strings.Contains(bottest.Read(root.Msg), "<script>") {
		t.Error("an attachment's content was posted")
	}
	if len(root.Msg.Buttons) != 8 {
		t.Errorf("%d buttons, want Acknowledge and seven checklist ticks", len(root.Msg.Buttons))
	}
	if dm := sent[1]; dm.To.DM.ID != "bob" || !strings.Contains(bottest.Read(dm.Msg), "New report assigned to you: VIG-2026-1") {
		t.Errorf("assignee DM: %+v", dm)
	}
	// The same mail again (a redelivery) is the same report.
	again := f.receive(t, sample("msg-1@example.org"))
	if again.ReportID != "VIG-2026-1" || again.Created {
		t.Errorf("a repeat made %+v", again)
	}
	if more := f.Advance(time.Minute); len(more) != 0 {
		t.Errorf("a repeat posted again: %q", bottest.Texts(more))
	}
	if next := f.receive(t, sample("msg-2@example.org")); next.ReportID != "VIG-2026-2" {
		t.Errorf("second report id %s", next.ReportID)
	}
}

// The clock: the assignee at half time, the room at 40 hours, a breach at
// 48; acknowledging stops it.
func TestAcknowledgementClock(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("a@x"))
	f.receive(t, sample("b@x"))
	f.Advance(0)
	sent := f.Advance(24 * time.Hour)
	var half []string
	for _, s := range sent {
		half = append(half, fmt.Sprintf("%s|%s", where(s), strings.SplitN(bottest.Read(s.Msg), ":", 2)[0]))
	}
	has(t, joined(sent), "Half of the acknowledgement window of VIG-2026-1 has passed: 24h left", "must be acknowledged within 24h")
	if n := len(bottest.DMsTo(sent, "bob")); n != 2 {
		t.Errorf("bob got %d half-time pings, want 2 (one per report): %v", n, half)
	}
	has(t, joined(f.Command("bob", "report ack VIG-2026-2")), "@bob acknowledged VIG-2026-2 with 24h to spare; the clock has stopped.")
	sent = f.Advance(16 * time.Hour)
	has(t, joined(sent), "⏰ 8h left to acknowledge VIG-2026-1")
	if strings.Contains(joined(sent), "VIG-2026-2") {
		t.Errorf("the acknowledged report's clock kept running: %s", joined(sent))
	}
	for _, s := range sent {
		if !s.To.IsDM() && s.To.Thread.IsZero() {
			t.Errorf("a clock ping went outside the report's thread: %+v", s.To)
		}
	}
	sent = f.Advance(8 * time.Hour)
	has(t, joined(sent), "❗ VIG-2026-1 was not acknowledged within 48h")
	has(t, joined(f.Command("bob", "report list")), "*VIG-2026-1* [new] XSS in the search page — @bob — ❗ acknowledgement overdue", "*VIG-2026-2* [acknowledged]")
	entries, _ := f.Engine.Audit().Last(context.Background(), 20)
	breaches := 0
	for _, e := range entries {
		if e.Action == "report.ack.breach" {
			breaches++
			if e.Target != "VIG-2026-1" {
				t.Errorf("breach recorded for %s", e.Target)
			}
		}
	}
	if breaches != 1 {
		t.Errorf("%d breaches recorded, want 1", breaches)
	}
	if more := joined(f.Advance(7 * 24 * time.Hour)); strings.Contains(more, "⏳") || strings.Contains(more, "⏰") || strings.Contains(more, "was not acknowledged") {
		t.Errorf("pinged again after the breach: %s", more)
	}
}

func where(s bottest.Sent) string {
	if s.To.IsDM() {
		return "dm:" + s.To.DM.ID
	}
	return "room"
}

func TestStateMachineAndReporterMail(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("orig-1@example.org"))
	f.Advance(0)
	has(t, joined(f.Command("bob", "report accept VIG-2026-1")), "VIG-2026-1 is new and cannot become accepted (from new it can become acknowledged)", "Usage: `/sec report accept ID`")
	has(t, joined(f.Command("bob", "report close VIG-2026-1")), "cannot become closed")
	f.Command("bob", "report ack VIG-2026-1")
	has(t, joined(f.Command("bob", "report ack VIG-2026-1")), "VIG-2026-1 is already acknowledged.")
	f.Advance(time.Minute)
	mails := f.mail.all()
	if len(mails) != 1 {
		t.Fatalf("%d mails after ack, want 1", len(mails))
	}
	m := mails[0]
	if m.To != "eve@example.org" || m.InReplyTo != "<orig-1@example.org>" || !strings.Contains(m.Subject, "[VIG-2026-1]") || !strings.Contains(m.Body, "tracked as VIG-2026-1") {
		t.Errorf("acknowledgement mail: %+v", m)
	}
	has(t, joined(f.Command("bob", "report show VIG-2026-1")), "Reply to the reporter by @bob")
	has(t, joined(f.Command("bob", "report reject VIG-2026-1")), "--reason is required")
	f.Command("bob", `report reject VIG-2026-1 --reason "Works as documented: q is escaped by the template."`)
	f.Advance(time.Minute)
	mails = f.mail.all()
	if len(mails) != 2 || !strings.Contains(mails[1].Body, "Works as documented") {
		t.Errorf("rejection mail: %+v", mails)
	}
	has(t, joined(f.Command("bob", "report close VIG-2026-1")), "moved VIG-2026-1 to closed")
	if list := joined(f.Command("bob", "report list")); !strings.Contains(list, "No reports match") {
		t.Errorf("a closed report is still listed as open: %s", list)
	}
	has(t, joined(f.Command("bob", "report list --all")), "*VIG-2026-1* [closed]")
	has(t, joined(f.Command("bob", "report list --state bogus")), `unknown state "bogus"`)
}

// The reporter answers Vigil's mail: the answer lands in the report's
// thread, once, instead of opening a new report.
func TestReporterReplyIsThreaded(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("orig@example.org"))
	f.Command("bob", "report ack VIG-2026-1")
	f.Advance(time.Minute)
	ours := f.mail.all()[0].MessageID
	reply := intake.Incoming{
		Source: intake.SourceEmail, SourceID: "reply-1@example.org", Title: "Re: XSS",
		Description: "Thanks! Here is a second PoC.", Reporter: intake.Reporter{Email: "eve@example.org"},
		InReplyTo: []string{ours},
	}
	res := f.receive(t, reply)
	if !res.Reply || res.ReportID != "VIG-2026-1" || res.Created {
		t.Fatalf("reply result %+v", res)
	}
	f.receive(t, reply) // redelivered
	sent := f.Advance(time.Minute)
	if n := strings.Count(joined(sent), "Here is a second PoC."); n != 1 {
		t.Errorf("the reply was posted %d times: %q", n, bottest.Texts(sent))
	}
	for _, s := range sent {
		if strings.Contains(bottest.Read(s.Msg), "second PoC") && s.To.Thread.IsZero() {
			t.Errorf("the reply went outside the thread")
		}
	}
	if list := joined(f.Command("bob", "report list --all")); strings.Contains(list, "VIG-2026-2") {
		t.Errorf("the reply opened a new report: %s", list)
	}
}

func TestMailRetriesUntilTheRelayTakesIt(t *testing.T) {
	f := newFixture(t, report.Options{})
	down := true
	f.mail.fail = func(intake.Mail) error {
		if down {
			return fmt.Errorf("dial relay: %w", intake.ErrTemporary)
		}
		return nil
	}
	f.receive(t, sample("x@y"))
	f.Command("bob", "report ack VIG-2026-1")
	f.Advance(10 * time.Minute)
	if len(f.mail.all()) != 0 {
		t.Fatal("sent while the relay was down")
	}
	down = false
	f.Advance(2 * time.Hour)
	if n := len(f.mail.all()); n != 1 {
		t.Errorf("%d mails once the relay was back, want exactly 1", n)
	}
}

func TestAcceptMovesTheGitHubAdvisoryToDraft(t *testing.T) {
	f := newFixture(t, report.Options{})
	in := intake.Incoming{Source: intake.SourceGitHub, SourceID: "GHSA-abcd-1234-wxyz", Title: "Path traversal", Description: "../ in upload names",
		Reporter: intake.Reporter{GitHub: "eve"}, GitHubRepo: "acme/web", GHSA: "GHSA-abcd-1234-wxyz"}
	f.receive(t, in)
	has(t, joined(f.Advance(0)), "Source: GitHub private vulnerability reporting", "Advisory: acme/web GHSA-abcd-1234-wxyz", "GitHub @eve")
	f.gh.fail = rateLimited{after: 10 * time.Minute}
	f.Command("bob", "report ack VIG-2026-1")
	f.Command("bob", "report accept VIG-2026-1")
	f.Advance(time.Minute)
	if len(f.gh.calls) != 0 {
		t.Fatalf("calls during the rate limit: %v", f.gh.calls)
	}
	sent := f.Advance(time.Hour)
	if strings.Join(f.gh.calls, ";") != "acme/web GHSA-abcd-1234-wxyz draft" {
		t.Errorf("GitHub calls %v, want one move to draft after the rate limit", f.gh.calls)
	}
	has(t, joined(sent), "GitHub advisory GHSA-abcd-1234-wxyz in acme/web is now draft.")
	if len(f.mail.all()) != 0 {
		t.Errorf("mailed a GitHub reporter who has no address: %+v", f.mail.all())
	}
}

func TestForwardToOperator(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("fwd@x"))
	has(t, joined(f.Command("bob", "report forward VIG-2026-1 nobody")), `Unknown operator "nobody" (operators: examplehost)`)
	has(t, joined(f.Command("bob", "report forward VIG-2026-1 ExampleHost")), "@bob forwarded VIG-2026-1 to examplehost (security@examplehost.net).")
	has(t, joined(f.Command("bob", "report forward VIG-2026-1 examplehost")), "already forwarded")
	f.Advance(time.Minute)
	mails := f.mail.all()
	if len(mails) != 1 || mails[0].To != "security@examplehost.net" || !strings.Contains(mails[0].Body, "The q parameter is reflected unescaped.") {
		t.Errorf("operator mail: %+v", mails)
	}
	has(t, joined(f.Command("bob", "report show VIG-2026-1")), "Forwarded to: examplehost", "Forward to an operator if operator-specific by @bob")
}

func TestChecklistButtonsAndCommands(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("c@x"))
	root := f.Advance(0)[0]
	verify := root.Msg.Buttons[1]
	has(t, joined(f.Press("bob", verify)), `@bob ticked "Verify the report" on VIG-2026-1.`, "☑ Verify the report")
	has(t, joined(f.Press("bob", verify)), "already ticked")
	has(t, joined(f.Press("mallory", verify)), "needs the responder or admin role")
	has(t, joined(f.Command("bob", "report check VIG-2026-1 nonsense")), `Unknown checklist item "nonsense"`)
	has(t, joined(f.Command("bob", "report check VIG-2026-1 verify --undo")), `@bob unticked "Verify the report"`)
	has(t, joined(f.Press("carol", root.Msg.Buttons[0])), "@carol acknowledged VIG-2026-1")
}

func TestReportDetailsStayPrivate(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("p@x"))
	f.Advance(0)
	got := joined(f.CommandIn(bottest.PublicRoom, "bob", "report show VIG-2026-1"))
	if strings.Contains(got, "reflected") || !strings.Contains(got, "only in the private security room") {
		t.Errorf("report show in a public room: %s", got)
	}
	has(t, joined(f.Command("mallory", "report list")), "needs the responder or admin role")
	has(t, joined(f.Command("bob", "report assign VIG-2026-1 @mallory")), "@mallory is not on the security team")
	sent := f.Command("bob", "report assign VIG-2026-1 @carol")
	has(t, joined(bottest.DMsTo(sent, "carol")), "New report assigned to you: VIG-2026-1")
}

func TestReportFormByHand(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.Command("bob", "report new")
	for _, answer := range []string{"CSRF on settings", "No token on POST /settings.", "-", "not-an-email", "-", "2", "acme/web, acme/api"} {
		f.Say("bob", answer)
	}
	sent := f.Advance(0)
	has(t, joined(f.Command("bob", "report show VIG-2026-1")), "VIG-2026-1: CSRF on settings", "Repositories: acme/web, acme/api", "Source: a team member's form", "Reporter: anonymous")
	_ = sent
}

// Two reports filed by hand by one person in the same instant (a fake
// clock does not move) are two reports, each with its own title.
func TestTwoReportsByHandInTheSameInstant(t *testing.T) {
	f := newFixture(t, report.Options{})
	for i, who := range []string{"bob", "bob"} {
		f.Command(who, "report new")
		for _, answer := range []string{fmt.Sprintf("Report %d by %s", i+1, who), "Details.", "-", "-", "2", "-"} {
			f.Say(who, answer)
		}
	}
	list := joined(f.Command("alice", "report list"))
	has(t, list, "VIG-2026-1", "VIG-2026-2", "Report 1 by bob", "Report 2 by bob")
}

// A store outage during intake: Receive fails (the source must not
// acknowledge), and when the store is back the same report files once.
func TestIntakeDuringAStoreOutage(t *testing.T) {
	st := &flaky{Store: bottest.OpenStore(t)}
	h := bottest.New(t, bottest.Options{Store: st})
	r, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.down = true
	if _, err := r.Receive(context.Background(), sample("o@x")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Receive during the outage: %v", err)
	}
	st.down = false
	res, err := r.Receive(context.Background(), sample("o@x"))
	if err != nil || res.ReportID != "VIG-2026-1" {
		t.Fatalf("after the outage: %+v %v", res, err)
	}
	if sent := h.Advance(0); len(sent) != 1 {
		t.Errorf("posted %d messages, want the one report", len(sent))
	}
}

type flaky struct {
	store.Store
	down bool
}

func (f *flaky) Put(ctx context.Context, c, id string, data []byte, v int64) (int64, error) {
	if f.down {
		return 0, fmt.Errorf("redis: %w", store.ErrUnavailable)
	}
	return f.Store.Put(ctx, c, id, data, v)
}

func (f *flaky) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	if f.down {
		return nil, fmt.Errorf("redis: %w", store.ErrUnavailable)
	}
	return f.Store.Apply(ctx, ops...)
}

func (f *flaky) Incr(ctx context.Context, name string) (int64, error) {
	if f.down {
		return 0, fmt.Errorf("redis: %w", store.ErrUnavailable)
	}
	return f.Store.Incr(ctx, name)
}

// Chat down: the report is stored and the source acknowledged; it is
// posted when chat returns.
func TestIntakeWhileChatIsDown(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.Chat.Fail = func(bot.Destination, bot.Message) error { return bot.ErrUnavailable }
	f.receive(t, sample("down@x"))
	f.Advance(5 * time.Minute)
	f.Chat.Fail = nil
	has(t, joined(f.Advance(10*time.Minute)), "VIG-2026-1: XSS in the search page")
}

func TestHandoffInheritsOpenReports(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("h@x"))
	sent := f.Advance(7 * 24 * time.Hour)
	has(t, joined(bottest.DMsTo(sent, "carol")), "Handed over: VIG-2026-1 [new] XSS in the search page — @bob — ❗ acknowledgement overdue")
}

func TestIntakeAPI(t *testing.T) {
	f := newFixture(t, report.Options{APIToken: "tok-123", MaxAPIBody: 2048})
	srv := httptest.NewServer(f.Engine.HTTP())
	defer srv.Close()
	post := func(body string, headers map[string]string) (int, map[string]string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/reports", strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	auth := map[string]string{"Authorization": "Bearer tok-123", "Content-Type": "application/json"}
	good := `{"title":"Open redirect","description":"/login?next=//evil","reporter":{"name":"Mo","email":"mo@example.org","credit":true},"repositories":["acme/web"]}`
	if code, out := post(good, nil); code != 401 || out["error"] == "" {
		t.Errorf("no token: %d %v", code, out)
	}
	if code, _ := post(good, map[string]string{"Authorization": "Bearer nope"}); code != 401 {
		t.Errorf("bad token: %d", code)
	}
	bad := map[string]string{
		`{"description":"x"}`: "title",
		`{"title":"t"}`:       "description",
		`{"title":"t","description":"d","reporter":{"email":"nope"}}`: "reporter.email",
		`{"title":"t","description":"d","repositories":["acme"]}`:     "repositories[0]",
		`{"title":"t","description":"d","color":"red"}`:               "color",
		`{"title":5,"description":"d"}`:                               "title",
	}
	for body, field := range bad {
		if code, out := post(body, auth); code != 400 || out["field"] != field {
			t.Errorf("%s: %d %v, want 400 naming %s", body, code, out, field)
		}
	}
	if code, _ := post("{not json", auth); code != 400 {
		t.Errorf("bad JSON: %d", code)
	}
	if code, _ := post(`{"title":"t","description":"`+strings.Repeat("x", 4000)+`"}`, auth); code != 413 {
		t.Errorf("oversized: %d", code)
	}
	withKey := map[string]string{"Authorization": "Bearer tok-123", "Idempotency-Key": "relay-42", "Content-Type": "application/json"}
	code, out := post(good, withKey)
	if code != 201 || out["id"] != "VIG-2026-1" {
		t.Fatalf("first post: %d %v", code, out)
	}
	if code, again := post(good, withKey); code != 200 || again["id"] != "VIG-2026-1" {
		t.Errorf("same Idempotency-Key: %d %v, want 200 and the same id", code, again)
	}
	if code, other := post(good, auth); code != 201 || other["id"] != "VIG-2026-2" {
		t.Errorf("no key: %d %v, want a new report", code, other)
	}
	has(t, joined(f.Advance(0)), "VIG-2026-1: Open redirect", "Source: the intake API", "Reporter: Mo <mo@example.org> (wants credit)")
	// Disabled without a token.
	g := newFixture(t, report.Options{})
	rec := httptest.NewRecorder()
	g.Engine.HTTP().ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/reports", bytes.NewReader([]byte(good))))
	if rec.Code != 404 {
		t.Errorf("API without a token: %d", rec.Code)
	}
}

// Concurrent intake on one store: every report gets its own id at once (no
// counter conflicts), and a report sent by many sources at the same moment
// with the same source id is one report.
func TestConcurrentIntake(t *testing.T) {
	f := newFixture(t, report.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	twins := map[string]bool{}
	var failures []error
	for i := range 64 {
		wg.Go(func() {
			// Half distinct reports, half the same one sent 32 times.
			in := sample(fmt.Sprintf("distinct-%d@x", i))
			if i%2 == 1 {
				in = sample("twin@x")
			}
			res, err := f.reports.Receive(ctx, in)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err)
				return
			}
			if i%2 == 1 {
				twins[res.ReportID] = true
			} else {
				ids[res.ReportID] = true
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of 64 concurrent reports failed, first: %v", len(failures), failures[0])
	}
	if len(ids) != 32 {
		t.Errorf("32 distinct reports got %d distinct ids", len(ids))
	}
	if len(twins) != 1 {
		t.Errorf("one report sent 32 times at once became %d reports: %v", len(twins), twins)
	}
	for id := range twins {
		if ids[id] {
			t.Errorf("the twin and a distinct report share %s", id)
		}
	}
	list := joined(f.Command("alice", "report list"))
	for id := range ids {
		has(t, list, id)
	}
}

// A report, its audit entry and its announcement are one write: a store
// that refuses the batch leaves no trace of any of them (the source hears
// a failure and sends again), and once it takes the batch the report is
// announced once and audited once, without another write to the store.
func TestIntakeIsOneAtomicWrite(t *testing.T) {
	st := &countWrites{flaky: flaky{Store: bottest.OpenStore(t)}}
	h := bottest.New(t, bottest.Options{Store: st, People: team()})
	d, err := duty.Register(h.Engine, duty.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Register(h.Engine, report.Options{Duty: d})
	if err != nil {
		t.Fatal(err)
	}
	h.Command("alice", `duty rotation create triage --members @bob,@carol --shift 1w --handoff "Mon 09:00 UTC"`)
	h.Chat.Take()
	ctx := context.Background()
	received := func() int {
		entries, err := h.Engine.Audit().Last(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Action == "report.received" {
				n++
			}
		}
		return n
	}
	st.down = true
	if _, err := r.Receive(ctx, sample("atomic@x")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Receive with the batch refused: %v", err)
	}
	st.down = false
	if n := received(); n != 0 {
		t.Errorf("a refused batch left %d audit entries", n)
	}
	if sent := h.Advance(time.Hour); len(sent) != 0 {
		t.Errorf("a refused batch still announced %d messages", len(sent))
	}
	st.writes = 0
	res, err := r.Receive(ctx, sample("atomic@x"))
	if err != nil || !res.Created {
		t.Fatalf("Receive: %+v %v", res, err)
	}
	if st.writes != 1 {
		t.Errorf("filing a report took %d writes besides the id counter, want 1 (the batch)", st.writes)
	}
	if n := received(); n != 1 {
		t.Errorf("%d report.received audit entries, want 1", n)
	}
	sent := h.Advance(0)
	if n := strings.Count(joined(sent), res.ReportID+": XSS in the search page"); n != 1 {
		t.Errorf("announced %d times, want once:\n%s", n, joined(sent))
	}
	if dms := bottest.DMsTo(sent, "bob"); len(dms) != 1 {
		t.Errorf("the assignee got %d DMs, want 1", len(dms))
	}
	// The source did not hear us and sends it again: same report, nothing new.
	again, err := r.Receive(ctx, sample("atomic@x"))
	if err != nil || again.ReportID != res.ReportID || again.Created {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if n := received(); n != 1 {
		t.Errorf("after a repeat, %d report.received audit entries, want 1", n)
	}
	if more := h.Advance(time.Hour); strings.Contains(joined(more), res.ReportID+": XSS") {
		t.Errorf("a repeat announced the report again:\n%s", joined(more))
	}
}

// countWrites counts the store writes other than the id counter.
type countWrites struct {
	flaky
	writes int
}

func (c *countWrites) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	c.writes++
	return c.flaky.Apply(ctx, ops...)
}

func (c *countWrites) Append(ctx context.Context, log string, data []byte) (string, error) {
	c.writes++
	return c.flaky.Append(ctx, log, data)
}

func (c *countWrites) Put(ctx context.Context, coll, id string, data []byte, v int64) (int64, error) {
	c.writes++
	return c.flaky.Put(ctx, coll, id, data, v)
}

// With no private room usable when the report arrives, it is stored and
// its clock runs from receipt; it is posted once a room can take it.
func TestReportWaitsForAPrivateRoom(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.Engine.DemoteRoom(bottest.Room, "the bot is not in the room yet")
	res := f.receive(t, sample("early@x"))
	for _, s := range f.Advance(10 * time.Minute) {
		if !s.To.IsDM() {
			t.Fatalf("posted to a room while none is private: %+v", s)
		}
	}
	f.Engine.PromoteRoom(bottest.Room)
	sent := f.Advance(2 * time.Hour)
	if n := strings.Count(joined(sent), res.ReportID+": XSS in the search page"); n != 1 {
		t.Errorf("announced %d times after the room became private, want once:\n%s", n, joined(sent))
	}
	show := joined(f.Command("alice", "report show "+res.ReportID))
	has(t, show, "Acknowledge by", fmtAck(f.Clock.Now().Add(-2*time.Hour-10*time.Minute).Add(48*time.Hour)))
}

func fmtAck(t time.Time) string { return t.UTC().Format(bot.ReaderTimeLayout) }

// A report offers only what its state allows: Acknowledge and the
// acknowledgement deadline while it is new; once acknowledged (and on to
// released) neither, but when it was acknowledged; a ticked checklist item
// is no longer offered as a button.
func TestSummaryOffersOnlyWhatTheStateAllows(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("state@example.org"))
	f.Advance(0)
	show := func() bottest.Sent {
		t.Helper()
		for _, s := range f.Command("bob", "report show VIG-2026-1") {
			if strings.HasPrefix(s.Msg.Header, "VIG-2026-1:") {
				return s
			}
		}
		t.Fatal("report show sent no summary")
		return bottest.Sent{}
	}
	labels := func(s bottest.Sent) string {
		var l []string
		for _, b := range s.Msg.Buttons {
			l = append(l, b.Label)
		}
		return strings.Join(l, ",")
	}
	s := show()
	has(t, bottest.Read(s.Msg), "Acknowledge by: Wed 7 Jan 2026 09:00 UTC")
	if !strings.HasPrefix(labels(s), "Acknowledge,") {
		t.Errorf("a new report does not offer Acknowledge: %s", labels(s))
	}

	f.Advance(2 * time.Hour)
	f.Command("bob", "report ack VIG-2026-1")
	f.Command("bob", "report check VIG-2026-1 verify")
	for _, step := range []string{"accept", "fixing", "released"} {
		f.Command("bob", "report "+step+" VIG-2026-1")
		s = show()
		text := bottest.Read(s.Msg)
		if strings.Contains(text, "Acknowledge by") || strings.Contains(labels(s), "Acknowledge") {
			t.Errorf("after %s the report still offers acknowledgement: %s\n%s", step, labels(s), text)
		}
		has(t, text, "Acknowledged: Mon 5 Jan 2026 11:00 UTC")
		// Verified by hand, Replied by the acknowledgement: five left.
		want := "✓ Forwarded,✓ Repos identified,✓ Scored,✓ Advisories opened,✓ Maintainers notified"
		if step == "released" {
			want += ",Close"
		}
		if got := labels(s); got != want {
			t.Errorf("after %s: buttons %s, want the unticked items %s", step, got, want)
		}
	}
	has(t, show().Msg.PlainText(), "State: released")
	// A button pressed on the old root is still refused by the state
	// machine, not acted on.
	has(t, joined(f.Press("carol", bot.Button{Label: "Acknowledge", Action: "report.ack", Value: "VIG-2026-1"})), "cannot become acknowledged")
	// Assigning a released report says nothing about acknowledging it.
	dm := joined(bottest.DMsTo(f.Command("bob", "report assign VIG-2026-1 @carol"), "carol"))
	has(t, dm, "Report assigned to you: VIG-2026-1", "It is released.")
	if strings.Contains(dm, "Acknowledge") || strings.Contains(dm, "report ack") {
		t.Errorf("the assignee of a released report is told to acknowledge it: %s", dm)
	}
}

// Concurrent changes to one report all land (compare-and-swap, read again
// on conflict), and a watcher sees the state change once, with the state
// it changed from. Five writers: each loses at most four times, once to
// each of the others, so the five tries of store.UpdateJSON always suffice.
func TestConcurrentUpdatesAllLand(t *testing.T) {
	f := newFixture(t, report.Options{})
	ctx := context.Background()
	id := f.receive(t, sample("updates@x")).ReportID
	var mu sync.Mutex
	var moves []string
	f.reports.Watch(func(_ context.Context, before, after *report.Report) error {
		mu.Lock()
		defer mu.Unlock()
		moves = append(moves, string(before.State)+"->"+string(after.State))
		return nil
	})
	keys := []string{"verify", "reply", "forward", "repos"}
	errs := make(chan error, len(keys)+1)
	var wg sync.WaitGroup
	for _, key := range keys {
		wg.Go(func() { errs <- f.reports.Tick(ctx, id, key, "bob") })
	}
	wg.Go(func() {
		_, err := f.reports.Update(ctx, strings.ToLower(id), func(rep *report.Report) error {
			rep.State = report.StateAcknowledged
			return nil
		})
		errs <- err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a concurrent change failed: %v", err)
		}
	}
	rep, err := f.reports.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rep.Checklist {
		if slices.Contains(keys, it.Key) && !it.Done {
			t.Errorf("tick of %q was lost", it.Key)
		}
	}
	if rep.State != report.StateAcknowledged {
		t.Errorf("state %s, want acknowledged", rep.State)
	}
	if want := []string{"new->acknowledged"}; !slices.Equal(moves, want) {
		t.Errorf("watcher saw %q, want %q", moves, want)
	}
}

// Update passes the change's own error back as it is, and a missing report
// is a usage error naming it.
func TestUpdateErrors(t *testing.T) {
	f := newFixture(t, report.Options{})
	ctx := context.Background()
	id := f.receive(t, sample("errors@x")).ReportID
	refused := errors.New("refused")
	if _, err := f.reports.Update(ctx, id, func(*report.Report) error { return refused }); err != refused {
		t.Errorf("change's error came back as %v", err)
	}
	_, err := f.reports.Update(ctx, "vig-2026-999", func(*report.Report) error { return nil })
	var ue *bot.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "there is no report VIG-2026-999") {
		t.Errorf("missing report: %v", err)
	}
}

// Who sees what: a change is told to the room (and noted in the report's
// thread), a list is for the asker alone unless they add --public.
func TestAudienceOfAnswers(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("a@x"))
	f.Advance(0)
	var room []string
	for _, s := range f.Command("bob", "report ack VIG-2026-1") {
		if s.ForAsker() {
			t.Errorf("an answer to ack went to the asker only: %q", bottest.Read(s.Msg))
		}
		if s.To.Thread.IsZero() && s.To.InThreadOf == "" {
			room = append(room, bottest.Read(s.Msg))
		}
	}
	if len(room) != 1 || !strings.Contains(room[0], "@bob acknowledged VIG-2026-1") {
		t.Errorf("the room was told %q, want who acknowledged", room)
	}
	list := f.Command("bob", "report list")
	if len(list) != 1 || !list[0].ForAsker() {
		t.Errorf("report list = %+v, want one answer for the asker", list)
	}
	shared := f.Command("bob", "report list --public")
	if len(shared) != 1 || shared[0].ForAsker() || !strings.Contains(bottest.Read(shared[0].Msg), "Shared by @bob") {
		t.Errorf("report list --public = %q, want it shared with the room", bottest.Texts(shared))
	}
}
