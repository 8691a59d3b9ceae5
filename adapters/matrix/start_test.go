//go:build goolm

package matrix

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
)

// loginHS answers /login with the status the test picks per call.
type loginHS struct {
	mu     sync.Mutex
	logins int
	answer func(n int) (int, string)
}

func (h *loginHS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasSuffix(r.URL.Path, "/login") {
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"errcode":"M_UNRECOGNIZED"}`))
		return
	}
	h.mu.Lock()
	h.logins++
	code, body := h.answer(h.logins)
	h.mu.Unlock()
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func (h *loginHS) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logins
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A homeserver that answers 502 at start does not stop the adapter: it
// says why it is not ready, with the next try, and tries again at 1s, 2s
// on the engine's clock. A login the homeserver then refuses (M_FORBIDDEN)
// ends Run with an error that names it and not the password.
func TestHomeserverDownAtStartThenLoginRefused(t *testing.T) {
	hs := &loginHS{answer: func(n int) (int, string) {
		if n <= 2 {
			return 502, `{"errcode":"M_UNKNOWN","error":"bad gateway"}`
		}
		return 403, `{"errcode":"M_FORBIDDEN","error":"Invalid password"}`
	}}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	fake := clock.NewFake(bottest.Start)
	room := roomRef("!sec:example.org")
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: fake, PrivateRooms: []bot.RoomRef{room}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Engine: e, Homeserver: srv.URL, UserID: "@vigil:example.org", Password: "hunter2-secret",
		Rooms: []string{room.ID}, DataDir: t.TempDir(), Logger: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(a)
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		reason := "connecting (login: HTTP 502 M_UNKNOWN), next try in " + wait.String()
		waitUntil(t, reason, func() bool { return a.NotConnectedReason() == reason })
		if err := e.Ready(context.Background()); err == nil || err.Error() != "matrix: "+reason {
			t.Errorf("Ready = %v", err)
		}
		if e.IsPrivate(room) {
			t.Error("the unchecked room counts as private")
		}
		if hs.count() != i+1 {
			t.Fatalf("%d logins, want %d", hs.count(), i+1)
		}
		fake.Advance(wait)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "M_FORBIDDEN") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Run = %v, want M_FORBIDDEN without the password", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept retrying a refused login")
	}
	if hs.count() != 3 {
		t.Errorf("%d logins, want 3", hs.count())
	}
}
