package release_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
)

// TestLongTexts takes a release from plan to answer and compares its long
// texts (the three mails, the public-time DM, the answer in chat) with
// testdata/texts/*.txt, which hold the exact text they had when they were
// built with fmt.Sprintf and strings.Builder.
func TestLongTexts(t *testing.T) {
	f := newFixture(t)
	publicAt := f.Clock.Now().Add(10 * 24 * time.Hour).Truncate(time.Hour)
	f.Command("bob", "release plan "+f.id+" --public-at "+publicAt.Format(time.RFC3339)+` --versions "< 2.4.1" --remedy "upgrade to 2.4.1"`)
	f.Command("alice", "release announce "+f.id)
	f.Advance(publicAt.Add(-7*24*time.Hour).Sub(f.Clock.Now()) + time.Second)
	public := bottest.DMsTo(f.Advance(publicAt.Sub(f.Clock.Now())), "carol")
	if len(public) != 1 {
		t.Fatalf("%d DMs to carol at the public time, want 1", len(public))
	}
	bottest.Golden(t, "testdata/texts/public-dm.txt", public[0].Msg.Text)

	f.Command("bob", "release link "+f.id+" https://github.com/acme/web/pull/42")
	if err := f.releases.PullRequestMerged(context.Background(), "acme/web", 42, "main", "carol", time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	out := f.Command("bob", "release publish "+f.id)
	out = append(out, f.Advance(time.Second)...)
	var answered bool
	for _, s := range out {
		if s.To.Room == bottest.PublicRoom {
			answered = true
			bottest.Golden(t, "testdata/texts/answer-chat.txt", s.Msg.Text)
		}
	}
	if !answered {
		t.Fatal("no answer in the public room")
	}

	notice := f.mail.to("distros@lists.example.org")
	if len(notice) != 1 {
		t.Fatalf("%d notices to distributors, want 1", len(notice))
	}
	bottest.Golden(t, "testdata/texts/notice-mail.txt", notice[0].Body)
	list := f.mail.to("announce@lists.example.org")
	if len(list) != 2 {
		t.Fatalf("%d mails to the list, want the announcement and its answer", len(list))
	}
	bottest.Golden(t, "testdata/texts/announce-mail.txt", list[0].Body)
	bottest.Golden(t, "testdata/texts/answer-mail.txt", list[1].Body)
}
