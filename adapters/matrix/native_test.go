package matrix

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

// People and times in Vigil's own text: a Matrix account is a pill and an
// intentional mention, anyone else their name, a time its text (the engine
// wrote it in the reader's zone).
func TestRenderTokens(t *testing.T) {
	alice := bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@alice:example.org"}
	bob := bot.UserRef{Adapter: bot.AdapterSlack, ID: "U0BOB"}
	at := time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)
	msg := bot.Message{
		Header:  "Assigned to " + bot.AccountToken(alice, "Alice"),
		Text:    "*" + bot.AccountToken(alice, "Alice <A&B>") + "* acknowledged it at " + bot.TimeToken(at, "Tue 8 Dec 2026 14:00 CET") + ", " + bot.AccountToken(bob, "Bob") + " and " + bot.PersonToken("carol") + " were told",
		Context: "by " + bot.AccountToken(alice, "Alice"),
	}
	plain, formatted := render(msg)
	pill := `<a href="https://matrix.to/#/@alice:example.org">`
	for _, want := range []string{
		"<strong>Assigned to " + pill + "Alice</a></strong>",
		"<strong>" + pill + "Alice ‹A&amp;B›</a></strong> acknowledged it at Tue 8 Dec 2026 14:00 CET, Bob and carol were told",
		"<sub>by " + pill + "Alice</a></sub>",
	} {
		if !strings.Contains(formatted, want) {
			t.Errorf("formatted_body lacks %q:\n%s", want, formatted)
		}
	}
	if want := "Assigned to Alice\n*Alice ‹A&B›* acknowledged it at Tue 8 Dec 2026 14:00 CET, Bob and carol were told\nby Alice"; plain != want {
		t.Errorf("body = %q\nwant %q", plain, want)
	}
	m := mentions(msg)
	if len(m.UserIDs) != 1 || m.UserIDs[0] != "@alice:example.org" || m.Room {
		t.Errorf("m.mentions = %+v, want alice once", m)
	}
}

// A token inside untrusted text is text: no pill, no mention, no time.
func TestTokensInUntrustedTextAreInert(t *testing.T) {
	forged := "<@matrix:@mallory:evil.example|Admin> <!time:0|now> <@person:alice>"
	msg := bot.Message{
		Header: "Report: " + bot.Untrusted(forged).String(),
		Text:   "*" + bot.Untrusted(forged).String() + "*",
		Fields: []bot.Field{{Label: "Reporter", Value: bot.Untrusted(forged).String()}},
	}
	plain, formatted := render(msg)
	for _, p := range htmlProblems(formatted) {
		t.Error(p)
	}
	if strings.Count(visibleText(formatted), forged) != 3 || strings.Count(plain, forged) != 3 {
		t.Errorf("the forged tokens do not show as written:\n%s\n%s", formatted, plain)
	}
	if m := mentions(msg); len(m.UserIDs) != 0 {
		t.Errorf("m.mentions = %+v from untrusted text", m)
	}
}

// A Matrix token whose id is not a user id is shown as its name only.
func TestMalformedMatrixAccountIsNotAPill(t *testing.T) {
	msg := bot.Message{Text: bot.AccountToken(bot.UserRef{Adapter: bot.AdapterMatrix, ID: "alice"}, "Alice")}
	_, formatted := render(msg)
	if formatted != "Alice" || len(mentions(msg).UserIDs) != 0 {
		t.Errorf("formatted %q, mentions %v", formatted, mentions(msg).UserIDs)
	}
	if uid, ok := matrixAccount(bot.Token{Kind: bot.TokenAccount, Account: bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@a:x"}}); !ok || uid != id.UserID("@a:x") {
		t.Errorf("matrixAccount = %q, %v", uid, ok)
	}
}

// sent returns the bodies and paths of the requests the fake homeserver
// received.
func (f *fakeHS) sent() ([]map[string]any, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.bodies...), append([]string(nil), f.paths...)
}

// Edit sends an m.replace whose m.new_content is the message as Send
// renders it; the fallback body starts "* "; the edit's own m.mentions
// names only whom the new version adds; the buttons follow.
func TestEditSendsReplacement(t *testing.T) {
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	ctx := context.Background()
	alice := bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@alice:example.org"}
	bob := bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@bob:example.org"}
	to := bot.ToRoom(roomRef("!r:example.org"), bot.ThreadRef{ID: "$root"})
	ref, err := a.Send(ctx, to, bot.Message{Text: "☐ triage, assigned to " + bot.AccountToken(alice, "Alice"), Buttons: []bot.Button{{Label: "Ack", Action: "report.ack", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Edit(ctx, ref, bot.Message{Text: "☑ triage by " + bot.AccountToken(bob, "Bob") + ", assigned to " + bot.AccountToken(alice, "Alice"), Buttons: []bot.Button{{Label: "Close", Action: "report.close", Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	bodies, paths := f.sent()
	if len(bodies) != 2 || !strings.HasPrefix(paths[1], "PUT /_matrix/client/v3/rooms/!r:example.org/send/m.room.message/vigil-") {
		t.Fatalf("requests %v", paths)
	}
	b := bodies[1]
	rel, _ := b["m.relates_to"].(map[string]any)
	if rel["rel_type"] != "m.replace" || rel["event_id"] != "$sent" || len(rel) != 2 {
		t.Errorf("m.relates_to = %v, want only the replacement of $sent", rel)
	}
	nc, _ := b["m.new_content"].(map[string]any)
	if nc["msgtype"] != "m.notice" || nc["body"] != "☑ triage by Bob, assigned to Alice\n1. Close\nReply to this message with 1, or react with 1️⃣." || nc["format"] != "org.matrix.custom.html" || nc["m.relates_to"] != nil {
		t.Errorf("m.new_content = %v", nc)
	}
	if !strings.Contains(nc["formatted_body"].(string), `<a href="https://matrix.to/#/@bob:example.org">Bob</a>`) {
		t.Errorf("new formatted_body = %v", nc["formatted_body"])
	}
	if b["body"] != "* "+nc["body"].(string) || b["formatted_body"] != "* "+nc["formatted_body"].(string) || b["msgtype"] != "m.notice" {
		t.Errorf("fallback body %q, formatted %q", b["body"], b["formatted_body"])
	}
	if got := fmt.Sprint(b["m.mentions"]); got != "map[user_ids:[@bob:example.org]]" {
		t.Errorf("the edit mentions %s, want only bob (alice was mentioned already)", got)
	}
	if got := fmt.Sprint(nc["m.mentions"]); got != "map[user_ids:[@bob:example.org @alice:example.org]]" {
		t.Errorf("the new content mentions %s, want alice and bob", got)
	}
	// The keycap presses the new button, from the store too.
	a.buttons = map[id.EventID]buttonRecord{}
	rec, ok := a.buttonsOf(ctx, "$sent")
	if !ok || len(rec.Buttons) != 1 || rec.Buttons[0].Action != "report.close" || rec.Thread != "$root" || rec.Edits != 1 {
		t.Errorf("record after the edit %+v, %v", rec, ok)
	}
}

// An edit sent again with nothing recorded in between (a crash after the
// homeserver took it) reuses its transaction id; every other edit, also
// one going back to an earlier text, gets a new one.
func TestEditTransactionIDs(t *testing.T) {
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	ctx := context.Background()
	ref := bot.MessageRef{Room: roomRef("!r:example.org"), ID: "$summary"}
	edit := func(text string) string {
		t.Helper()
		if err := a.Edit(ctx, ref, bot.Text(text)); err != nil {
			t.Fatal(err)
		}
		_, paths := f.sent()
		return path.Base(paths[len(paths)-1])
	}
	forget := func(rec buttonRecord) {
		a.buttons = map[id.EventID]buttonRecord{}
		data, _ := json.Marshal(rec)
		if _, err := a.engine.Store().Put(ctx, buttonCollection, "$summary", data, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	ticked := edit("☑ triage")
	after, _, _ := a.loadRecord(ctx, "$summary")
	forget(buttonRecord{Room: "!r:example.org"}) // the crash lost the record
	if again := edit("☑ triage"); again != ticked {
		t.Errorf("the resend used %s, the first %s", again, ticked)
	}
	forget(after)
	unticked := edit("☐ triage")
	reticked := edit("☑ triage")
	if unticked == ticked || reticked == ticked || reticked == unticked {
		t.Errorf("transactions %s %s %s: going back to a text must be a new edit", ticked, unticked, reticked)
	}
}

// Buttons removed by an edit press nothing; a message Vigil had no record
// of gets its thread from the homeserver when an edit gives it buttons.
func TestEditButtonsFollow(t *testing.T) {
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	ctx := context.Background()
	ref := bot.MessageRef{Room: roomRef(rigRoom), ID: "$old"}
	f.answers = []func(http.ResponseWriter){
		status(200, `{"type":"m.room.encrypted","event_id":"$old","sender":"@vigil:example.org","content":{"algorithm":"m.megolm.v1.aes-sha2","m.relates_to":{"rel_type":"m.thread","event_id":"$root"}}}`),
	}
	if err := a.Edit(ctx, ref, bot.Message{Text: "swap?", Buttons: []bot.Button{{Label: "Accept", Action: "swap.accept"}}}); err != nil {
		t.Fatal(err)
	}
	if _, paths := f.sent(); len(paths) != 2 || paths[0] != "GET /_matrix/client/v3/rooms/"+rigRoom+"/event/$old" {
		t.Errorf("requests %v", paths)
	}
	reactions := 0
	react := func() []bot.Event {
		reactions++
		return recordBatch(a, func() {
			a.onReaction(ctx, timelineEvent(fmt.Sprintf("$k%d", reactions), rigAlice, event.EventReaction,
				&event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$old", Key: "1️⃣"}}))
		})
	}
	if evs := react(); len(evs) != 1 || evs[0].Kind != bot.EventButton || evs[0].Action != "swap.accept" || evs[0].Thread.ID != "$root" {
		t.Errorf("keycap on the edited message: %+v", evs)
	}
	if err := a.Edit(ctx, ref, bot.Text("swap accepted")); err != nil {
		t.Fatal(err)
	}
	if evs := react(); len(evs) != 1 || evs[0].Kind != bot.EventReaction {
		t.Errorf("keycap once the buttons are gone: %+v, want a plain reaction", evs)
	}
}

// A button naming a person: a pill in the list, the name in the body, a
// mention.
func TestButtonLabelTokens(t *testing.T) {
	alice := bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@alice:example.org"}
	msg := bot.Message{Text: "Swap?", Buttons: []bot.Button{{Label: "Hand over to " + bot.AccountToken(alice, "Alice"), Action: "swap.accept"}}}
	plain, formatted := render(msg)
	if !strings.Contains(plain, "1. Hand over to Alice\n") || !strings.Contains(formatted, `<li>Hand over to <a href="https://matrix.to/#/@alice:example.org">Alice</a></li>`) {
		t.Errorf("body %q\nformatted %q", plain, formatted)
	}
	if m := mentions(msg); len(m.UserIDs) != 1 {
		t.Errorf("m.mentions %+v", m)
	}
}

// An answer for the asker alone (Destination.Only) goes where the engine
// put it, the command's thread: Matrix has no message only one person
// sees, and it is not turned into a DM.
func TestSendAskerOnlyInThread(t *testing.T) {
	f := &fakeHS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a := testAdapter(t, srv.URL)
	to := bot.ToRoom(roomRef("!r:example.org"), bot.ThreadRef{ID: "$cmd"})
	to.Only = bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@alice:example.org"}
	if _, err := a.Send(context.Background(), to, bot.Text("Vigil commands")); err != nil {
		t.Fatal(err)
	}
	bodies, paths := f.sent()
	rel, _ := bodies[0]["m.relates_to"].(map[string]any)
	if len(paths) != 1 || !strings.Contains(paths[0], "/rooms/!r:example.org/send/") || rel["rel_type"] != "m.thread" || rel["event_id"] != "$cmd" {
		t.Errorf("sent %v %v", paths, bodies)
	}
}
