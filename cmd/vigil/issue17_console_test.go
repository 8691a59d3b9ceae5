package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// Issue 17, items 1–7, as a person meets them: Vigil run as the command
// line runs it (--console on a fake clock), a script on standard input,
// and assertions on what the console prints.

// rehearse runs a console script on a fake clock starting at 2026-01-05
// 10:00 UTC, with the configuration file at cfg (none when empty), and
// returns what the console printed. It fails the test if Vigil does not
// exit 0.
func rehearse(t *testing.T, cfg string, lines ...string) string {
	t.Helper()
	args := []string{"--console", "--data", t.TempDir(), "--clock", "2026-01-05T10:00:00Z"}
	if cfg != "" {
		args = append(args, "--config", cfg)
	}
	code, out, errOut := vigil(t, strings.Join(lines, "\n"), nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	return out
}

// fileByHand is "/sec report new" and the answers to its form: title,
// description, no reporter name or email, no credit, acme/web affected.
func fileByHand(title, description string) []string {
	return []string{"/sec report new", title, description, "-", "-", "no", "acme/web"}
}

// githubAt writes a configuration whose GitHub API is at apiURL and
// returns its path.
func githubAt(t *testing.T, apiURL string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("github:\n  api_url: %q\n  token: ghp_test\n", apiURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// advisoryOpened files VIG-2026-1 by hand, takes it to accepted with a
// Medium score and asks for its draft advisory in acme/web, as the team
// does before a release.
func advisoryOpened() []string {
	return append(fileByHand("XSS in search", "Reflected."),
		"/sec report ack VIG-2026-1",
		"/sec report accept VIG-2026-1",
		"/sec report score VIG-2026-1 CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
		`/sec advisory open VIG-2026-1 acme/web --ecosystem npm --package acme-web --vulnerable "< 2.4.1" --patched 2.4.1`,
	)
}

// lastFrom is out from the last occurrence of marker on (all of out when
// it is missing, so the assertions that follow still report it).
func lastFrom(out, marker string) string {
	if i := strings.LastIndex(out, marker); i >= 0 {
		return out[i:]
	}
	return out
}

// postedInThread reports whether the console printed text on the first
// line of a thread message, the line right after "↳ in thread ID:".
func postedInThread(out, text string) bool {
	lines := strings.Split(out, "\n")
	for i := 1; i < len(lines); i++ {
		if strings.Contains(lines[i], text) && strings.HasPrefix(lines[i-1], "↳ in thread ") {
			return true
		}
	}
	return false
}

// Item 1: two reports filed by hand in the same fake-clock instant are two
// reports, each with its own id, title and description.
func TestIssue17TwoReportsByHandInOneInstant(t *testing.T) {
	script := append(fileByHand("First report", "First details."), fileByHand("Second report", "Second details.")...)
	out := rehearse(t, "", append(script, "/sec report list --all", "/sec report show VIG-2026-2")...)
	bottest.InOrder(t, out,
		"Filed VIG-2026-1", "== VIG-2026-1: First report ==", "First details.",
		"Filed VIG-2026-2", "== VIG-2026-2: Second report ==", "Second details.",
		"== Reports (2) ==",
		"VIG-2026-1 [new] First report",
		"VIG-2026-2 [new] Second report",
		"== VIG-2026-2: Second report ==", "Second details.",
	)
}

// Item 2: help shows each example with the prefix once, ready to copy.
func TestIssue17HelpExamplesArePrefixedOnce(t *testing.T) {
	out := rehearse(t, "",
		"/sec help incident start",
		"/sec help incident log",
		"/sec help release plan",
		"/sec help release link",
	)
	bottest.InOrder(t, out,
		`/sec incident start "Leaked deploy token"`,
		`/sec incident log "token revoked" --at 14:05`,
		`/sec release plan VIG-2026-7 --public-at "2026-01-12 14:00"`,
		"/sec release link VIG-2026-7 https://github.com/acme/web/pull/42",
	)
	if strings.Contains(out, "/sec /sec") {
		t.Errorf("help repeats the prefix:\n%s", out)
	}
}

// Item 3: the list shows a resolved incident's start and its resolution,
// not its start as "resolved since".
func TestIssue17IncidentListSaysWhenResolved(t *testing.T) {
	out := rehearse(t, "",
		`/sec incident start "Leaked deploy token"`,
		":advance 3h5m",
		"/sec incident resolve",
		":advance 1h",
		`/sec incident start "Second one"`,
		"/sec incident list",
	)
	list := lastFrom(out, "== Incidents ==")
	bottest.InOrder(t, list,
		"INC-2026-2 Second one (open since 2026-01-05 14:05 UTC, lead @admin)",
		"INC-2026-1 Leaked deploy token (started 2026-01-05 10:00 UTC, resolved 2026-01-05 13:05 UTC after 3h 5m, lead @admin)",
	)
	if strings.Contains(list, "resolved since") {
		t.Errorf("the list shows the start as the resolution:\n%s", list)
	}
}

// Item 4: a release published exactly two hours after its merge is late.
// The breach the clock records and the publish answer agree: "0m after the
// deadline (breach recorded)", never "within the deadline". A minute
// earlier is on time and records no breach.
func TestIssue17PublishAtTheDeadline(t *testing.T) {
	publishAfter := func(t *testing.T, wait string) string {
		gh := githubtest.New(t, githubtest.Options{Token: "ghp_test"})
		gh.SeedRepo("acme/web", githubtest.Repository{})
		script := append(advisoryOpened(),
			":advance 1m",
			"/sec release plan VIG-2026-1 --public-at 2026-01-08T10:00:00Z",
			":advance 2026-01-08T10:00:00Z",
			"/sec release merged VIG-2026-1 https://github.com/acme/web/pull/7",
			":advance "+wait,
			"/sec release publish VIG-2026-1",
			"/sec release show VIG-2026-1",
		)
		return rehearse(t, githubAt(t, gh.URL()), script...)
	}

	t.Run("exactly merge + 2h", func(t *testing.T) {
		out := publishAfter(t, "2h")
		bottest.InOrder(t, out,
			"Draft advisory GHSA-",
			"❗ BREACH: the advisories of VIG-2026-1 were not published within 2h of the merge",
			"⏱ Thu 2026-01-08 12:00 UTC",
			"✅ Published acme/web GHSA-", "2h after the merge, 0m after the deadline (breach recorded)",
			"== Release of VIG-2026-1 ==", "Breach: publication deadline missed at Thu 8 Jan 2026 12:00 UTC",
		)
		if strings.Contains(out, "within the deadline") {
			t.Errorf("a publish at the deadline, after the breach, is called on time:\n%s", out)
		}
	})
	t.Run("a minute before", func(t *testing.T) {
		out := publishAfter(t, "1h59m")
		bottest.InOrder(t, out, "⏱ Thu 2026-01-08 11:59 UTC", "✅ Published acme/web GHSA-", "1h 59m after the merge, within the deadline")
		if strings.Contains(out, "BREACH") || strings.Contains(out, "Breach:") {
			t.Errorf("an on-time publish is a breach:\n%s", out)
		}
	})
}

// Item 5: once a report is past new (here released), its summary offers
// neither the Acknowledge button nor an acknowledge-by time, but says when
// it was acknowledged.
func TestIssue17ReleasedReportOffersNoAcknowledge(t *testing.T) {
	script := append(fileByHand("RCE in the importer", "Crafted archive runs code."),
		":advance 2h",
		"/sec report ack VIG-2026-1",
		"/sec report accept VIG-2026-1",
		"/sec report fixing VIG-2026-1",
		"/sec report released VIG-2026-1",
		"/sec report show VIG-2026-1",
	)
	out := rehearse(t, "", script...)
	// The summary posted when the report was filed offers acknowledgement.
	bottest.InOrder(t, out, "Acknowledge by: Wed 7 Jan 2026 10:00 UTC", "[1 Acknowledge]", "moved VIG-2026-1 to released")
	show := lastFrom(out, "== VIG-2026-1: RCE in the importer ==")
	for _, offer := range []string{"Acknowledge by", "Acknowledge]"} {
		if strings.Contains(show, offer) {
			t.Errorf("the released report still offers %q:\n%s", offer, show)
		}
	}
	bottest.InOrder(t, show, "Acknowledged: Mon 5 Jan 2026 12:00 UTC", "State: released", "(:press N)")
}

// Item 6: with GitHub unreachable (its API on a closed port), the report's
// thread hears after the first failed attempt what is wrong and that Vigil
// keeps retrying, once; then that it gave up and the command to try again.
// Chat never shows the address or the token.
func TestIssue17GitHubDownIsToldInTheThread(t *testing.T) {
	script := append(advisoryOpened(),
		":advance 1m",
		":advance 6h",
		":advance 3d",
	)
	addr := freeAddr(t) // free, so nothing listens there
	out := rehearse(t, githubAt(t, "http://"+addr+"/"), script...)
	bottest.InOrder(t, out,
		"is opening draft advisories for VIG-2026-1 in acme/web",
		"↳ in thread", "Could not open the draft advisory in acme/web yet: GitHub could not be reached", "Vigil keeps retrying",
		"⏱ Mon 2026-01-05 10:01 UTC",
		"⏱ Mon 2026-01-05 16:01 UTC",
		"↳ in thread", "Gave up trying to open the draft advisory in acme/web after 30 attempts",
		"ask again: /sec advisory open VIG-2026-1 acme/web",
		"⏱ Thu 2026-01-08 16:01 UTC",
	)
	for _, note := range []string{"Could not open the draft advisory", "Gave up trying to open the draft advisory"} {
		if !postedInThread(out, note) {
			t.Errorf("%q is not posted in the report's thread:\n%s", note, out)
		}
	}
	if n := strings.Count(out, "Vigil keeps retrying"); n != 1 {
		t.Errorf("the retrying note was said %d times, want once:\n%s", n, out)
	}
	for _, secret := range []string{addr, "ghp_test"} {
		if strings.Contains(out, secret) {
			t.Errorf("chat shows %q:\n%s", secret, out)
		}
	}
}

// Item 7: help says when reminders start, and without GitHub a team names
// a report's maintainers (report notify); the reminder DM follows one
// period (High: a month) later on the fake clock, and a release stops them.
func TestIssue17RemindersWithoutGitHub(t *testing.T) {
	script := []string{"/sec help remind", "/sec people add carol --roles maintainer --maintains acme/web"}
	script = append(script, fileByHand("SQLi in search", "Details.")...)
	script = append(script,
		"/sec report ack VIG-2026-1",
		"/sec report accept VIG-2026-1",
		"/sec report score VIG-2026-1 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", // 7.5 High: monthly
		"/sec report notify VIG-2026-1 @carol",
		"/sec remind list @carol",
		":advance 29d",
		":advance 2d",
		"/sec report fixing VIG-2026-1",
		"/sec report released VIG-2026-1",
		":advance 62d",
	)
	out := rehearse(t, "", script...)
	bottest.InOrder(t, out,
		"== /sec remind ==", "Reminders start when maintainers are told", "advisory open", "report notify ID @maintainer",
		"told the maintainers of VIG-2026-1 by DM: ", "carol", " (severity High)",
		"→ DM to carol:", "== Security report for acme/web (VIG-2026-1) ==", "SQLi in search", "Severity: High",
		"== Reminders ==", "@carol — VIG-2026-1 acme/web (High): next Wed 4 Feb",
		"⏱ Tue 2026-02-03 10:00 UTC",
		"→ DM to carol:", "== Unfixed vulnerabilities (1) ==", "VIG-2026-1 (High, open 30 days): SQLi in search",
		"⏱ Thu 2026-02-05 10:00 UTC",
		"moved VIG-2026-1 to released",
	)
	// Nothing to carol between being told and the first reminder, nor
	// after the release.
	quiet := out[strings.Index(out, "== Reminders =="):strings.Index(out, "⏱ Tue 2026-02-03 10:00 UTC")]
	released := out[strings.LastIndex(out, "moved VIG-2026-1 to released"):]
	for when, text := range map[string]string{"before the first reminder": quiet, "after the release": released} {
		if strings.Contains(text, "→ DM to carol:") {
			t.Errorf("carol was written to %s:\n%s", when, text)
		}
	}
}
