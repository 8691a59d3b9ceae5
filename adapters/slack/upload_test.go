package slack

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// chartPNG is a small real PNG, as the stats chart is.
func chartPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 40, 20))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFilesUploadV2LandsInThePrivateChannelThread(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	data := chartPNG(t)
	thread := "1767603600.000042"
	msg := bot.Message{Text: "Figures for November", Sensitive: true, Files: []bot.File{
		{Name: "../../stats\x1b[2J-2026-11.png", MIME: "image/png", Alt: "Time to acknowledge\nby month", Data: data},
	}}
	if err := r.engine.Post(ctx, "stats-2026-11", bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{ID: thread}), msg); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	p := r.slack.nextPost(t)
	if p.Channel != chanSecurity || p.Thread != thread || !strings.Contains(p.Text, "Figures for November") {
		t.Fatalf("the text went to %s thread %q: %q", p.Channel, p.Thread, p.Text)
	}
	u := r.slack.nextUpload(t)
	if !bytes.Equal(u.Data, data) {
		t.Errorf("the uploaded bytes differ from the PNG (%d bytes, want %d)", len(u.Data), len(data))
	}
	if u.Channel != chanSecurity || u.Thread != thread {
		t.Errorf("the file was shared into %s thread %q, want %s thread %q", u.Channel, u.Thread, chanSecurity, thread)
	}
	if u.Name != "stats[2J-2026-11.png" || u.Title != u.Name {
		t.Errorf("file name %q, title %q: want the sanitized name", u.Name, u.Title)
	}
	if u.Alt != "Time to acknowledge by month" {
		t.Errorf("alt_txt = %q", u.Alt)
	}
	if _, err := png.Decode(bytes.NewReader(u.Data)); err != nil {
		t.Errorf("the uploaded file is not a PNG: %v", err)
	}
	for _, m := range []string{"files.getUploadURLExternal", "upload", "files.completeUploadExternal"} {
		if n := r.slack.count(m); n != 1 {
			t.Errorf("%s called %d times, want once", m, n)
		}
	}
}

func TestFileOfATopLevelMessageIsSharedInTheChannel(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	msg := bot.Message{Text: "chart", Files: []bot.File{{Name: "a.png", MIME: "image/png", Data: chartPNG(t)}}}
	if err := r.engine.Post(ctx, "top", bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), msg); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	r.slack.nextPost(t)
	if u := r.slack.nextUpload(t); u.Channel != chanSecurity || u.Thread != "" {
		t.Errorf("shared into %s thread %q, want the channel itself", u.Channel, u.Thread)
	}
}

func TestFailedUploadRetriesTheFileNotTheText(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	r.slack.mu.Lock()
	r.slack.failComplete = func(n int) string {
		if n == 1 {
			return "internal_error"
		}
		return ""
	}
	r.slack.mu.Unlock()
	msg := bot.Message{Text: "chart follows", Files: []bot.File{{Name: "a.png", MIME: "image/png", Data: chartPNG(t)}}}
	if err := r.engine.Post(ctx, "retry-file", bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), msg); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	r.slack.nextPost(t)
	// The outbox retries after its backoff; the fake clock moves there.
	if err := r.engine.AdvanceTo(ctx, r.clock, r.clock.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	u := r.slack.nextUpload(t)
	if u.Channel != chanSecurity {
		t.Errorf("retried upload went to %s", u.Channel)
	}
	r.slack.noPost(t)
	if n := r.slack.count("chat.postMessage"); n != 1 {
		t.Errorf("the text was posted %d times, want once", n)
	}
}

func TestPrivateAnswerWithFilesSendsThemByDM(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	r.engine.MustRegister(&bot.Command{Name: "chart", Summary: "a chart",
		Run: func(ctx context.Context, req *bot.Request) error {
			_, err := req.Reply(ctx, bot.Message{Text: "your chart", Files: []bot.File{{Name: "c.png", MIME: "image/png", Data: chartPNG(t)}}})
			return err
		}})
	conn.send(t, commandEnvelope("env-1", chanSecurity, userAlice, "chart", "trig-1"))
	conn.ack(t, "env-1")
	answer := r.slack.nextPost(t)
	if !answer.Ephemeral || !strings.Contains(answer.Text, "your chart") {
		t.Fatalf("answer = %+v, want ephemeral", answer)
	}
	if !strings.Contains(answer.Text+fmt.Sprint(answer.Blocks), "direct messages") {
		t.Errorf("the answer does not say where the file went: %q", answer.Text)
	}
	r.slack.nextPost(t) // "The files of my answer:" in the DM
	if u := r.slack.nextUpload(t); u.Channel != "D"+userAlice {
		t.Errorf("the file of a private answer was shared into %s, want alice's DM", u.Channel)
	}
}

func TestFilesAloneAreSharedWithoutAnEmptyMessage(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	msg := bot.Message{Files: []bot.File{{Name: "a.png", MIME: "image/png", Data: chartPNG(t)}}}
	if err := r.engine.Post(ctx, "alone", bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), msg); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	if u := r.slack.nextUpload(t); u.Channel != chanSecurity {
		t.Errorf("shared into %s", u.Channel)
	}
	if n := r.slack.count("chat.postMessage"); n != 0 {
		t.Errorf("%d messages posted before the file, want none", n)
	}
}
