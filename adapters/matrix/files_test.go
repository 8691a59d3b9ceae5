package matrix

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
)

func ok(body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { _, _ = w.Write([]byte(body)) }
}

// In an unencrypted room the file is uploaded as it is and sent as an
// m.image with its url, in the message's thread, after the text; each
// file's transaction id is derived from the delivery id, so a resend
// repeats the same ids.
func TestSendPlainImageAfterTheText(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 30, 12))); err != nil {
		t.Fatal(err)
	}
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	to := bot.ToRoom(roomRef("!r:example.org"), bot.ThreadRef{ID: "$root"})
	msg := bot.Message{Text: "chart", DeliveryID: "stats:1", Files: []bot.File{{Name: "a/../c\x00hart.png", MIME: "image/png", Data: b.Bytes()}}}
	var txns [][]string
	for range 2 {
		f.mu.Lock()
		f.answers = []func(http.ResponseWriter){nil, ok(`{"content_uri":"mxc://example.org/abc"}`), nil}
		f.paths, f.bodies = nil, nil
		f.mu.Unlock()
		if _, err := a.Send(context.Background(), to, msg); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		paths, bodies := f.paths, f.bodies
		f.mu.Unlock()
		if len(paths) != 3 || !strings.HasPrefix(paths[1], "POST /_matrix/media/v3/upload") {
			t.Fatalf("requests = %q, want the text, the upload, the image", paths)
		}
		img := bodies[2]
		info, _ := img["info"].(map[string]any)
		rel, _ := img["m.relates_to"].(map[string]any)
		if img["msgtype"] != "m.image" || img["url"] != "mxc://example.org/abc" || img["filename"] != "chart.png" ||
			info["mimetype"] != "image/png" || info["w"] != float64(30) || info["h"] != float64(12) || rel["event_id"] != "$root" {
			t.Errorf("image event = %v", img)
		}
		if _, enc := img["file"]; enc {
			t.Error("an unencrypted room got an encrypted attachment")
		}
		txns = append(txns, []string{path.Base(paths[0]), path.Base(paths[2])})
	}
	if txns[0][0] == txns[0][1] || txns[0][0] != txns[1][0] || txns[0][1] != txns[1][1] {
		t.Errorf("transaction ids (text, image) first %q, resend %q: want distinct per event and the same on resend", txns[0], txns[1])
	}
}
