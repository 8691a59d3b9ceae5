package remind_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/remind"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/testredis"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func people() []bot.Person {
	p := func(name, tz string, maintains []string, roles ...bot.Role) bot.Person {
		return bot.Person{Name: name, Chat: map[string]string{"test": name}, Roles: roles, Maintains: maintains, Timezone: tz}
	}
	return []bot.Person{
		p("alice", "", nil, bot.RoleAdmin, bot.RoleResponder),
		p("bob", "", nil, bot.RoleResponder),
		p("carol", "America/Los_Angeles", []string{"acme/web"}),
		p("dave", "Asia/Tokyo", []string{"acme/api"}),
		p("mallory", "", nil),
	}
}

type fixture struct {
	*bottest.Harness
	reports *report.Reports
	rem     *remind.Reminders
}

func newFixture(t *testing.T, o bottest.Options) *fixture {
	t.Helper()
	if o.People == nil {
		o.People = people()
	}
	h := bottest.New(t, o)
	reps, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rem, err := remind.Register(h.Engine, remind.Options{Reports: reps})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Harness: h, reports: reps, rem: rem}
}

// open files an accepted report with a severity, as the advisory feature
// would leave it, and starts its reminders for repo's maintainer.
func (f *fixture) open(t *testing.T, title, severity, repo, maintainer string) string {
	t.Helper()
	ctx := context.Background()
	res, err := f.reports.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: title, Title: bot.Untrusted(title), Description: bot.Untrusted("details of " + title)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.reports.Update(ctx, res.ReportID, func(r *report.Report) error {
		r.State = report.StateAccepted
		r.Score = &report.Score{Version: "3.1", Vector: "CVSS:3.1/...", Severity: severity, By: "bob"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ghsa := "GHSA-" + strings.ToLower(severity)
	if err := f.rem.Track(ctx, res.ReportID, repo, ghsa, "https://github.com/"+repo+"/security/advisories/"+ghsa, []string{maintainer}, f.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return res.ReportID
}

// counts tallies, per maintainer, the reminder DMs and the mentions of
// each report id in them.
func counts(sent []bottest.Sent) (dms map[string]int, mentions map[string]int) {
	dms, mentions = map[string]int{}, map[string]int{}
	for _, s := range sent {
		if !s.To.IsDM() || !strings.HasPrefix(s.Msg.Header, "Unfixed vulnerabilities") {
			continue
		}
		dms[s.To.DM.ID]++
		for _, line := range strings.Split(s.Msg.Text, "\n") {
			if id, _, ok := strings.Cut(strings.TrimPrefix(line, "• "), " ("); ok && strings.HasPrefix(line, "• ") {
				mentions[s.To.DM.ID+" "+id]++
			}
		}
	}
	return dms, mentions
}

// A simulated year: each item is reminded exactly as often as its cadence
// says (Critical weekly, High monthly, Medium quarterly, Low twice a
// year), a maintainer's items leave together, nothing goes out in quiet
// hours, and restarts change nothing.
func TestAYearOfRemindersMatchesTheCadence(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(start)
	f := newFixture(t, bottest.Options{Store: st, Clock: clk})
	crit := f.open(t, "RCE in uploads", "Critical", "acme/web", "carol")
	high := f.open(t, "SQLi in search", "High", "acme/web", "carol")
	med := f.open(t, "Open redirect", "Medium", "acme/api", "dave")
	low := f.open(t, "Verbose errors", "Low", "acme/api", "dave")
	var all []bottest.Sent
	for week := 0; week < 52; week++ {
		all = append(all, f.Advance(7*24*time.Hour)...)
		if week%13 == 12 {
			f = newFixture(t, bottest.Options{Store: st, Clock: clk}) // restart
		}
	}
	// One more day: the last reminders fall at 364 days, and quiet hours in
	// the maintainers' zones (09:00 UTC is night in Los Angeles) move them
	// by some hours.
	all = append(all, f.Advance(24*time.Hour)...)
	dms, mentions := counts(all)
	want := map[string]int{"carol " + crit: 52, "carol " + high: 12, "dave " + med: 4, "dave " + low: 2}
	for k, w := range want {
		if mentions[k] != w {
			t.Errorf("%s reminded %d times in a year, want %d", k, mentions[k], w)
		}
	}
	// carol's monthly item rides along when a weekly one goes out within a
	// day of it: fewer DMs than items, never fewer than the weekly ones.
	if dms["carol"] < 52 || dms["carol"] >= 64 {
		t.Errorf("carol got %d reminder DMs for 64 reminders, want batching (52 to 63)", dms["carol"])
	}
	together := 0
	for _, s := range all {
		if !s.To.IsDM() || !strings.HasPrefix(s.Msg.Header, "Unfixed") {
			continue
		}
		if i, j := strings.Index(s.Msg.Text, crit+" ("), strings.Index(s.Msg.Text, high+" ("); i >= 0 && j >= 0 {
			together++
			if j < i {
				t.Errorf("High listed before Critical: %q", s.Msg.Text)
			}
		}
		tz := map[string]string{"carol": "America/Los_Angeles", "dave": "Asia/Tokyo"}[s.To.DM.ID]
		loc, _ := time.LoadLocation(tz)
		if h := s.At.In(loc).Hour(); h < 8 || h >= 20 {
			t.Errorf("a reminder to %s went out at %s local time", s.To.DM.ID, s.At.In(loc).Format("15:04"))
		}
	}
	if together == 0 {
		t.Error("the monthly item never rode along with a weekly one")
	}
	// The on-duty room gets one summary per dispatch.
	summaries := 0
	for _, s := range all {
		if !s.To.IsDM() && s.Msg.Header == "Reminders sent" {
			summaries++
			if !strings.Contains(s.Msg.Text, "@carol:") && !strings.Contains(s.Msg.Text, "@dave:") {
				t.Errorf("summary without a maintainer: %q", s.Msg.Text)
			}
		}
	}
	if summaries == 0 || summaries > dms["carol"]+dms["dave"] {
		t.Errorf("%d summaries for %d DMs", summaries, dms["carol"]+dms["dave"])
	}
}

// The same on two replicas sharing one Redis, stepping together: each item
// is reminded exactly its cadence's number of times, no more.
func TestTwoReplicasOnRedisRemindOnce(t *testing.T) {
	srv := testredis.Start(t)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: srv.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	a := newFixture(t, bottest.Options{Store: st, Clock: clk, Instance: "a", LeaseTTL: time.Hour})
	b := newFixture(t, bottest.Options{Store: st, Clock: clk, Instance: "b", LeaseTTL: time.Hour})
	crit := a.open(t, "RCE", "Critical", "acme/web", "carol")
	med := a.open(t, "Redirect", "Medium", "acme/api", "dave")
	ctx := context.Background()
	for now := start; now.Before(start.Add(182 * 24 * time.Hour)); now = now.Add(time.Hour) {
		clk.Set(now)
		var wg sync.WaitGroup
		wg.Go(func() { a.Engine.Step(ctx) })
		wg.Go(func() { b.Engine.Step(ctx) })
		wg.Wait()
	}
	_, ma := counts(a.Chat.Sent())
	_, mb := counts(b.Chat.Sent())
	if got := ma["carol "+crit] + mb["carol "+crit]; got != 25 {
		t.Errorf("critical reminded %d times in 26 weeks on two replicas, want 25", got)
	}
	if got := ma["dave "+med] + mb["dave "+med]; got != 1 {
		t.Errorf("medium reminded %d times in 26 weeks, want 1", got)
	}
}

func TestSeverityChangeReplansAndReleaseStops(t *testing.T) {
	f := newFixture(t, bottest.Options{})
	id := f.open(t, "SQLi", "Low", "acme/web", "carol")
	if _, m := counts(f.Advance(60 * 24 * time.Hour)); m["carol "+id] != 0 {
		t.Fatalf("a Low item was reminded within 60 days")
	}
	// A maintainer's adjudication (or a new score) to Critical: the next
	// reminder is a week after the notice, which is past, so now.
	_, err := f.reports.Update(context.Background(), id, func(r *report.Report) error {
		r.Adjudications = append(r.Adjudications, report.Adjudication{Severity: "Critical", Reason: "wormable", By: "carol"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, m := counts(f.Advance(24 * time.Hour)); m["carol "+id] != 1 {
		t.Errorf("after the change to Critical: %d reminders in a day, want 1", m["carol "+id])
	}
	if _, m := counts(f.Advance(7 * 24 * time.Hour)); m["carol "+id] != 1 {
		t.Errorf("a week later: %d reminders, want 1", m["carol "+id])
	}
	_, err = f.reports.Update(context.Background(), id, func(r *report.Report) error { r.State = report.StateReleased; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, m := counts(f.Advance(60 * 24 * time.Hour)); m["carol "+id] != 0 {
		t.Errorf("reminded %d times after the release", m["carol "+id])
	}
	has(t, bottest.Joined(f.Command("bob", "remind list")), "No reminders are planned.")
}

func TestSnoozeAndFixedByButtons(t *testing.T) {
	f := newFixture(t, bottest.Options{})
	id := f.open(t, "RCE", "Critical", "acme/web", "carol")
	sent := f.Advance(8 * 24 * time.Hour)
	dm := bottest.DMsTo(sent, "carol")
	if len(dm) != 1 || len(dm[0].Msg.Buttons) != 2 {
		t.Fatalf("want one reminder with Snooze and Fixed: %q", bottest.Texts(sent))
	}
	has(t, dm[0].Msg.PlainText(), "*acme/web*", id+" (Critical, open 7 days): RCE", "GHSA-critical")
	snooze, fixed := dm[0].Msg.Buttons[0], dm[0].Msg.Buttons[1]
	has(t, bottest.Joined(f.Press("mallory", snooze)), "this reminder is for @carol")
	f.Press("carol", snooze)
	f.Say("carol", "3w")
	has(t, bottest.Joined(f.Say("carol", "waiting for the upstream fix")), "Snoozed until")
	if _, m := counts(f.Advance(20 * 24 * time.Hour)); m["carol "+id] != 0 {
		t.Errorf("reminded %d times while snoozed", m["carol "+id])
	}
	if _, m := counts(f.Advance(3 * 24 * time.Hour)); m["carol "+id] != 1 {
		t.Errorf("after the snooze: %d reminders, want 1", m["carol "+id])
	}
	sent = f.Press("carol", fixed)
	has(t, bottest.Joined(sent), "The security team will confirm", "@carol says "+id+" is fixed in acme/web")
	var confirm bot.Button
	for _, s := range sent {
		for _, b := range s.Msg.Buttons {
			if b.Label == "Confirm fixed" {
				confirm = b
			}
		}
	}
	has(t, bottest.Joined(f.Press("carol", confirm)), "needs the responder or admin role")
	has(t, bottest.Joined(f.Press("bob", confirm)), "@bob confirmed it fixed: no more reminders to @carol")
	if _, m := counts(f.Advance(30 * 24 * time.Hour)); m["carol "+id] != 0 {
		t.Errorf("reminded after the fix was confirmed")
	}
}

func TestCommands(t *testing.T) {
	f := newFixture(t, bottest.Options{})
	id := f.open(t, "RCE", "Critical", "acme/web", "carol")
	f.open(t, "Redirect", "Medium", "acme/api", "dave")
	list := bottest.Joined(f.Command("bob", "remind list"))
	has(t, list, "@carol — "+id+" acme/web (Critical): next Mon 12 Jan, sent 0", "@dave — VIG-2026-2 acme/api (Medium)")
	dm := func(who, text string) string {
		return bottest.Joined(f.Event(bot.Event{Kind: bot.EventCommand, DM: true, Room: bot.RoomRef{Adapter: "test", ID: "D" + who}, User: bot.UserRef{Adapter: "test", ID: who}, Text: text}))
	}
	own := dm("carol", "remind list")
	if !strings.Contains(own, id) || strings.Contains(own, "VIG-2026-2") || strings.Contains(own, "RCE") {
		t.Errorf("carol's own list (no other maintainers, no titles): %s", own)
	}
	has(t, dm("carol", "remind list @dave"), "maintainers see only their own reminders")
	has(t, bottest.Joined(f.Command("bob", "remind now "+id)), "@bob reminded @carol about "+id+" now.")
	has(t, bottest.Joined(f.Command("bob", "remind snooze "+id+` @carol --until 2026-03-01 --reason "release freeze"`)), "@bob snoozed the reminders of "+id+" to @carol until Sun 1 Mar 2026: release freeze")
	has(t, bottest.Joined(f.Command("bob", "remind snooze "+id+` @dave --until 2w --reason x`)), "@dave has no reminders for "+id)
	has(t, bottest.Joined(f.Command("bob", "remind snooze "+id+` @carol --until someday --reason x`)), `"someday" is not a time`)
	has(t, bottest.Joined(f.Command("mallory", "remind list")), "needs the responder or admin or maintainer role")
	if _, m := counts(f.Advance(40 * 24 * time.Hour)); m["carol "+id] != 0 {
		t.Errorf("reminded during the snooze until 1 March")
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

// Items due within the grouping window of each other leave as one DM,
// grouped by repository, most severe first.
func TestBatchingWithinTheWindow(t *testing.T) {
	f := newFixture(t, bottest.Options{Clock: clock.NewFake(time.Date(2026, 1, 5, 18, 0, 0, 0, time.UTC))})
	f.Clock.Set(time.Date(2026, 1, 5, 18, 0, 0, 0, time.UTC)) // 10:00 in Los Angeles
	low := f.open(t, "Verbose errors", "High", "acme/web", "carol")
	f.Advance(12 * time.Hour)
	crit := f.open(t, "RCE", "Critical", "acme/web", "carol")
	f.rem.Track(context.Background(), crit, "acme/api", "GHSA-x", "https://x", []string{"carol"}, f.Clock.Now())
	// The Critical items fall due a week later, the High one a month later:
	// the first reminder carries only the Critical ones, in one DM.
	sent := f.Advance(8 * 24 * time.Hour)
	dm := bottest.DMsTo(sent, "carol")
	if len(dm) != 1 {
		t.Fatalf("%d DMs to carol, want one batch", len(dm))
	}
	text := dm[0].Msg.Text
	if strings.Count(text, crit) != 2 || strings.Contains(text, low) {
		t.Errorf("batch: %q", text)
	}
	if strings.Index(text, "*acme/api*") > strings.Index(text, "*acme/web*") {
		t.Errorf("repositories not grouped in order: %q", text)
	}
}

// Without GitHub, and on the console, a team names a report's maintainers
// (`report notify`): they get a private DM, the report records them and
// ticks "Notify maintainers", and the reminders follow at the severity's
// cadence, as after an advisory. Bad names are refused with a suggestion
// and change nothing; naming someone again does not DM them twice.
func TestReportNotifyStartsRemindersWithoutGitHub(t *testing.T) {
	f := newFixture(t, bottest.Options{Clock: clock.NewFake(start)})
	has := func(got string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("lacks %q in:\n%s", w, got)
			}
		}
	}
	help := bottest.Joined(f.Command("bob", "help remind"))
	has(help, "Reminders start when maintainers are told", "advisory open", "report notify ID @maintainer")

	ctx := context.Background()
	res, err := f.reports.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: "notify-1", Title: "SQLi in search", Description: "details", Repositories: []string{"acme/web"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.ReportID
	has(bottest.Joined(f.Command("bob", "report notify "+id+" @carol")), "is new: maintainers are told once it is accepted")
	f.Command("bob", "report ack "+id)
	f.Command("bob", "report accept "+id)
	f.Command("bob", "report score "+id+" CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N") // 7.5 High: monthly
	f.Chat.Take()

	has(bottest.Joined(f.Command("bob", "report notify "+id+" @carl")), "here is no @carl in the people directory (did you mean @carol?)", "Usage:")
	has(bottest.Joined(f.Command("bob", "report notify "+id)), "Usage:", "report notify ID @maintainer")
	has(bottest.Joined(f.Command("bob", "report notify "+id+" --help")), "Usage: `/sec report notify ID @maintainer", "OEP-60 step", "report notify VIG-2026-3 @carol")
	has(bottest.Joined(f.Command("mallory", "report notify "+id+" @carol")), "needs the responder or admin role")
	if rep, _ := f.reports.Get(ctx, id); len(rep.Maintainers) != 0 {
		t.Fatalf("a refused notify recorded %v", rep.Maintainers)
	}
	if n := len(bottest.DMsTo(f.Chat.Take(), "carol")); n != 0 {
		t.Fatalf("carol got %d DMs from refused commands", n)
	}

	sent := f.Command("bob", "report notify "+id+" @carol")
	sent = append(sent, f.Advance(time.Minute)...)
	has(bottest.Joined(sent), "@bob told the maintainers of "+id+" by DM: @carol (severity High)")
	dm := bottest.DMsTo(sent, "carol")
	if len(dm) != 1 {
		t.Fatalf("carol got %d DMs, want 1:\n%s", len(dm), bottest.Joined(sent))
	}
	has(dm[0].Msg.PlainText(), "Security report for acme/web ("+id+")", "SQLi in search", "Severity: High")
	if !dm[0].Msg.Sensitive {
		t.Error("the maintainer's DM is not marked sensitive")
	}
	has(bottest.Joined(f.Command("bob", "report show "+id)), "☑ Notify maintainers")
	has(bottest.Joined(f.Command("bob", "remind list @carol")), "@carol — "+id+" acme/web (High)")

	// Named again: no second DM, and the cadence still runs from the first.
	sent = f.Command("bob", "report notify "+id+" @carol")
	sent = append(sent, f.Advance(29*24*time.Hour)...)
	for _, s := range bottest.DMsTo(sent, "carol") {
		t.Errorf("carol was written to again before her first reminder: %s", s.Msg.PlainText())
	}
	sent = f.Advance(2 * 24 * time.Hour)
	dms, mentions := counts(sent)
	if dms["carol"] != 1 || mentions["carol "+id] != 1 {
		t.Errorf("a month after notify: reminder DMs %v, mentions %v:\n%s", dms, mentions, bottest.Joined(sent))
	}
	// Released: the reminders stop.
	f.Command("bob", "report fixing "+id)
	f.Command("bob", "report released "+id)
	if dms, _ := counts(f.Advance(62 * 24 * time.Hour)); dms["carol"] != 0 {
		t.Errorf("reminded after the release: %v", dms)
	}
}
