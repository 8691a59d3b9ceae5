package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

func TestJSONDocuments(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	type doc struct{ Name string }
	v, err := store.PutJSON(ctx, st, "c", "a", doc{Name: "alice"}, store.NewDoc)
	if err != nil || v != 1 {
		t.Fatalf("PutJSON: %d %v", v, err)
	}
	got, version, err := store.GetJSON[doc](ctx, st, "c", "a")
	if err != nil || got.Name != "alice" || version != 1 {
		t.Errorf("GetJSON: %+v %d %v", got, version, err)
	}
	if _, err := store.PutJSON(ctx, st, "c", "a", doc{}, store.NewDoc); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutJSON over an existing doc with NewDoc: %v", err)
	}
	if _, err := st.Put(ctx, "c", "bad", []byte("{not json"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.GetJSON[doc](ctx, st, "c", "bad"); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("a corrupt document: %v, want ErrCorrupt", err)
	}
	if _, _, err := store.GetJSON[doc](ctx, st, "c", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing document: %v, want ErrNotFound", err)
	}
}

// Concurrent read-modify-writes through UpdateJSON never lose an update:
// every one that reports success is in the final value.
func TestUpdateJSONKeepsEveryUpdate(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	type counter struct{ N int }
	if _, err := store.PutJSON(ctx, st, "c", "n", counter{}, store.NewDoc); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if _, err := store.UpdateJSON(ctx, st, "c", "n", func(c *counter) error { c.N++; return nil }); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrConflict) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, _, err := store.GetJSON[counter](ctx, st, "c", "n")
	if err != nil || got.N != ok || ok == 0 {
		t.Errorf("final %d after %d successful updates (%v)", got.N, ok, err)
	}
	if _, err := store.UpdateJSON(ctx, st, "c", "missing", func(c *counter) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing document: %v", err)
	}
	stop := errors.New("stop")
	if _, err := store.UpdateJSON(ctx, st, "c", "n", func(c *counter) error { c.N = -1; return stop }); !errors.Is(err, stop) {
		t.Errorf("a change that fails: %v", err)
	}
	if again, _, _ := store.GetJSON[counter](ctx, st, "c", "n"); again.N != ok {
		t.Errorf("a failed change was written: %d", again.N)
	}
}
