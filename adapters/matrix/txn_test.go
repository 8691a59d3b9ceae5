package matrix

import (
	"context"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
)

// A message sent again after a replica died mid-send (the outbox's
// in-doubt resend) carries the same transaction id, which homeservers
// deduplicate; different messages, and direct replies, get their own.
func TestSendUsesTheDeliveryIDAsTransactionID(t *testing.T) {
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	to := bot.ToRoom(roomRef("!r:example.org"), bot.ThreadRef{})
	ctx := context.Background()
	send := func(id string) string {
		t.Helper()
		if _, err := a.Send(ctx, to, bot.Message{Text: "hi", DeliveryID: id}); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return path.Base(f.paths[len(f.paths)-1])
	}
	first := send("report:VIG-2026-1/../\x00 odd")
	again := send("report:VIG-2026-1/../\x00 odd")
	other := send("report:VIG-2026-2")
	reply1, reply2 := send(""), send("")
	if first != again || !strings.HasPrefix(first, "vigil-") {
		t.Errorf("the resend used transaction %q, the first %q; want the same vigil- id", again, first)
	}
	if other == first || reply1 == reply2 || reply1 == first {
		t.Errorf("transaction ids collide: %q %q %q %q", first, other, reply1, reply2)
	}
}
