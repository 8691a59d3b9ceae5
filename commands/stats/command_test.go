package stats_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
)

// smallFixture has two accepted reports: one acknowledged in 3h on
// acme/web, and one whose repository name is hostile markup, acknowledged
// in 50h (late).
func smallFixture(t *testing.T, o stats.Options) (*bottest.Harness, *stats.Stats) {
	t.Helper()
	hs := bottest.New(t, bottest.Options{})
	reps, err := report.Register(hs.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.Register(hs.Engine, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, repo := range []string{"acme/web", "evil/<!channel>*bold*"} {
		if _, err := reps.Receive(ctx, intake.Incoming{Source: intake.SourceEmail, SourceID: repo, Title: "t", Description: "d",
			Reporter: intake.Reporter{Email: "eve@example.org"}, Repositories: []string{repo}}); err != nil {
			t.Fatal(err)
		}
		id := []string{"VIG-2026-1", "VIG-2026-2"}[i]
		hs.Advance([]time.Duration{3 * time.Hour, 50 * time.Hour}[i])
		hs.Command("bob", "report ack "+id)
		hs.Command("bob", "report accept "+id)
	}
	hs.Advance(24 * time.Hour)
	return hs, st
}

// reply is the one answer to the asker carrying files, or fails.
func replyWithFiles(t *testing.T, out []bottest.Sent) bot.Message {
	t.Helper()
	for _, s := range out {
		if len(s.Msg.Files) > 0 {
			return s.Msg
		}
	}
	t.Fatalf("no message with files in:\n%s", bottest.Joined(out))
	return bot.Message{}
}

func TestStatsAnswersFiguresAndAChartInThePrivateRoom(t *testing.T) {
	hs, _ := smallFixture(t, stats.Options{})
	msg := replyWithFiles(t, hs.Command("alice", "stats"))
	text := msg.PlainText()
	for _, want := range []string{"Reports received: 2 (email 2) · accepted 2 · rejected 0",
		"Time to acknowledge: median 3h, p90 2d 2h, max 2d 2h · breaches of the 48h window: 1", "Open vulnerabilities now: 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q in:\n%s", want, text)
		}
	}
	if !msg.Sensitive {
		t.Error("the figures are not marked sensitive: the privacy rule would not keep them in the private room")
	}
	// The hostile repository name is marked untrusted, never raw.
	if !strings.Contains(msg.Text, string(bot.UntrustedOpen)+"evil/<!channel>*bold*"+string(bot.UntrustedClose)) {
		t.Errorf("repository names are not marked untrusted:\n%q", msg.Text)
	}
	f := msg.Files[0]
	if f.MIME != "image/png" || !strings.HasSuffix(f.Name, ".png") || f.Alt == "" {
		t.Errorf("file %q %q alt %q", f.Name, f.MIME, f.Alt)
	}
	img, err := png.Decode(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("chart is %dx%d, want at least 400x300", b.Dx(), b.Dy())
	}
}

func TestStatsRefusedOutsideThePrivateRoomAndToStrangers(t *testing.T) {
	hs, _ := smallFixture(t, stats.Options{})
	for _, tc := range []struct {
		who  string
		room bot.RoomRef
	}{{"alice", bottest.PublicRoom}, {"mallory", bottest.Room}} {
		out := hs.CommandIn(tc.room, tc.who, "stats")
		text := bottest.Joined(out)
		for _, s := range out {
			if len(s.Msg.Files) > 0 || strings.Contains(s.Msg.PlainText(), "Reports received") || strings.Contains(text, "VIG-2026") {
				t.Fatalf("%s in %s got figures:\n%s", tc.who, tc.room, text)
			}
		}
		if text == "" {
			t.Errorf("%s in %s got no answer", tc.who, tc.room)
		}
	}
}

func TestStatsFlags(t *testing.T) {
	hs, _ := smallFixture(t, stats.Options{})
	for _, tc := range []struct{ cmd, want string }{
		{"stats --since 2026-13-01", `--since "2026-13-01" is not a date: write it as YYYY-MM-DD`},
		{"stats --until yesterday", `--until "yesterday" is not a date`},
		{"stats --since 2026-02-01 --until 2026-01-01", "--since 2026-02-01 is after --until 2026-01-01"},
		{"stats --repo nothing", "--repo wants OWNER/NAME"},
	} {
		text := bottest.Joined(hs.Command("alice", tc.cmd))
		if !strings.Contains(text, tc.want) || !strings.Contains(text, "Usage: `/sec stats [--since DATE] [--until DATE] [--repo OWNER/NAME]`") {
			t.Errorf("%s:\n%s", tc.cmd, text)
		}
	}
	// A period without the reports: none counted.
	msg := replyWithFiles(t, hs.Command("alice", "stats --since 2025-01-01 --until 2025-12-31"))
	if !strings.Contains(msg.PlainText(), "Reports received: 0") {
		t.Errorf("2025:\n%s", msg.PlainText())
	}
	// One repository.
	msg = replyWithFiles(t, hs.Command("alice", "stats --repo acme/web"))
	if !strings.Contains(msg.PlainText(), "Reports received: 1 (email 1)") || strings.Contains(msg.PlainText(), "incidents") {
		t.Errorf("acme/web:\n%s", msg.PlainText())
	}
	if help := bottest.Joined(hs.Command("alice", "stats --help")); !strings.Contains(help, "nearest rank") {
		t.Errorf("help:\n%s", help)
	}
}
