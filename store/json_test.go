package store_test

import (
	"context"
	"errors"
	"path/filepath"
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
