package advisory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/advisory"
	"github.com/vigil-sec/vigil/commands/report"
)

// fakeGitHub records calls and answers from its state; fail injects one
// error into the next call of an operation.
type fakeGitHub struct {
	mu       sync.Mutex
	drafts   map[string]advisory.Draft // by GHSA
	repoOf   map[string]string
	states   map[string]string
	cves     map[string]string
	cveAsked map[string]bool
	forks    map[string]string
	orgRepos map[string][]string
	sboms    map[string][]advisory.Package
	fail     map[string]error
	// down, when set, fails every call (GitHub unreachable).
	down  error
	calls []string
	n     int
}

func newFake() *fakeGitHub {
	return &fakeGitHub{drafts: map[string]advisory.Draft{}, repoOf: map[string]string{}, states: map[string]string{}, cves: map[string]string{},
		cveAsked: map[string]bool{}, forks: map[string]string{}, orgRepos: map[string][]string{}, sboms: map[string][]advisory.Package{}, fail: map[string]error{}}
}

func (f *fakeGitHub) failing(op string) error {
	if f.down != nil {
		return f.down
	}
	err := f.fail[op]
	delete(f.fail, op)
	return err
}

func (f *fakeGitHub) CreateDraft(_ context.Context, repo string, d advisory.Draft) (advisory.Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "create "+repo)
	if err := f.failing("create"); err != nil {
		return advisory.Created{}, err
	}
	f.n++
	ghsa := fmt.Sprintf("GHSA-%04d-test-xxxx", f.n)
	f.drafts[ghsa], f.repoOf[ghsa], f.states[ghsa] = d, repo, "draft"
	return advisory.Created{GHSA: ghsa, URL: "https://github.com/" + repo + "/security/advisories/" + ghsa, State: "draft"}, nil
}

func (f *fakeGitHub) RequestCVE(_ context.Context, repo, ghsa string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "cve "+ghsa)
	if err := f.failing("cve"); err != nil {
		return err
	}
	f.cveAsked[ghsa] = true
	return nil
}

func (f *fakeGitHub) CreateFork(_ context.Context, repo, ghsa string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "fork "+ghsa)
	if err := f.failing("fork"); err != nil {
		return "", err
	}
	f.forks[ghsa] = "https://github.com/" + repo + "-ghsa-fork"
	return f.forks[ghsa], nil
}

func (f *fakeGitHub) Advisory(_ context.Context, repo, ghsa string) (advisory.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "get "+ghsa)
	return advisory.Status{State: f.states[ghsa], CVE: f.cves[ghsa]}, nil
}

func (f *fakeGitHub) OrgRepos(_ context.Context, org string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.orgRepos[org], nil
}

func (f *fakeGitHub) SBOM(_ context.Context, repo string) ([]advisory.Package, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.sboms[repo]
	if !ok {
		return nil, fmt.Errorf("404: dependency graph disabled")
	}
	return p, nil
}

type rateLimit struct{ after time.Duration }

func (e rateLimit) Error() string             { return "rate limited" }
func (e rateLimit) RetryAfter() time.Duration { return e.after }

type fixture struct {
	*bottest.Harness
	reports *report.Reports
	gh      *fakeGitHub
}

func people() []bot.Person {
	p := func(name string, maintains []string, roles ...bot.Role) bot.Person {
		return bot.Person{Name: name, Chat: map[string]string{"test": name}, Roles: roles, Maintains: maintains}
	}
	return []bot.Person{
		p("alice", nil, bot.RoleAdmin, bot.RoleResponder),
		p("bob", nil, bot.RoleResponder),
		p("carol", []string{"acme/web"}),
		p("dave", []string{"acme/api"}),
		p("mallory", nil),
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	h := bottest.New(t, bottest.Options{People: people()})
	reps, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gh := newFake()
	if _, err := advisory.Register(h.Engine, advisory.Options{Reports: reps, GitHub: gh, Organizations: []string{"acme"}}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{Harness: h, reports: reps, gh: gh}
	return f
}

// accepted files a scored, accepted report on acme/web.
func (f *fixture) accepted(t *testing.T, credit bool) string {
	t.Helper()
	res, err := f.reports.Receive(context.Background(), intake.Incoming{
		Source: intake.SourceGitHub, SourceID: fmt.Sprintf("src-%d", time.Now().UnixNano()),
		Title: "Stored XSS in comments", Description: "A comment body is rendered unescaped.",
		Reporter: intake.Reporter{GitHub: "eve", Credit: credit}, Repositories: []string{"acme/web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Command("bob", "report ack "+res.ReportID)
	f.Command("bob", "report accept "+res.ReportID)
	_, err = f.reports.Update(context.Background(), res.ReportID, func(r *report.Report) error {
		r.Score = &report.Score{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", Value: 5.4, Severity: "Medium", By: "bob"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	return res.ReportID
}

func has(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q in:\n%s", w, got)
		}
	}
}

func joined(s []bottest.Sent) string { return bottest.Joined(s) }

func TestOpenWithFlagsCreatesNotifiesAndRecords(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, true)
	// The command answers at once; the GitHub call runs as a job (here in
	// the same step, as the harness runs what is due after each event).
	sent := f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2.4.1" --patched 2.4.1 --cwe 79`)
	has(t, joined(sent), "is opening draft advisories for "+id+" in acme/web")
	sent = append(sent, f.Advance(time.Minute)...)
	if len(f.gh.drafts) != 1 {
		t.Fatalf("%d drafts created, want 1 (calls %v)", len(f.gh.drafts), f.gh.calls)
	}
	d := f.gh.drafts["GHSA-0001-test-xxxx"]
	if d.Summary != "Stored XSS in comments" || d.CVSSVector != "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N" || d.Severity != "" {
		t.Errorf("draft summary/vector/severity: %+v", d)
	}
	if len(d.Packages) != 1 || d.Packages[0] != (advisory.AffectedPackage{Ecosystem: "npm", Name: "acme-web", VulnerableRange: "< 2.4.1", PatchedVersions: "2.4.1"}) {
		t.Errorf("packages: %+v", d.Packages)
	}
	if fmt.Sprint(d.CWEs) != "[CWE-79]" || len(d.Credits) != 1 || d.Credits[0] != (advisory.Credit{Login: "eve", Type: "reporter"}) {
		t.Errorf("cwes %v credits %v", d.CWEs, d.Credits)
	}
	has(t, joined(sent), "Draft advisory GHSA-0001-test-xxxx opened in acme/web", "Maintainers of acme/web notified: @carol.")
	dm := bottest.DMsTo(sent, "carol")
	if len(dm) != 1 {
		t.Fatalf("carol got %d DMs", len(dm))
	}
	has(t, dm[0].Msg.PlainText(), "Security advisory for acme/web", "Severity: Medium", "GHSA-0001-test-xxxx", "/sec severity "+id)
	if len(bottest.DMsTo(sent, "dave")) != 0 {
		t.Error("dave, who maintains another repository, was told")
	}
	has(t, joined(f.Command("bob", "report show "+id)), "☑ Open advisories", "☑ Notify maintainers", "Advisory acme/web: <https://github.com/acme/web/security/advisories/GHSA-0001-test-xxxx|GHSA-0001-test-xxxx> [draft] no CVE")
	has(t, joined(f.Command("bob", "advisory open "+id+" acme/web --ecosystem npm --package x --vulnerable 1")), "already has advisory GHSA-0001-test-xxxx")
}

func TestOpenAsksWhatTheReportLacks(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, false)
	has(t, joined(f.Command("bob", "advisory open "+id+" acme/web --private-fork")), "Draft advisory (1/5)", "Package ecosystem")
	for _, answer := range []string{"pip", "acme-web", ">= 1.0, < 1.4.2", "1.4.2", "cwe-89, 20"} {
		f.Say("bob", answer)
	}
	sent := f.Advance(time.Minute)
	d := f.gh.drafts["GHSA-0001-test-xxxx"]
	if len(d.Packages) == 0 {
		t.Fatalf("no draft from the form: %v", f.gh.calls)
	}
	if d.Packages[0].Ecosystem != "pip" || fmt.Sprint(d.CWEs) != "[CWE-89 CWE-20]" || len(d.Credits) != 0 {
		t.Errorf("draft from the form: %+v", d)
	}
	has(t, joined(sent), "Temporary private fork for the fix of GHSA-0001-test-xxxx")
}

func TestOpenRefusesWhatGitHubCannotTake(t *testing.T) {
	f := newFixture(t)
	res, _ := f.reports.Receive(context.Background(), intake.Incoming{Source: intake.SourceAPI, SourceID: "x", Title: "t", Description: "d"})
	has(t, joined(f.Command("bob", "advisory open "+res.ReportID+" acme/web")), "is new: accept it first")
	f.Command("bob", "report ack "+res.ReportID)
	f.Command("bob", "report accept "+res.ReportID)
	has(t, joined(f.Command("bob", "advisory open "+res.ReportID+" acme/web")), "has no score yet")
	id := f.accepted(t, false)
	has(t, joined(f.Command("bob", "advisory open "+id+" acme")), `"acme" is not owner/repo`)
	has(t, joined(f.Command("bob", "advisory open "+id+" acme/web --ecosystem npm")), "ive all of --ecosystem, --package and --vulnerable")
	has(t, joined(f.Command("bob", "advisory open "+id+" acme/web --ecosystem cobol --package x --vulnerable 1")), `--ecosystem "cobol" is not one GitHub knows`)
	has(t, joined(f.Command("bob", "advisory open "+id+" acme/web --ecosystem npm --package x --vulnerable 1 --cwe XSS")), `"CWE-XSS" is not a CWE id`)
	has(t, joined(f.Command("mallory", "advisory open "+id+" acme/web")), "needs the responder or admin role")
	if len(f.gh.calls) != 0 {
		t.Errorf("GitHub was called: %v", f.gh.calls)
	}
}

// A rate-limited creation waits as long as GitHub asks and then happens,
// once; a refusal is told in the thread and not retried.
func TestRateLimitRetriedRefusalReported(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, false)
	f.gh.fail["create"] = rateLimit{after: 30 * time.Minute}
	f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2"`)
	f.Advance(20 * time.Minute)
	if len(f.gh.drafts) != 0 || len(f.gh.calls) != 1 {
		t.Fatalf("before GitHub's wait ended: drafts %d, calls %v", len(f.gh.drafts), f.gh.calls)
	}
	f.Advance(20 * time.Minute)
	if len(f.gh.drafts) != 1 || len(f.gh.calls) != 2 {
		t.Errorf("after the wait: drafts %d, calls %v", len(f.gh.drafts), f.gh.calls)
	}
	id2 := f.accepted(t, false)
	f.gh.fail["create"] = fmt.Errorf("GitHub: validation failed: cwe_ids: CWE-99999 is not a known CWE")
	sent := f.Command("bob", "advisory open "+id2+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2"`)
	sent = append(sent, f.Advance(time.Hour)...)
	has(t, joined(sent), "Could not open the draft advisory in acme/web: GitHub: validation failed: cwe_ids")
	creates := 0
	for _, c := range f.gh.calls {
		if strings.HasPrefix(c, "create") {
			creates++
		}
	}
	if creates != 3 {
		t.Errorf("%d create calls, want 3 (a refusal is not retried)", creates)
	}
}

func TestCVERequestedAndPolled(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, false)
	f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2"`)
	f.Advance(time.Minute)
	has(t, joined(f.Command("bob", "advisory cve "+id)), "is requesting a CVE for GHSA-0001-test-xxxx", "CVE requested for GHSA-0001-test-xxxx in acme/web")
	has(t, joined(f.Command("bob", "advisory cve "+id)), "has a CVE or is waiting for one")
	f.Advance(3 * time.Hour) // GitHub has not assigned one yet
	f.gh.mu.Lock()
	f.gh.cves["GHSA-0001-test-xxxx"] = "CVE-2026-4242"
	f.gh.mu.Unlock()
	sent := f.Advance(2 * time.Hour)
	has(t, joined(sent), "🆔 CVE-2026-4242 was assigned to GHSA-0001-test-xxxx (acme/web).")
	if strings.Count(joined(f.Advance(24*time.Hour)), "CVE-2026-4242") != 0 {
		t.Error("the CVE was announced again")
	}
	has(t, joined(f.Command("bob", "advisory show "+id)), "acme/web — <https://github.com/acme/web/security/advisories/GHSA-0001-test-xxxx|GHSA-0001-test-xxxx> [draft] CVE-2026-4242")
}

func TestSyncPullsChangesFromGitHub(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, false)
	f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2"`)
	f.Advance(time.Minute)
	has(t, joined(f.Command("bob", "advisory sync "+id)), "the advisories are as Vigil had them")
	f.gh.mu.Lock()
	f.gh.states["GHSA-0001-test-xxxx"] = "published"
	f.gh.mu.Unlock()
	has(t, joined(f.Command("bob", "advisory sync "+id)), "Changed on GitHub: GHSA-0001-test-xxxx: draft → published", "[published]")
}

func TestMaintainerAdjudicatesSeverity(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, false)
	dm := func(who, text string) []bottest.Sent {
		return f.Event(bot.Event{Kind: bot.EventCommand, DM: true, Room: bot.RoomRef{Adapter: "test", ID: "D-" + who}, User: bot.UserRef{Adapter: "test", ID: who}, Text: text, Prefix: "/sec"})
	}
	has(t, joined(dm("mallory", "severity "+id+` low --reason "meh"`)), "needs the maintainer or admin role")
	has(t, joined(dm("dave", "severity "+id+` low --reason "meh"`)), "only maintainers of an affected repository (acme/web)")
	has(t, joined(dm("carol", "severity "+id+` medium`)), "--reason is required")
	has(t, joined(dm("carol", "severity "+id+` severe --reason x`)), `LEVEL must be one of critical, high, medium, low, none, not "severe"`)
	sent := dm("carol", "severity "+id+` low --reason "needs an admin account"`)
	reply := bottest.DMsTo(sent, "carol")
	if len(reply) != 1 || !strings.Contains(reply[0].Msg.PlainText(), "Recorded: "+id+" is Low by your adjudication") || strings.Contains(reply[0].Msg.PlainText(), "XSS") {
		t.Errorf("carol's answer (no report detail in a maintainer's DM): %q", bottest.Texts(sent))
	}
	has(t, joined(sent), "⚖ @carol, maintainer, adjudicated the severity of "+id+" as *Low* (team score 5.4 Medium): needs an admin account")
	has(t, joined(f.Command("bob", "report show "+id)), "Severity: Low — team: 5.4 Medium (CVSS 3.1, by @bob); adjudicated Low by @carol: needs an admin account")
	// The advisory now carries the adjudicated severity, not the vector.
	f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2"`)
	f.Advance(time.Minute)
	if d := f.gh.drafts["GHSA-0001-test-xxxx"]; d.Severity != "low" || d.CVSSVector != "" {
		t.Errorf("draft after adjudication: severity %q vector %q", d.Severity, d.CVSSVector)
	}
	entries, _ := f.Engine.Audit().Last(context.Background(), 30)
	found := false
	for _, e := range entries {
		found = found || (e.Action == "report.severity.adjudicate" && e.Actor == "carol")
	}
	if !found {
		t.Error("the adjudication is not in the audit log")
	}
}

func TestAffectedRepositoriesFromSBOMs(t *testing.T) {
	f := newFixture(t)
	f.gh.orgRepos["acme"] = []string{"acme/web", "acme/api", "acme/docs"}
	f.gh.sboms["acme/web"] = []advisory.Package{{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20"}, {Name: "react", Version: "18.2.0", PURL: "pkg:npm/react@18.2.0"}}
	f.gh.sboms["acme/api"] = []advisory.Package{{Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}}
	got := joined(f.Command("bob", "affected pkg:npm/lodash"))
	has(t, got, "acme/web (4.17.20)", "2 repositories checked in acme. No dependency graph for 1: acme/docs.")
	if strings.Contains(got, "acme/api (") {
		t.Errorf("acme/api does not use lodash: %s", got)
	}
	has(t, joined(f.Command("bob", "affected log4j-core")), "acme/api (2.14.1)")
	has(t, joined(f.Command("bob", "affected pkg:npm/lodash@4.17.21")), "None of the 2 repositories checked depends on pkg:npm/lodash@4.17.21.")
}

func TestWithoutGitHub(t *testing.T) {
	h := bottest.New(t, bottest.Options{People: people()})
	reps, _ := report.Register(h.Engine, report.Options{})
	if _, err := advisory.Register(h.Engine, advisory.Options{Reports: reps}); err != nil {
		t.Fatal(err)
	}
	has(t, joined(h.Command("bob", "advisory open VIG-2026-1 acme/web")), "GitHub is not configured")
}

// unreachableErr is what the GitHub adapter returns when the network is
// down: it matches bot.ErrUnavailable, and its text carries the request's
// URL, which can hold a credential.
type unreachableErr struct{}

func (unreachableErr) Error() string {
	return `could not create advisory: GitHub temporarily unavailable: Post "https://x-access-token:ghs_SECRET@api.github.com/repos/acme/web/security-advisories?token=ghp_SECRET": dial tcp: connection refused`
}
func (unreachableErr) Is(target error) bool { return target == bot.ErrUnavailable }

func count(s, sub string) int { return strings.Count(s, sub) }

// With GitHub down, the report's thread hears after the first failed
// attempt what is wrong and that Vigil keeps retrying (once, however many
// retries follow), then that it gave up and the exact command to try
// again; nothing in chat carries the transport error's URL or token. The
// command it names works once GitHub is back.
func TestGitHubDownIsToldInTheThreadThenGivenUp(t *testing.T) {
	f := newFixture(t)
	id := f.accepted(t, false)
	f.gh.down = unreachableErr{}
	sent := f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2"`)
	sent = append(sent, f.Advance(time.Minute)...)
	has(t, joined(sent), "Could not open the draft advisory in acme/web yet: GitHub could not be reached", "Vigil keeps retrying")
	if strings.Contains(joined(sent), "gave up") {
		t.Fatalf("gave up after one attempt:\n%s", joined(sent))
	}
	sent = append(sent, f.Advance(6*time.Hour)...)
	out := joined(sent)
	if n := count(out, "Vigil keeps retrying"); n != 1 {
		t.Errorf("the retrying note was said %d times, want once:\n%s", n, out)
	}
	if calls := len(f.gh.calls); calls < 5 {
		t.Errorf("only %d attempts in 6 hours: %v", calls, f.gh.calls)
	}
	sent = append(sent, f.Advance(3*24*time.Hour)...)
	out = joined(sent)
	has(t, out, "Gave up trying to open the draft advisory in acme/web after 30 attempts", "ask again: `/sec advisory open "+id+" acme/web`")
	if n := count(out, "Gave up"); n != 1 {
		t.Errorf("gave up %d times, want once", n)
	}
	for _, secret := range []string{"SECRET", "api.github.com", "https://"} {
		if strings.Contains(out, secret) {
			t.Errorf("chat shows %q:\n%s", secret, out)
		}
	}
	attempts := len(f.gh.calls)
	if more := f.Advance(7 * 24 * time.Hour); len(f.gh.calls) != attempts {
		t.Errorf("still calling GitHub after giving up: %v (%s)", f.gh.calls[attempts:], joined(more))
	}
	// GitHub is back; the named command opens the advisory, and a second
	// outage is heard again (the notes belong to each request).
	f.gh.down = nil
	sent = f.Command("bob", "advisory open "+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2" --private-fork`)
	f.gh.fail["fork"] = unreachableErr{}
	sent = append(sent, f.Advance(time.Hour)...)
	bottest.InOrder(t, joined(sent), "Draft advisory GHSA-0001-test-xxxx opened in acme/web",
		"Could not create the private fork of acme/web for GHSA-0001-test-xxxx yet: GitHub could not be reached",
		"Temporary private fork for the fix of GHSA-0001-test-xxxx")

	// A CVE request shares the path: rate-limited, it is told with GitHub's wait.
	f.gh.down = rateLimit{after: 2 * time.Hour}
	sent = f.Command("bob", "advisory cve "+id)
	sent = append(sent, f.Advance(time.Minute)...)
	has(t, joined(sent), "Could not request a CVE for GHSA-0001-test-xxxx yet: GitHub's rate limit was reached (it asked Vigil to wait 2h0m0s)")
	f.gh.down = nil
	has(t, joined(f.Advance(3*time.Hour)), "CVE requested for GHSA-0001-test-xxxx")
}
