package release_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
)

const publicList = "oss-security@lists.example.org"

// publishWithPublicLists takes a release from plan to published, with a
// CVE on the advisory and the reporter named Eve, who wants credit or not,
// and returns the fixture after the notice jobs ran.
func publishWithPublicLists(t *testing.T, lists []string, credit bool, signedBy string) *fixture {
	t.Helper()
	f := newFixtureWith(t, func(o *release.Options) { o.PublicLists, o.SignedBy = lists, signedBy })
	if _, err := f.reports.Update(context.Background(), f.id, func(r *report.Report) error {
		r.Reporter.Name, r.Reporter.Credit = "Eve Example", credit
		r.Advisories[0].CVE = "CVE-2026-1234"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	publicAt := f.Clock.Now().Add(3 * 24 * time.Hour).Truncate(time.Hour)
	f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339)+` --versions "< 2.4.1" --remedy "upgrade to 2.4.1"`)
	f.Command("alice", "release announce "+f.id)
	f.Advance(publicAt.Sub(f.Clock.Now()))
	f.Command("bob", "release link "+f.id+" https://github.com/acme/web/pull/42")
	if err := f.releases.PullRequestMerged(context.Background(), "acme/web", 42, "main", "carol", time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	f.Command("bob", "release publish "+f.id)
	f.Advance(time.Second)
	f.Advance(time.Second)
	return f
}

// On publish each public list gets one notice with the CVE, the versions
// and the links, and nothing of the report that is not public: not its
// title or description (the reporter's words), not the reporter's address.
// A redelivered job does not mail the list again.
func TestReleasePublicNoticeOnPublish(t *testing.T) {
	f := publishWithPublicLists(t, []string{publicList}, true, "")
	got := f.mail.to(publicList)
	if len(got) != 1 {
		t.Fatalf("%d mails to %s, want 1", len(got), publicList)
	}
	m := got[0]
	bottest.Golden(t, "testdata/texts/public-notice-mail.txt", m.Body)
	has(t, m.Subject, "acme/web", "CVE-2026-1234")
	has(t, m.Body, "CVE-2026-1234", "< 2.4.1", "upgrade to 2.4.1", "Credit: Eve Example",
		"https://github.com/acme/web/security/advisories/"+ghsa, "https://github.com/acme/web/pull/42")
	for _, private := range []string{secret, "XSS in search", "eve@example.org", f.id} {
		if strings.Contains(m.Subject+m.Body, private) {
			t.Errorf("the public notice has %q:\n%s", private, m.Body)
		}
	}
	if m.Sign {
		t.Error("asked to be signed without a signing key")
	}
	if n := len(f.audit(t, "release.mail.public")); n != 1 {
		t.Errorf("%d release.mail.public audit entries, want 1", n)
	}

	// The same job delivered again (a second replica, a restart).
	payload, _ := json.Marshal(map[string]string{"id": f.id, "to": publicList})
	job := bot.Job{ID: "release:" + f.id + ":mail:public:" + publicList, Kind: "release.public-notice", Due: f.Clock.Now(), Payload: payload}
	if err := f.Engine.Scheduler().Schedule(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	if n := len(f.mail.to(publicList)); n != 1 {
		t.Errorf("%d mails to %s after a redelivery, want 1", n, publicList)
	}
}

// Credit only when the reporter asked for it; signed when a key is set;
// every list gets its own mail.
func TestReleasePublicNoticeCreditAndSignature(t *testing.T) {
	const other = "announce-public@lists.example.org"
	f := publishWithPublicLists(t, []string{publicList, other}, false, "0123456789ABCDEF0123456789ABCDEF01234567")
	for _, list := range []string{publicList, other} {
		got := f.mail.to(list)
		if len(got) != 1 {
			t.Fatalf("%d mails to %s, want 1", len(got), list)
		}
		if strings.Contains(got[0].Body, "Credit") || strings.Contains(got[0].Body, "Eve") {
			t.Errorf("credit given to a reporter who did not want it:\n%s", got[0].Body)
		}
		if !got[0].Sign {
			t.Errorf("the notice to %s does not ask to be signed", list)
		}
	}
	if a, b := f.mail.to(publicList)[0].MessageID, f.mail.to(other)[0].MessageID; a == b {
		t.Errorf("both notices have Message-ID %s", a)
	}
}

// Without public lists, publishing mails no one beyond the announcement
// list and the distributors.
func TestReleasePublicNoticeNoneWithoutLists(t *testing.T) {
	f := publishWithPublicLists(t, nil, true, "")
	f.mail.mu.Lock()
	defer f.mail.mu.Unlock()
	for _, m := range f.mail.sent {
		if m.To != "announce@lists.example.org" && m.To != "distros@lists.example.org" {
			t.Errorf("a mail to %s", m.To)
		}
	}
	if n := len(f.audit(t, "release.mail.public")); n != 0 {
		t.Errorf("%d release.mail.public audit entries, want 0", n)
	}
}

func TestReleasePublicListsValidated(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	reps, err := report.Register(h.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = release.Register(h.Engine, release.Options{Reports: reps, PublicLists: []string{"not an address"}})
	if err == nil || !strings.Contains(err.Error(), "not an email address") {
		t.Errorf("a public list that is not an address: %v, want refused", err)
	}
}
