package bot_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// chart is a stand-in for the stats chart: bytes that JSON would mangle
// if they were not carried as base64 (NUL, invalid UTF-8, quotes).
func chart(n int) bot.File {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	copy(data, "\x89PNG\r\n\x1a\n\x00\xff\"")
	return bot.File{Name: "stats.png", MIME: "image/png", Alt: "Time to acknowledge", Data: data}
}

func TestFilesTravelThroughTheOutboxIntact(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	f := chart(300 << 10)
	msg := bot.Message{Text: "Figures", Files: []bot.File{f}}
	if err := h.Engine.Post(context.Background(), "stats-1", roomDest, msg); err != nil {
		t.Fatal(err)
	}
	sent := h.Advance(0)
	if len(sent) != 1 || len(sent[0].Msg.Files) != 1 {
		t.Fatalf("want one message with one file, got %+v", sent)
	}
	got := sent[0].Msg.Files[0]
	if !bytes.Equal(got.Data, f.Data) || got.Name != f.Name || got.MIME != f.MIME || got.Alt != f.Alt {
		t.Errorf("the file changed on its way through the outbox: %q %q %q, %d bytes", got.Name, got.MIME, got.Alt, len(got.Data))
	}
}

func TestFilesOverTheLimitAreRefusedAtEnqueue(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	big := chart(bot.MaxFilesBytes/2 + 1)
	msg := bot.Message{Text: "Figures", Files: []bot.File{big, big}}
	err := h.Engine.Post(context.Background(), "stats-big", roomDest, msg)
	if !errors.Is(err, bot.ErrFilesTooLarge) {
		t.Fatalf("Post of %d bytes of files: err = %v, want ErrFilesTooLarge", 2*len(big.Data), err)
	}
	if !strings.Contains(err.Error(), "at most 1048576") {
		t.Errorf("the error does not say the limit: %v", err)
	}
	if sent := h.Advance(0); len(sent) != 0 {
		t.Errorf("a refused message went out: %q", bottest.Texts(sent))
	}
	// Just under the limit goes.
	ok := chart(bot.MaxFilesBytes / 2)
	if err := h.Engine.Post(context.Background(), "stats-ok", roomDest, bot.Message{Text: "Figures", Files: []bot.File{ok, ok}}); err != nil {
		t.Fatalf("1 MiB of files refused: %v", err)
	}
	if err := h.Engine.Post(context.Background(), "stats-empty", roomDest, bot.Message{Files: []bot.File{{Name: "x.png"}}}); !errors.Is(err, bot.ErrFilesTooLarge) {
		t.Errorf("an empty file: err = %v, want refused", err)
	}
}

func TestSensitiveFilesFollowThePrivacyRule(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	h.Engine.MustRegister(&bot.Command{Name: "chart", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Announce(ctx, bot.Message{Text: "figures", Sensitive: true, Files: []bot.File{chart(100)}})
		return err
	}})
	// In a public room the answer is replaced by a pointer, without files.
	sent := h.CommandIn(bottest.PublicRoom, "alice", "chart")
	for _, s := range sent {
		if len(s.Msg.Files) > 0 {
			t.Fatalf("a sensitive file went to %s", s.To)
		}
	}
	if !strings.Contains(bottest.Joined(sent), "only shown in the private security room") {
		t.Errorf("no pointer to the private room: %q", bottest.Texts(sent))
	}
	// In the private room it goes with its file.
	sent = h.Command("alice", "chart")
	if len(sent) != 1 || len(sent[0].Msg.Files) != 1 {
		t.Fatalf("private room: want the message with its file, got %+v", bottest.Texts(sent))
	}
	// Through the outbox, to a DM of someone off the team: set aside.
	mallory := bot.ToUser(bot.UserRef{Adapter: "test", ID: "mallory"})
	if err := h.Engine.Post(context.Background(), "to-mallory", mallory, bot.Message{Text: "figures", Sensitive: true, Files: []bot.File{chart(100)}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range h.Advance(0) {
		if s.To.IsDM() && s.To.DM.ID == "mallory" {
			t.Fatalf("a sensitive message with files reached mallory: %+v", s.Msg.Text)
		}
	}
}

func TestDirectReplyWithFilesOverTheLimitIsRefused(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	var replyErr error
	h.Engine.MustRegister(&bot.Command{Name: "huge", Run: func(ctx context.Context, req *bot.Request) error {
		_, replyErr = req.Reply(ctx, bot.Message{Text: "figures", Files: []bot.File{chart(bot.MaxFilesBytes + 1)}})
		return replyErr
	}})
	for _, s := range h.Command("alice", "huge") {
		if len(s.Msg.Files) > 0 {
			t.Fatal("a reply over the limit went out with its file")
		}
	}
	if !errors.Is(replyErr, bot.ErrFilesTooLarge) || !errors.Is(replyErr, bot.ErrRejected) {
		t.Errorf("reply err = %v, want ErrFilesTooLarge and ErrRejected", replyErr)
	}
}

func TestFileSafeName(t *testing.T) {
	long := strings.Repeat("é", 300) + ".png"
	for _, c := range []struct{ name, mime, want string }{
		{"stats-2026-11.png", "image/png", "stats-2026-11.png"},
		{"../../etc/passwd", "text/plain", "passwd"},
		{`..\..\windows\system.ini`, "", "system.ini"},
		{"/abs/path/chart.png", "image/png", "chart.png"},
		{"..", "image/png", "attachment.png"},
		{".bashrc", "", "bashrc"},
		{"", "image/png; charset=x", "attachment.png"},
		{"", "not a type", "attachment"},
		{"a\x1b[31mred\x00.png", "image/png", "a[31mred.png"},
		{"invoice\u202egnp.exe", "", "invoicegnp.exe"},
		{"zero\u200bwidth\ufeff.png", "", "zerowidth.png"},
		{"line\nbreak\t.png", "", "line break .png"},
		{`what?<x>|"y":*.png`, "", "what__x___y___.png"},
		{"bad\xffutf8.png", "", "bad_utf8.png"},
		{"\ue000marked\ue001.png", "", "marked.png"},
		{"chart.png. . ", "", "chart.png"},
	} {
		got := bot.File{Name: c.name, MIME: c.mime}.SafeName()
		if got != c.want {
			t.Errorf("SafeName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	got := bot.File{Name: long}.SafeName()
	if n := utf8.RuneCountInString(got); n != bot.MaxFileNameChars || !strings.HasSuffix(got, ".png") {
		t.Errorf("a long name: %d runes, %q...; want %d with .png kept", n, got[:10], bot.MaxFileNameChars)
	}
}

func TestFileSafeAltAndMIME(t *testing.T) {
	f := bot.File{Name: "c.png", MIME: "IMAGE/PNG", Alt: "line one\nline\x1b two\u202e" + strings.Repeat("x", 2000)}
	alt := f.SafeAlt()
	if strings.ContainsAny(alt, "\n\x1b\u202e") || utf8.RuneCountInString(alt) != bot.MaxFileAltChars {
		t.Errorf("SafeAlt kept control characters or is too long (%d runes): %q", utf8.RuneCountInString(alt), alt[:30])
	}
	if f.SafeMIME() != "image/png" || !f.IsImage() {
		t.Errorf("SafeMIME = %q, IsImage %t", f.SafeMIME(), f.IsImage())
	}
	if (bot.File{Name: "c.png"}).SafeAlt() != "c.png" {
		t.Error("an empty alt text is not the file name")
	}
	if (bot.File{MIME: "text/html\r\nX-Injected: 1"}).SafeMIME() != "application/octet-stream" {
		t.Error("a malformed media type was kept")
	}
}

// ephemeralChat answers the asker alone as Slack does, with messages that
// cannot carry files.
type ephemeralChat struct {
	*bottest.Chat
	private []bot.Message
}

func (c *ephemeralChat) ReplyPrivately(_ context.Context, _ bot.Event, _ bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	c.private = append(c.private, msg)
	return bot.MessageRef{}, nil
}

func TestPrivateAnswerFilesFollowByDM(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	chat := &ephemeralChat{Chat: bottest.NewChat(h.Clock)}
	h.Engine.AddAdapter(chat) // replaces the plain recording adapter "test"
	h.Engine.MustRegister(&bot.Command{Name: "chart", Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Reply(ctx, bot.Message{Text: "figures", Sensitive: true, Files: []bot.File{chart(100)}})
		return err
	}})
	for _, who := range []string{"alice", "mallory"} {
		chat.private = nil
		chat.Take()
		h.Engine.HandleEvent(context.Background(), bot.Event{Kind: bot.EventCommand, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: who}, Text: "chart", Prefix: "/sec"})
		if len(chat.private) != 1 || len(chat.private[0].Files) != 0 {
			t.Fatalf("%s: the private answer: %+v", who, chat.private)
		}
		sent := chat.Take()
		if who == "mallory" {
			// Not on the team: the sensitive files are not sent to her DM.
			if len(sent) != 0 || !strings.Contains(chat.private[0].Context, "shown only to the security team") {
				t.Fatalf("mallory: sent %+v, answer context %q", sent, chat.private[0].Context)
			}
			continue
		}
		if !strings.Contains(chat.private[0].Context, "direct messages") {
			t.Errorf("the answer does not say where its files went: %q", chat.private[0].Context)
		}
		if len(sent) != 1 || !sent[0].To.IsDM() || sent[0].To.DM.ID != who || len(sent[0].Msg.Files) != 1 || !bytes.Equal(sent[0].Msg.Files[0].Data, chart(100).Data) {
			t.Fatalf("%s: want the file by DM, got %+v", who, sent)
		}
	}
}
