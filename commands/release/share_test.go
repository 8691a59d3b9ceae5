package release_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
)

// planForShare plans the fixture's release ten days ahead and links a PR.
func (f *fixture) planForShare(t *testing.T) time.Time {
	t.Helper()
	publicAt := f.Clock.Now().Add(10 * 24 * time.Hour).Truncate(time.Hour)
	has(t, bottest.Joined(f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339))), "planned the release")
	f.Command("bob", "release link "+f.id+" https://github.com/acme/web/pull/42")
	return publicAt
}

// The reporter gets the draft, the date and the fix, and nothing of any
// other report; the mail is not signed even when list mails are, and the
// reporter's answer threads back into the report.
func TestShareMailsTheReporter(t *testing.T) {
	f := newFixtureWith(t, func(o *release.Options) { o.SignedBy = "0123456789ABCDEF0123456789ABCDEF01234567" })
	ctx := context.Background()
	// Another report, by someone else, that must not leak into the mail.
	if _, err := f.reports.Receive(ctx, intake.Incoming{
		Source: intake.SourceEmail, SourceID: "m2@example.org", Title: "SQL injection in login", Description: "OTHER-SECRET payload",
		Reporter: intake.Reporter{Email: "mallory@example.org", Name: "Mallory"}, Repositories: []string{"acme/web"},
	}); err != nil {
		t.Fatal(err)
	}
	f.planForShare(t)
	sent := f.Command("alice", "release share "+f.id)
	sent = append(sent, f.Advance(time.Second)...)
	has(t, bottest.Joined(sent), "goes to the reporter", "shared the draft announcement", "release check "+f.id+" reporter-agreed", "Sent the share-1 mail")

	mails := f.mail.to("eve@example.org")
	if len(mails) != 1 {
		t.Fatalf("%d mails to the reporter, want 1", len(mails))
	}
	m := mails[0]
	has(t, m.Body, "Upcoming security release: acme/web", "will be published on", "https://github.com/acme/web/pull/42", "replying to this mail")
	has(t, m.Subject, f.id, "XSS in search")
	for _, leak := range []string{"mallory", "Mallory", "SQL injection", "OTHER-SECRET"} {
		if strings.Contains(m.Subject+m.Body, leak) {
			t.Errorf("the mail to the reporter holds %q of another report:\n%s", leak, m.Body)
		}
	}
	if m.Sign {
		t.Error("the mail to the reporter asks to be signed")
	}
	if m.InReplyTo != "<m1@example.org>" {
		t.Errorf("In-Reply-To %q, want the report's original mail", m.InReplyTo)
	}
	if a := f.audit(t, "release.share"); len(a) != 1 || a[0].Actor != "alice" || a[0].Target != f.id {
		t.Errorf("share audit: %+v", a)
	}
	if a := f.audit(t, "release.mail.share-1"); len(a) != 1 || a[0].Detail != "to eve@example.org" {
		t.Errorf("mail audit: %+v", a)
	}

	res, err := f.reports.Receive(ctx, intake.Incoming{
		Source: intake.SourceEmail, SourceID: "reply-9@example.org", Title: "Re: the security release",
		Description: "Fine by me, please credit me.", Reporter: intake.Reporter{Email: "eve@example.org"},
		InReplyTo: []string{m.MessageID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reply || res.ReportID != f.id || res.Created {
		t.Fatalf("the reporter's answer did not thread into %s: %+v", f.id, res)
	}
	has(t, bottest.Joined(f.Advance(time.Minute)), "Fine by me")

	// A second share is a new mail with its own Message-ID.
	f.Command("alice", "release share "+f.id)
	f.Advance(time.Second)
	if mails = f.mail.to("eve@example.org"); len(mails) != 2 || mails[1].MessageID == mails[0].MessageID {
		t.Fatalf("a second share: %d mails, ids %v", len(mails), mails)
	}
}

func TestShareRefusedWithoutEmailOrMail(t *testing.T) {
	f := newFixture(t)
	f.planForShare(t)
	if _, err := f.reports.Update(context.Background(), f.id, func(r *report.Report) error {
		r.Reporter.Email = ""
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	has(t, bottest.Joined(f.Command("alice", "release share "+f.id)), "no reporter email address", "by hand")
	f.Advance(time.Second)
	if len(f.mail.sent) != 0 || len(f.audit(t, "release.share")) != 0 {
		t.Errorf("a refused share sent %d mails or was audited", len(f.mail.sent))
	}

	g := newFixtureWith(t, func(o *release.Options) { o.Mailer = nil })
	g.planForShare(t)
	has(t, bottest.Joined(g.Command("alice", "release share "+g.id)), "No outbound mail is configured")
	if len(g.audit(t, "release.share")) != 0 {
		t.Error("a refused share was audited")
	}
}

func TestReporterAgreedTicked(t *testing.T) {
	f := newFixture(t)
	f.planForShare(t)
	has(t, bottest.Joined(f.Command("bob", "release show "+f.id)), "☐ Reporter agreed")
	has(t, bottest.Joined(f.Command("bob", "release check "+f.id+" publish")), "not an item ticked by hand")
	out := bottest.Joined(f.Command("bob", "release check "+f.id+" reporter-agreed"))
	has(t, out, "☑ Reporter agreed")
	has(t, bottest.Joined(f.Command("bob", "release show "+f.id)), "☑ Reporter agreed")
	has(t, bottest.Joined(f.Command("bob", "release check "+f.id+" reporter-agreed")), "already ticked")
	if a := f.audit(t, "release.check"); len(a) != 1 || a[0].Actor != "bob" || a[0].Detail != "reporter-agreed" {
		t.Errorf("check audit: %+v", a)
	}
	rel, err := f.releases.Get(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rel.Checklist {
		if it.Key == "reporter-agreed" && (!it.Done || it.By != "bob") {
			t.Errorf("item %+v", it)
		}
	}
}
