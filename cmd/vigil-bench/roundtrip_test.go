package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/testredis"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// openCounted opens a store on prefix with a round-trip counter.
func openCounted(t *testing.T, srv *testredis.Server, prefix string) (*redisstore.Store, *counter) {
	t.Helper()
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	trips := &counter{}
	st.AddHook(trips)
	return st, trips
}

// The read commands cost one Redis round trip each, the event's seen-once
// mark and the stamps of the cached documents in one pipeline, counted by
// the client hook; a repeat of an event is not answered twice.
func TestReadCommandsCostOneRoundTrip(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	st, trips := openCounted(t, srv, srv.Prefix(t))
	e, out, err := newEngine(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	// The first event loads the caches (directory, rotations, reports).
	for i, kind := range []string{"whoami", "duty", "report list"} {
		e.HandleEvent(ctx, event(-1-i, kind))
	}
	for i, c := range []struct{ text, want string }{
		{"whoami", "responder"},
		{"duty", "*triage*"},
		{"help", "duty"},
		{"report list", "Heap overflow in the parser"},
	} {
		before := trips.n.Load()
		sent := out.n.Load()
		e.HandleEvent(ctx, event(i, c.text))
		if got := trips.n.Load() - before; got != 1 {
			t.Errorf("/sec %s: %d Redis round trips, want 1", c.text, got)
		}
		if out.n.Load() != sent+1 {
			t.Fatalf("/sec %s: %d answers, want 1", c.text, out.n.Load()-sent)
		}
		if got := shown(out.last.Load()); !strings.Contains(got, c.want) {
			t.Errorf("/sec %s answered %q, want it to contain %q", c.text, got, c.want)
		}
		// Slack retries an event it thinks was lost: not answered again.
		e.HandleEvent(ctx, event(i, c.text))
		if out.n.Load() != sent+1 {
			t.Errorf("/sec %s: a repeated event was answered again", c.text)
		}
	}
}

// Two replicas on one Redis: a rotation changed through one is what the
// other answers with at once, although it had the rotation in its cache.
func TestReplicaSeesRotationChangeAtOnce(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	prefix := srv.Prefix(t)
	stA, tripsA := openCounted(t, srv, prefix)
	stB, _ := openCounted(t, srv, prefix)
	a, outA, err := newEngine(ctx, stA)
	if err != nil {
		t.Fatal(err)
	}
	b, outB, err := newEngine(ctx, stB)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(i int, e interface {
		HandleEvent(context.Context, bot.Event)
	}, out *sink, text string) string {
		t.Helper()
		e.HandleEvent(ctx, event(i, text))
		return shown(out.last.Load())
	}
	before := ask(1, a, outA, "duty")
	if cached := ask(2, a, outA, "duty"); cached != before {
		t.Fatalf("the same question answered differently: %q, then %q", before, cached)
	}
	// alice (an admin) hands over on replica B.
	b.HandleEvent(ctx, eventAs("alice", 3, "duty handoff"))
	fromB := ask(4, b, outB, "duty")
	if fromB == before {
		t.Fatalf("the hand-off changed nothing: %q", fromB)
	}
	trips := tripsA.n.Load()
	if got := ask(5, a, outA, "duty"); got != fromB {
		t.Errorf("replica A answered %q after the hand-off on B, want %q", got, fromB)
	}
	// The change costs A one more round trip (the rotations read anew),
	// once; then it is one again.
	if got := tripsA.n.Load() - trips; got != 2 {
		t.Errorf("the first /sec duty after a change: %d round trips, want 2", got)
	}
	trips = tripsA.n.Load()
	ask(6, a, outA, "duty")
	if got := tripsA.n.Load() - trips; got != 1 {
		t.Errorf("the next /sec duty: %d round trips, want 1", got)
	}

	// The directory too: a person an admin adds on B is known to A at its
	// next event, not at its next 30-second refresh.
	b.HandleEvent(ctx, eventAs("alice", 7, "people add carol --roles responder --chat bench:carol"))
	a.HandleEvent(ctx, eventAs("carol", 8, "whoami"))
	if got := shown(outA.last.Load()); !strings.Contains(got, "responder") {
		t.Errorf("replica A answered carol's whoami with %q, want her roles", got)
	}
}

// shown is a message's text as a reader sees it: header, text, fields.
func shown(m *bot.Message) string {
	var b strings.Builder
	b.WriteString(m.Header + "\n" + m.Text)
	for _, f := range m.Fields {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	return b.String()
}
