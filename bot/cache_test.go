package bot

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

// The cache serves an event the documents as of its stamps; a write from
// elsewhere is seen by the next event, and by this one as soon as its own
// write conflicts, so a compare-and-swap retry reads what is stored.
func TestCacheFollowsStamps(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	c := newCachedStore(st)
	c.cacheDocs("rot", "")
	if _, err := st.Put(ctx, "rot", "triage", []byte("alice"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
	get := func(ctx context.Context) store.Doc {
		t.Helper()
		d, err := c.Get(ctx, "rot", "triage")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ev1, first, err := c.begin(ctx, "event:e1", now)
	if err != nil || !first {
		t.Fatalf("begin = %v, %v", first, err)
	}
	if d := get(ev1); string(d.Data) != "alice" {
		t.Fatalf("got %q", d.Data)
	}
	// Another replica changes the rotation (straight to the store).
	if _, err := st.Put(ctx, "rot", "triage", []byte("bob"), 1); err != nil {
		t.Fatal(err)
	}
	// The event that had begun goes on with what it read...
	d := get(ev1)
	if string(d.Data) != "alice" {
		t.Errorf("mid-event read = %q, want the event's snapshot", d.Data)
	}
	// ...until its write conflicts; then it reads what is stored.
	_, err = c.Put(ev1, "rot", "triage", []byte("carol"), d.Version)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Put on a stale version: %v", err)
	}
	if d := get(ev1); string(d.Data) != "bob" || d.Version != 2 {
		t.Errorf("after the conflict = %q v%d, want bob v2", d.Data, d.Version)
	}
	// The next event sees the change at once.
	if _, err := st.Put(ctx, "rot", "triage", []byte("dave"), 2); err != nil {
		t.Fatal(err)
	}
	ev2, _, err := c.begin(ctx, "event:e2", now)
	if err != nil {
		t.Fatal(err)
	}
	if d := get(ev2); string(d.Data) != "dave" {
		t.Errorf("next event = %q, want dave", d.Data)
	}
	// A repeat is not first; without an event the store is read directly.
	if _, first, _ := c.begin(ctx, "event:e2", now); first {
		t.Error("a repeated event was first")
	}
	if _, err := c.Get(ctx, "rot", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing outside an event: %v", err)
	}
	if _, err := c.Get(ev2, "rot", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing from the cache: %v", err)
	}
	// What a caller does with a document does not change the cache.
	d = get(ev2)
	d.Data[0] = 'X'
	if d := get(ev2); string(d.Data) != "dave" {
		t.Errorf("the cache changed with a caller's copy: %q", d.Data)
	}
}
