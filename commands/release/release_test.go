package release_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
)

const ghsa = "GHSA-abcd-efgh-ijkl"

// github is an in-memory advisory store; fail injects one error.
type github struct {
	mu     sync.Mutex
	states map[string]string
	fail   error
	calls  []string
}

func (g *github) SetAdvisoryState(_ context.Context, repo, id, state string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.fail; err != nil {
		g.fail = nil
		return err
	}
	g.calls = append(g.calls, repo+" "+id+" "+state)
	g.states[id] = state
	return nil
}

type mailbox struct {
	mu   sync.Mutex
	sent []intake.Mail
}

func (m *mailbox) Send(_ context.Context, mail intake.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func (m *mailbox) to(addr string) []intake.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []intake.Mail
	for _, x := range m.sent {
		if x.To == addr {
			out = append(out, x)
		}
	}
	return out
}

type rateLimited struct{ after time.Duration }

func (e rateLimited) Error() string             { return "rate limited" }
func (e rateLimited) RetryAfter() time.Duration { return e.after }

type fixture struct {
	*bottest.Harness
	reports  *report.Reports
	releases *release.Releases
	gh       *github
	mail     *mailbox
	id       string
}

const secret = "The q parameter is reflected unescaped"

// newFixture has an accepted, scored report on acme/web with a draft
// advisory, bob on duty, carol maintaining acme/web, and releases
// announced in the public room and on a list, with distributors told.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	h := bottest.New(t, bottest.Options{})
	d, err := duty.Register(h.Engine, duty.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := report.Register(h.Engine, report.Options{Duty: d})
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	f := &fixture{Harness: h, reports: reps, gh: &github{states: map[string]string{}}, mail: &mailbox{}}
	f.releases, err = release.Register(h.Engine, release.Options{
		Reports: reps, GitHub: f.gh, Mailer: f.mail, Duty: d, Zone: paris,
		AnnounceRooms: []bot.RoomRef{bottest.PublicRoom}, MailingList: "announce@lists.example.org",
		Distributors: "distros@lists.example.org",
		Branches:     []release.Branches{{Repo: "acme/web", Supported: []string{"2.3.x", "2.2.x"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.AddContributor(f.releases.Inheritance)
	f.Command("alice", `duty rotation create triage --members @bob --shift 1w --handoff "Mon 09:00 UTC"`)
	ctx := context.Background()
	res, err := reps.Receive(ctx, intake.Incoming{
		Source: intake.SourceEmail, SourceID: "m1@example.org", Title: "XSS in search", Description: secret + ".",
		Reporter: intake.Reporter{Email: "eve@example.org"}, Repositories: []string{"acme/web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.id = res.ReportID
	f.Command("bob", "report ack "+f.id)
	f.Command("bob", "report accept "+f.id)
	if _, err := reps.Update(ctx, f.id, func(r *report.Report) error {
		r.Score = &report.Score{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", Value: 6.1, Severity: "Medium", By: "bob"}
		r.Advisories = []report.AdvisoryRef{{Repo: "acme/web", GHSA: ghsa, URL: "https://github.com/acme/web/security/advisories/" + ghsa, State: "draft"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	f.Chat.Take()
	return f
}

func has(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q in:\n%s", w, got)
		}
	}
}

func (f *fixture) audit(t *testing.T, action string) []bot.AuditEntry {
	t.Helper()
	all, err := f.Engine.Audit().Last(context.Background(), 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []bot.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestPlanInside48HoursRefused(t *testing.T) {
	f := newFixture(t)
	at := f.Clock.Now().Add(47 * time.Hour).Format(time.RFC3339)
	out := bottest.Joined(f.Command("bob", "release plan "+f.id+" --public-at "+at))
	has(t, out, "Refused", "at least 2d", "--expedite")
	if _, err := f.releases.Get(context.Background(), f.id); err == nil {
		t.Error("a refused plan was stored")
	}
	if jobs, _ := f.Engine.Scheduler().Pending(context.Background(), 100); len(jobs) > 0 {
		for _, j := range jobs {
			if strings.HasPrefix(j.ID, "release:") {
				t.Errorf("a refused plan scheduled %s", j.ID)
			}
		}
	}
	// --expedite alone is not enough: the reason is what gets audited.
	has(t, bottest.Joined(f.Command("bob", "release plan "+f.id+" --public-at "+at+" --expedite")), "--expedite needs a --reason")
	// 48h is enough.
	out = bottest.Joined(f.Command("bob", "release plan "+f.id+" --public-at "+f.Clock.Now().Add(48*time.Hour).Format(time.RFC3339)))
	has(t, out, "planned the release of "+f.id)
}

func TestExpeditedPlanAcceptedAndAudited(t *testing.T) {
	f := newFixture(t)
	out := bottest.Joined(f.Command("bob", `release plan `+f.id+` --public-at "2026-01-06 15:00" --expedite --reason "exploited in the wild"`))
	// 15:00 in Paris is 14:00 UTC, 29 hours ahead.
	has(t, out, "public at Tue 6 Jan 2026 14:00 UTC (15:00 CET Europe/Paris)", "Expedited", "exploited in the wild")
	ex := f.audit(t, "release.expedite")
	if len(ex) != 1 || ex[0].Actor != "bob" || ex[0].Target != f.id || !strings.Contains(ex[0].Detail, "exploited in the wild") {
		t.Fatalf("expedite audit: %+v", ex)
	}
	// Inside the seven-day notice period: distributors hear at once, with
	// the details they need under embargo.
	f.Advance(time.Second)
	n := f.mail.to("distros@lists.example.org")
	if len(n) != 1 {
		t.Fatalf("%d distributor notices, want 1", len(n))
	}
	has(t, n[0].Subject, "EMBARGOED", "acme/web")
	has(t, n[0].Body, "XSS in search", secret, "Public date: Tue 6 Jan 2026 14:00 UTC")
	has(t, bottest.Joined(f.Command("bob", "release list")), f.id, "(expedited)", "in 1d 4h")
}

// The whole path: plan, draft, announce (public room and list), notice to
// distributors on time, the public-time pings, merge by webhook, publish
// on GitHub, report released, announcement answered in its thread and by
// a reply mail.
func TestPlanAnnounceMergePublish(t *testing.T) {
	f := newFixture(t)
	start := f.Clock.Now()
	publicAt := start.Add(10 * 24 * time.Hour).Truncate(time.Hour)
	out := f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339)+` --versions "< 2.4.1" --remedy "upgrade to 2.4.1"`)
	text := bottest.Joined(out)
	has(t, text, "Draft announcement", "Upcoming security release: acme/web", "medium severity",
		"Merge the fix into main of acme/web", "Back-port to 2.3.x of acme/web", "Back-port to 2.2.x of acme/web")
	for _, s := range out {
		if strings.Contains(s.Msg.PlainText(), "Draft announcement") && s.To.Room != bottest.Room {
			t.Errorf("draft shown in %s, want the private room", s.To)
		}
	}

	out = f.Command("alice", "release announce "+f.id)
	var ann *bottest.Sent
	for i, s := range out {
		if s.To.Room == bottest.PublicRoom {
			ann = &out[i]
		}
	}
	if ann == nil {
		t.Fatalf("no announcement in the public room:\n%s", bottest.Joined(out))
	}
	if ann.Msg.Sensitive || strings.Contains(ann.Msg.PlainText(), secret) || strings.Contains(ann.Msg.PlainText(), "XSS") {
		t.Errorf("the public announcement carries details: %+v", ann.Msg)
	}
	has(t, ann.Msg.PlainText(), "acme/web", "Medium", publicAt.Format("Mon 2 Jan 2006 15:04 MST"), "CET Europe/Paris")
	f.Advance(time.Second)
	annMail := f.mail.to("announce@lists.example.org")
	if len(annMail) != 1 || strings.Contains(annMail[0].Body, secret) {
		t.Fatalf("announcement mails: %+v", annMail)
	}
	if a := f.audit(t, "release.announce"); len(a) != 1 || !strings.Contains(a[0].Detail, "chat test:general") || !strings.Contains(a[0].Detail, "mail announce@lists.example.org") {
		t.Errorf("announce audit: %+v", a)
	}

	// The advance notice goes exactly seven days before, not earlier.
	f.Advance(publicAt.Add(-7*24*time.Hour).Sub(f.Clock.Now()) - time.Minute)
	if n := f.mail.to("distros@lists.example.org"); len(n) != 0 {
		t.Fatalf("notice sent early at %s", f.Clock.Now())
	}
	f.Advance(time.Minute)
	if n := f.mail.to("distros@lists.example.org"); len(n) != 1 || !strings.Contains(n[0].Body, "Affected versions: < 2.4.1") {
		t.Fatalf("distributor notice: %+v", n)
	}

	// The public time pings the maintainer and the person on duty.
	out = f.Advance(publicAt.Sub(f.Clock.Now()))
	for _, who := range []string{"carol", "bob"} {
		dms := bottest.DMsTo(out, who)
		if len(dms) != 1 || !strings.Contains(dms[0].Msg.PlainText(), "merge the fix now") {
			t.Errorf("%s at the public time: %q", who, bottest.Texts(dms))
		}
	}

	f.Command("bob", "release link "+f.id+" https://github.com/acme/web/pull/42")
	// Someone else's merged PR starts nothing.
	if err := f.releases.PullRequestMerged(context.Background(), "acme/web", 41, "main", "dave", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if rel, _ := f.releases.Get(context.Background(), f.id); !rel.MergedAt.IsZero() {
		t.Fatal("an unlinked pull request started the clock")
	}
	f.Advance(10 * time.Minute)
	if err := f.releases.PullRequestMerged(context.Background(), "acme/web", 42, "main", "carol", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A redelivery changes nothing.
	if err := f.releases.PullRequestMerged(context.Background(), "acme/web", 42, "main", "carol", time.Time{}); err != nil {
		t.Fatal(err)
	}
	has(t, bottest.Joined(f.Advance(time.Second)), "pull/42 merged (GitHub, by carol)", "publish the advisories and answer the announcement before")
	if m := f.audit(t, "release.merged"); len(m) != 1 {
		t.Errorf("%d merge records, want 1", len(m))
	}
	has(t, bottest.Joined(f.Command("bob", "release list")), "merged — 2h left to publish")

	f.Advance(30 * time.Minute)
	// The job runs in the same step as the command (its due time is now).
	out = f.Command("bob", "release publish "+f.id)
	out = append(out, f.Advance(time.Second)...)
	has(t, bottest.Joined(out), "@bob is publishing the advisories")
	if got := f.gh.calls; len(got) != 1 || got[0] != "acme/web "+ghsa+" published" {
		t.Fatalf("GitHub calls: %v", got)
	}
	text = bottest.Joined(out)
	has(t, text, "✅ Published acme/web "+ghsa, "within the deadline")
	var answer *bottest.Sent
	for i, s := range out {
		if s.To.Room == bottest.PublicRoom {
			answer = &out[i]
		}
	}
	if answer == nil || answer.To.Thread.IsZero() {
		t.Fatalf("no answer in the announcement's thread: %+v", answer)
	}
	has(t, answer.Msg.PlainText(), "https://github.com/acme/web/security/advisories/"+ghsa, "https://github.com/acme/web/pull/42")
	reply := f.mail.to("announce@lists.example.org")
	if len(reply) != 2 || reply[1].InReplyTo != annMail[0].MessageID || !strings.Contains(reply[1].Body, ghsa) {
		t.Fatalf("answer mail: %+v", reply)
	}
	rep, err := f.reports.Get(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != report.StateReleased || rep.Advisories[0].State != "published" {
		t.Errorf("report %s, advisory %s; want released and published", rep.State, rep.Advisories[0].State)
	}
	// No ping and no breach after publication.
	late := bottest.Joined(f.Advance(3 * time.Hour))
	if strings.Contains(late, "BREACH") || strings.Contains(late, "left to publish") {
		t.Errorf("clock still ran after publication:\n%s", late)
	}
	if b := f.audit(t, "release.breach"); len(b) != 0 {
		t.Errorf("breach recorded for an on-time release: %+v", b)
	}
	if !strings.Contains(bottest.Joined(f.Command("bob", "release list")), "No releases") {
		t.Error("a published release is still listed")
	}
}

// A late publish: the one-hour ping, the breach at two hours (recorded and
// shown), and a publish after it says how late it was. GitHub's rate limit
// on the way is waited out, not dropped.
func TestLatePublishPingsAndBreach(t *testing.T) {
	f := newFixture(t)
	publicAt := f.Clock.Now().Add(50 * time.Hour)
	f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339))
	f.Advance(publicAt.Sub(f.Clock.Now()))
	out := f.Command("bob", "release merged "+f.id+" https://github.com/acme/web/pull/7")
	has(t, bottest.Joined(out), "recorded the merge", "2h left to publish")
	has(t, bottest.Joined(f.Command("bob", "release merged "+f.id+" https://github.com/acme/web/pull/7")), "already recorded")

	out = f.Advance(59 * time.Minute)
	if strings.Contains(bottest.Joined(out), "left to publish") {
		t.Fatal("pinged before the hour")
	}
	out = f.Advance(time.Minute)
	has(t, bottest.Joined(out), "⏳ 1h left to publish the advisories of "+f.id)
	if dms := bottest.DMsTo(out, "carol"); len(dms) != 1 {
		t.Errorf("carol not pinged at one hour: %q", bottest.Texts(out))
	}
	if b := f.audit(t, "release.breach"); len(b) != 0 {
		t.Fatal("breach before two hours")
	}
	out = f.Advance(time.Hour)
	has(t, bottest.Joined(out), "❗ BREACH", "not published within 2h")
	if b := f.audit(t, "release.breach"); len(b) != 1 || b[0].Target != f.id {
		t.Fatalf("breach audit: %+v", b)
	}
	if rel, _ := f.releases.Get(context.Background(), f.id); rel.BreachedAt.IsZero() {
		t.Error("breach not recorded on the release")
	}
	f.Advance(30 * time.Minute)
	has(t, bottest.Joined(f.Command("bob", "release list")), "BREACH: publication overdue by 30m")
	has(t, bottest.Joined(f.Command("bob", "release show "+f.id)), "Breach: publication deadline missed")

	f.gh.fail = rateLimited{after: 2 * time.Minute}
	f.Command("bob", "release publish "+f.id)
	f.Advance(time.Minute)
	if len(f.gh.calls) != 0 {
		t.Fatal("published despite the rate limit")
	}
	out = f.Advance(2 * time.Minute)
	if len(f.gh.calls) != 1 {
		t.Fatalf("not retried after the rate limit: %v", f.gh.calls)
	}
	has(t, bottest.Joined(out), "after the deadline (breach recorded)")
	if p := f.audit(t, "release.publish"); len(p) != 1 || p[0].Actor != "bob" {
		t.Errorf("publish audit: %+v", p)
	}
	if r := f.audit(t, "report.released"); len(r) != 1 {
		t.Errorf("report.released audit: %+v", r)
	}
}

func TestHandOffListsReleases(t *testing.T) {
	f := newFixture(t)
	publicAt := f.Clock.Now().Add(3 * 24 * time.Hour)
	f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339))
	lines, err := f.releases.Inheritance(context.Background(), "", f.Clock.Now(), f.Clock.Now().Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "Release "+f.id) {
		t.Errorf("hand-off lines: %q", lines)
	}
	lines, _ = f.releases.Inheritance(context.Background(), "", f.Clock.Now(), f.Clock.Now().Add(24*time.Hour))
	if len(lines) != 0 {
		t.Errorf("a release after the shift was handed over: %q", lines)
	}
}

// The deadline is merge + 2 h, exclusive: a minute before it is on time,
// the instant itself is late. Whichever runs first at that instant (the
// breach job or the publish), the release gets one breach record and the
// answer says so; "within the deadline" is never said of a breach.
func TestPublishExactlyAtTheDeadline(t *testing.T) {
	merge := func(t *testing.T) (*fixture, time.Time) {
		f := newFixture(t)
		publicAt := f.Clock.Now().Add(50 * time.Hour)
		f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339))
		f.Advance(publicAt.Sub(f.Clock.Now()))
		f.Command("bob", "release merged "+f.id+" https://github.com/acme/web/pull/7")
		rel, err := f.releases.Get(context.Background(), f.id)
		if err != nil {
			t.Fatal(err)
		}
		return f, rel.PublishDue
	}
	publish := func(f *fixture) string {
		out := f.Command("bob", "release publish "+f.id)
		return bottest.Joined(append(out, f.Advance(0)...))
	}
	late := func(t *testing.T, f *fixture, text string) {
		t.Helper()
		has(t, text, "✅ Published acme/web "+ghsa, "2h after the merge, 0m after the deadline (breach recorded)")
		if strings.Contains(text, "within the deadline") {
			t.Errorf("a publish at the deadline is called on time:\n%s", text)
		}
		if b := f.audit(t, "release.breach"); len(b) != 1 {
			t.Errorf("%d breach records, want 1: %+v", len(b), b)
		}
		rel, _ := f.releases.Get(context.Background(), f.id)
		if rel.BreachedAt.IsZero() {
			t.Error("no breach on the release")
		}
		has(t, bottest.Joined(f.Command("bob", "release show "+f.id)), "Breach: publication deadline missed")
	}

	t.Run("the breach job ran first", func(t *testing.T) {
		f, due := merge(t)
		has(t, bottest.Joined(f.Advance(due.Sub(f.Clock.Now()))), "❗ BREACH")
		late(t, f, publish(f))
	})
	t.Run("the publish ran first", func(t *testing.T) {
		f, due := merge(t)
		// The clock reaches the deadline without running its jobs: the
		// publish command comes first.
		f.Clock.Set(due)
		late(t, f, publish(f))
	})
	t.Run("a minute before is on time", func(t *testing.T) {
		f, due := merge(t)
		f.Advance(due.Add(-time.Minute).Sub(f.Clock.Now()))
		text := publish(f)
		has(t, text, "1h 59m after the merge, within the deadline")
		if b := f.audit(t, "release.breach"); len(b) != 0 {
			t.Errorf("breach for an on-time publish: %+v", b)
		}
		if strings.Contains(bottest.Joined(f.Advance(3*time.Hour)), "BREACH") {
			t.Error("breach after an on-time publish")
		}
	})
}

// Issue 18: the two-hour clock counts from GitHub's merged_at, not from
// when the webhook arrived. A delivery 90 minutes late leaves 30 minutes;
// one three hours late finds the deadline passed and records the breach at
// once.
func TestPublishClockCountsFromGitHubsMergeTime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		late   time.Duration
		breach bool
	}{
		{"90 minutes late", 90 * time.Minute, false},
		{"three hours late", 3 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			publicAt := f.Clock.Now().Add(50 * time.Hour)
			f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339))
			f.Advance(publicAt.Sub(f.Clock.Now()) + 4*time.Hour)
			f.Command("bob", "release link "+f.id+" https://github.com/acme/web/pull/42")
			mergedAt := f.Clock.Now().Add(-tc.late)
			if err := f.releases.PullRequestMerged(context.Background(), "acme/web", 42, "main", "carol", mergedAt); err != nil {
				t.Fatal(err)
			}
			out := bottest.Joined(f.Advance(time.Second))
			rel, err := f.releases.Get(context.Background(), f.id)
			if err != nil {
				t.Fatal(err)
			}
			if !rel.MergedAt.Equal(mergedAt) || !rel.PublishDue.Equal(mergedAt.Add(2*time.Hour)) {
				t.Errorf("merged %s, due %s; want merged %s, due two hours later", rel.MergedAt, rel.PublishDue, mergedAt)
			}
			breaches := f.audit(t, "release.breach")
			if tc.breach != (len(breaches) == 1) || tc.breach != strings.Contains(out, "BREACH") {
				t.Errorf("breach recorded: %d audit entries; want breach=%v\n%s", len(breaches), tc.breach, out)
			}
		})
	}
}
