package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/reconnect"
	"github.com/vigil-sec/vigil/internal/serial"
)

// fakeHS answers PUT /rooms/{room}/send/... with the next queued answer
// and records the bodies.
type fakeHS struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	bodies  []map[string]any
	paths   []string
}

func (f *fakeHS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(data, &body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	var answer func(http.ResponseWriter)
	if len(f.answers) > 0 {
		answer, f.answers = f.answers[0], f.answers[1:]
	}
	f.mu.Unlock()
	if answer == nil {
		w.Write([]byte(`{"event_id":"$sent"}`))
		return
	}
	answer(w)
}

func status(code int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

// testAdapter is an adapter that is "running" against a fake homeserver,
// without crypto (the fake has no keys).
func testAdapter(t *testing.T, url string) *Adapter {
	t.Helper()
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := mautrix.NewClient(url, "@vigil:example.org", "tok")
	if err != nil {
		t.Fatal(err)
	}
	a := &Adapter{
		engine: e, client: cli, userID: "@vigil:example.org", prefix: "!sec",
		log: slogDiscard(), serial: serial.New(),
		dms: map[id.UserID]string{}, dmRooms: map[string]id.UserID{}, buttons: map[id.EventID]buttonRecord{},
		conn: reconnect.NewState(e.Clock()), verdicts: map[string]string{}, recheck: map[string]bool{},
		retry: reconnect.DefaultBackoff, recheckEvery: 5 * time.Minute,
	}
	a.gate = reconnect.NewGate(a.conn, a.serial)
	a.gate.Open(context.Background())
	return a
}

func TestSendThreadedNotice(t *testing.T) {
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	to := bot.ToRoom(roomRef("!r:example.org"), bot.ThreadRef{ID: "$root"})
	ref, err := a.Send(context.Background(), to, bot.Message{Header: "Duty", Text: "*bold* <b>", Buttons: []bot.Button{{Label: "Accept", Action: "swap.accept", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID != "$sent" || ref.Room.ID != "!r:example.org" {
		t.Errorf("ref = %+v", ref)
	}
	b := f.bodies[0]
	rel, _ := b["m.relates_to"].(map[string]any)
	if b["msgtype"] != "m.notice" || b["format"] != "org.matrix.custom.html" || rel["rel_type"] != "m.thread" || rel["event_id"] != "$root" {
		t.Errorf("body = %v", b)
	}
	if _, ok := b["m.mentions"]; !ok {
		t.Error("no m.mentions: @room in quoted text would ping everyone")
	}
	html, _ := b["formatted_body"].(string)
	if !strings.Contains(html, "<strong>bold</strong>") || !strings.Contains(html, "&lt;b&gt;") || !strings.Contains(html, "<li>Accept</li>") {
		t.Errorf("formatted_body = %q", html)
	}
	// A reply "1" to that message presses the button, also from the store.
	a.buttons = map[id.EventID]buttonRecord{}
	rec, ok := a.buttonsOf(context.Background(), "$sent")
	if !ok || rec.Thread != "$root" || rec.Buttons[0].Action != "swap.accept" {
		t.Errorf("stored buttons = %+v, %v", rec, ok)
	}
}

func TestSendClassifiesErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer func(http.ResponseWriter)
		want   error
		after  time.Duration
	}{
		{"rate limited", status(429, `{"errcode":"M_LIMIT_EXCEEDED","error":"slow down","retry_after_ms":1500}`), bot.ErrRateLimited, 1500 * time.Millisecond},
		{"rate limited, no wait", status(429, `{"errcode":"M_LIMIT_EXCEEDED"}`), bot.ErrRateLimited, 0},
		{"outage", status(502, `bad gateway`), bot.ErrUnavailable, 0},
		{"token refused", status(401, `{"errcode":"M_UNKNOWN_TOKEN"}`), bot.ErrUnavailable, 0},
		{"forbidden", status(403, `{"errcode":"M_FORBIDDEN","error":"not in room"}`), bot.ErrRejected, 0},
		{"too large", status(413, `{"errcode":"M_TOO_LARGE"}`), bot.ErrRejected, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeHS{answers: []func(http.ResponseWriter){tt.answer}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			a := testAdapter(t, srv.URL)
			_, err := a.Send(context.Background(), bot.ToRoom(roomRef("!r:x"), bot.ThreadRef{}), bot.Text("hi"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ra *bot.RetryAfterError
			if got := errors.As(err, &ra); got != (tt.after > 0) || (got && ra.After != tt.after) {
				t.Errorf("retry after = %v (%v), want %v", ra, got, tt.after)
			}
			if len(f.bodies) != 1 {
				t.Errorf("%d requests, want 1: the outbox retries, not the adapter", len(f.bodies))
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		a := testAdapter(t, srv.URL)
		_, err := a.Send(context.Background(), bot.ToRoom(roomRef("!r:x"), bot.ThreadRef{}), bot.Text("hi"))
		if !errors.Is(err, bot.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("not started", func(t *testing.T) {
		a := testAdapter(t, "http://127.0.0.1:9")
		a.gate.Close()
		_, err := a.Send(context.Background(), bot.ToRoom(roomRef("!r:x"), bot.ThreadRef{}), bot.Text("hi"))
		if !errors.Is(err, bot.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable before Run", err)
		}
	})
}

func TestRender(t *testing.T) {
	plain, html := render(bot.Message{
		Text:    "see <https://example.org/a|the advisory> and `code`",
		Fields:  []bot.Field{{Label: "Severity", Value: "high"}},
		Buttons: []bot.Button{{Label: "Low", Action: bot.ActionFormChoice}, {Label: "High", Action: bot.ActionFormChoice}},
		Context: "R-1",
	})
	if !strings.Contains(plain, "the advisory (https://example.org/a)") || !strings.Contains(plain, "Severity: high") || !strings.Contains(plain, "react with 1️⃣…2️⃣") {
		t.Errorf("plain = %q", plain)
	}
	if strings.Contains(plain, "1. Low") {
		t.Error("form choices are listed twice (the question lists them already)")
	}
	if !strings.Contains(html, `<a href="https://example.org/a">the advisory</a>`) || !strings.Contains(html, "<code>code</code>") {
		t.Errorf("html = %q", html)
	}
}

func TestCommandText(t *testing.T) {
	for in, want := range map[string]string{"!sec help": "help", "  !sec   duty  ": "duty", "!sec": ""} {
		got, ok := commandText(in, "!sec")
		if !ok || got != want {
			t.Errorf("commandText(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"!secret", "hello !sec help", ""} {
		if _, ok := commandText(in, "!sec"); ok {
			t.Errorf("commandText(%q) took it as a command", in)
		}
	}
}

func TestKeycapsAndFallback(t *testing.T) {
	if keycapNumber("2️⃣") != 2 || keycapNumber("2⃣") != 2 || keycapNumber("🔟") != 10 || keycapNumber("👍") != 0 {
		t.Error("keycapNumber")
	}
	if got := stripReplyFallback("> <@a:x> question\n> more\n\n2"); got != "2" {
		t.Errorf("stripReplyFallback = %q", got)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Options{Homeserver: "matrix.example.org", UserID: "vigil", Password: "p", AccessToken: "t"})
	if err == nil {
		t.Fatal("New accepted bad options")
	}
	for _, want := range []string{"engine", "homeserver", "user id", "password or an access token", "data directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `"p"`) || strings.Contains(err.Error(), `"t"`) {
		t.Errorf("error quotes a secret: %v", err)
	}
	if !cryptoBuilt && !errors.Is(err, ErrNoCrypto) {
		t.Errorf("without goolm New must refuse: %v", err)
	}
}
