package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

// countingGets counts the GetMany calls (round trips on Redis) reaching
// the store.
type countingGets struct {
	store.Store
	calls, most int
}

func (c *countingGets) GetMany(ctx context.Context, collection string, ids []string) ([]store.Doc, error) {
	c.calls++
	c.most = max(c.most, len(ids))
	return c.Store.GetMany(ctx, collection, ids)
}

// GetManyJSON reads ManyChunk ids per GetMany, keeps the order of ids
// across chunks, skips ids without a document and names a corrupt one.
func TestGetManyJSONReadsInChunks(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	type doc struct{ N int }
	const n = 2*store.ManyChunk + 7
	var ops []store.Op
	var ids []string
	for i := range n {
		id := fmt.Sprintf("d%05d", i)
		ids = append(ids, id)
		ops = append(ops, store.PutOp("c", id, fmt.Appendf(nil, `{"N":%d}`, i), store.AnyVersion))
	}
	if _, err := st.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	// Newest first, with ids that have no document among them.
	var ask []string
	for i := n - 1; i >= 0; i-- {
		ask = append(ask, ids[i])
		if i%100 == 0 {
			ask = append(ask, fmt.Sprintf("gone%d", i))
		}
	}
	c := &countingGets{Store: st}
	got, err := store.GetManyJSON[doc](ctx, c, "c", ask)
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(ask) + store.ManyChunk - 1) / store.ManyChunk; c.calls != want || c.most > store.ManyChunk {
		t.Errorf("%d ids read in %d GetMany calls of at most %d, want %d of at most %d", len(ask), c.calls, c.most, want, store.ManyChunk)
	}
	if len(got) != n {
		t.Fatalf("got %d documents, want %d", len(got), n)
	}
	for i, d := range got {
		if d.N != n-1-i {
			t.Fatalf("document %d is N=%d, want %d: the order of ids is lost", i, d.N, n-1-i)
		}
	}

	all, err := store.ListJSON[doc](ctx, c, "c")
	if err != nil || len(all) != n || all[0].N != 0 || all[n-1].N != n-1 {
		t.Fatalf("ListJSON: %d documents, %v", len(all), err)
	}

	if _, err := st.Put(ctx, "c", "d00600x", []byte("{not json"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
	_, err = store.ListJSON[doc](ctx, st, "c")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "c/d00600x") {
		t.Errorf("a corrupt document: %v, want ErrCorrupt naming c/d00600x", err)
	}
}
