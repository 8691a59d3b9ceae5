//go:build goolm

package matrix

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

// statsPNG is a chart-sized PNG with some content.
func statsPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 180))
	for x := range 320 {
		img.Set(x, 90+x%40, color.RGBA{B: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The acceptance test of issue 20 on Matrix: the chart reaches alice in
// the encrypted room as an encrypted m.image in the message's thread; her
// client downloads the ciphertext from the media repository and decrypts
// it to the PNG the bot sent. A resend of the same outbox message does not
// show the image twice.
func TestEncryptedImageReachesAliceAndDecrypts(t *testing.T) {
	w, alice, room := setup(t)
	r := w.start()
	botID := id.UserID(w.botAcct.UserID)
	warmUp(t, r, alice, room, botID)
	thread := alice.send(room, "!sec stats", "")
	data := statsPNG(t)
	msg := bot.Message{Text: "Figures for November", Sensitive: true, DeliveryID: "stats:2026-11", Files: []bot.File{
		{Name: "../stats\u202e-2026-11.png", MIME: "image/png", Alt: "Time to acknowledge by month", Data: data},
	}}
	to := bot.ToRoom(roomRef(string(room)), bot.ThreadRef{ID: string(thread)})
	ctx := context.Background()
	for range 2 { // the second: an outbox resend of the same message
		if _, err := r.adapter.Send(ctx, to, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	alice.waitBot(botID, "Figures for November")
	img := alice.waitBot(botID, "Time to acknowledge by month")
	if !img.Mautrix.WasEncrypted {
		t.Error("the image event was not end-to-end encrypted")
	}
	c := img.Content.AsMessage()
	if c.MsgType != event.MsgImage {
		t.Errorf("msgtype = %s, want m.image", c.MsgType)
	}
	if c.RelatesTo.GetThreadParent() != thread {
		t.Errorf("the image is in thread %q, want the message's %q", c.RelatesTo.GetThreadParent(), thread)
	}
	if c.FileName != "stats-2026-11.png" {
		t.Errorf("filename = %q, want the sanitized name", c.FileName)
	}
	if c.Info == nil || c.Info.MimeType != "image/png" || c.Info.Size != len(data) || c.Info.Width != 320 || c.Info.Height != 180 {
		t.Errorf("info = %+v, want image/png, %d bytes, 320x180", c.Info, len(data))
	}
	if c.File == nil || c.URL != "" {
		t.Fatalf("want an encrypted attachment (file) and no plain url; file %v url %q", c.File, c.URL)
	}
	mxc, err := c.File.URL.Parse()
	if err != nil {
		t.Fatalf("file url %q: %v", c.File.URL, err)
	}
	dctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	cipher, err := alice.cli.DownloadBytes(dctx, mxc)
	if err != nil {
		t.Fatalf("alice downloads %s: %v", mxc, err)
	}
	if bytes.Equal(cipher, data) || bytes.Contains(cipher, []byte("PNG")) {
		t.Error("the media repository holds the plain PNG")
	}
	plain := cipher
	if err := c.File.DecryptInPlace(plain); err != nil {
		t.Fatalf("alice decrypts the image: %v", err)
	}
	if !bytes.Equal(plain, data) {
		t.Fatalf("decrypted %d bytes differ from the %d sent", len(plain), len(data))
	}
	if _, err := png.Decode(bytes.NewReader(plain)); err != nil {
		t.Errorf("the decrypted image is not a PNG: %v", err)
	}
	// The resend: still one text and one image.
	// Alice's own later message coming back through her sync means every
	// event before it in the room (a duplicate, were there one) has too.
	after := alice.send(room, "after the resend", "")
	waitFor(t, "alice to read her own message back", func() bool {
		alice.mu.Lock()
		defer alice.mu.Unlock()
		for _, e := range alice.events {
			if e.ID == after {
				return true
			}
		}
		return false
	})
	if n := alice.countBot(botID, "Figures for November"); n != 1 {
		t.Errorf("the text shows %d times after a resend, want once", n)
	}
	if n := alice.countBot(botID, "Time to acknowledge by month"); n != 1 {
		t.Errorf("the image shows %d times after a resend, want once", n)
	}
}
