package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/store"
)

func testDocuments(t *testing.T, fresh opener) {
	ctx := context.Background()
	t.Run("CreateGet", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Get(ctx, "reports", "r1")
		wantIs(t, "Get missing", err, store.ErrNotFound)
		v, err := s.Put(ctx, "reports", "r1", []byte(`{"a":1}`), store.NewDoc)
		must(t, "Put new", err)
		if v != 1 {
			t.Fatalf("first version = %d, want 1", v)
		}
		d, err := s.Get(ctx, "reports", "r1")
		must(t, "Get", err)
		if d.ID != "r1" || d.Version != 1 || string(d.Data) != `{"a":1}` {
			t.Fatalf("Get = %+v", d)
		}
		// Collections are separate namespaces.
		_, err = s.Get(ctx, "other", "r1")
		wantIs(t, "Get in other collection", err, store.ErrNotFound)
	})
	t.Run("BinaryAndEmptyData", func(t *testing.T) {
		s := fresh(t)
		bin := []byte{0, 1, 2, 0xff, 0, '\n'}
		_, err := s.Put(ctx, "c", "bin", bin, store.NewDoc)
		must(t, "Put binary", err)
		_, err = s.Put(ctx, "c", "empty", nil, store.NewDoc)
		must(t, "Put empty", err)
		d, err := s.Get(ctx, "c", "bin")
		must(t, "Get binary", err)
		if !bytes.Equal(d.Data, bin) {
			t.Fatalf("binary data = %v, want %v", d.Data, bin)
		}
		d, err = s.Get(ctx, "c", "empty")
		must(t, "Get empty", err)
		if len(d.Data) != 0 || d.Version != 1 {
			t.Fatalf("empty doc = %+v", d)
		}
	})
	t.Run("DataIsCopied", func(t *testing.T) {
		s := fresh(t)
		in := []byte("hello")
		_, err := s.Put(ctx, "c", "x", in, store.NewDoc)
		must(t, "Put", err)
		in[0] = 'J'
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		if string(d.Data) != "hello" {
			t.Fatalf("stored data changed with the caller's slice: %q", d.Data)
		}
		d.Data[0] = 'Y'
		d2, err := s.Get(ctx, "c", "x")
		must(t, "Get again", err)
		if string(d2.Data) != "hello" {
			t.Fatalf("stored data changed with a returned slice: %q", d2.Data)
		}
	})
	t.Run("CompareAndSwap", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Put(ctx, "c", "x", []byte("v1"), store.NewDoc)
		must(t, "Put new", err)
		_, err = s.Put(ctx, "c", "x", []byte("again"), store.NewDoc)
		wantIs(t, "Put NewDoc on existing", err, store.ErrConflict)
		v, err := s.Put(ctx, "c", "x", []byte("v2"), 1)
		must(t, "Put v1->v2", err)
		if v != 2 {
			t.Fatalf("version = %d, want 2", v)
		}
		_, err = s.Put(ctx, "c", "x", []byte("stale"), 1)
		wantIs(t, "Put stale", err, store.ErrConflict)
		_, err = s.Put(ctx, "c", "x", []byte("future"), 7)
		wantIs(t, "Put future version", err, store.ErrConflict)
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		if d.Version != 2 || string(d.Data) != "v2" {
			t.Fatalf("after failed CAS: %+v", d)
		}
		v, err = s.Put(ctx, "c", "x", []byte("any"), store.AnyVersion)
		must(t, "Put AnyVersion", err)
		if v != 3 {
			t.Fatalf("AnyVersion put version = %d, want 3", v)
		}
		v, err = s.Put(ctx, "c", "fresh", []byte("any"), store.AnyVersion)
		must(t, "Put AnyVersion new", err)
		if v != 1 {
			t.Fatalf("AnyVersion create version = %d, want 1", v)
		}
		_, err = s.Put(ctx, "c", "missing", []byte("x"), 4)
		wantIs(t, "Put expected version on missing", err, store.ErrConflict)
		wantIs(t, "Put expected version on missing", err, store.ErrNotFound)
		_, err = s.Put(ctx, "c", "x", []byte("x"), -2)
		wantIs(t, "Put version -2", err, store.ErrInvalid)
	})
	t.Run("Delete", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Put(ctx, "c", "x", []byte("v1"), store.NewDoc)
		must(t, "Put", err)
		_, err = s.Put(ctx, "c", "x", []byte("v2"), 1)
		must(t, "Put", err)
		err = s.Delete(ctx, "c", "x", 1)
		wantIs(t, "Delete stale", err, store.ErrConflict)
		err = s.Delete(ctx, "c", "x", store.NewDoc)
		wantIs(t, "Delete NewDoc", err, store.ErrInvalid)
		must(t, "Delete current", s.Delete(ctx, "c", "x", 2))
		_, err = s.Get(ctx, "c", "x")
		wantIs(t, "Get deleted", err, store.ErrNotFound)
		must(t, "Delete missing AnyVersion", s.Delete(ctx, "c", "x", store.AnyVersion))
		err = s.Delete(ctx, "c", "x", 2)
		wantIs(t, "Delete missing with version", err, store.ErrNotFound)
		wantIs(t, "Delete missing with version", err, store.ErrConflict)
		// Re-creating after delete starts over at version 1.
		v, err := s.Put(ctx, "c", "x", []byte("again"), store.NewDoc)
		must(t, "re-create", err)
		if v != 1 {
			t.Fatalf("re-created version = %d, want 1", v)
		}
		_, err = s.Put(ctx, "c", "y", nil, store.NewDoc)
		must(t, "Put y", err)
		must(t, "Delete AnyVersion", s.Delete(ctx, "c", "y", store.AnyVersion))
		ids, err := s.List(ctx, "c")
		must(t, "List", err)
		if !slices.Equal(ids, []string{"x"}) {
			t.Fatalf("List after deletes = %q", ids)
		}
	})
	t.Run("List", func(t *testing.T) {
		s := fresh(t)
		ids, err := s.List(ctx, "empty")
		must(t, "List empty", err)
		if len(ids) != 0 {
			t.Fatalf("List of empty collection = %q", ids)
		}
		for _, id := range []string{"m", "a", "z", "b:1", "B", "a/b"} {
			_, err := s.Put(ctx, "c", id, []byte(id), store.NewDoc)
			must(t, "Put "+id, err)
		}
		_, err = s.Put(ctx, "c2", "other", nil, store.NewDoc)
		must(t, "Put other", err)
		ids, err = s.List(ctx, "c")
		must(t, "List", err)
		want := []string{"B", "a", "a/b", "b:1", "m", "z"}
		if !slices.Equal(ids, want) {
			t.Fatalf("List = %q, want %q", ids, want)
		}
	})
	t.Run("NamesWithSeparators", func(t *testing.T) {
		// Backends build keys from names; names containing the
		// backends' separators must not collide.
		s := fresh(t)
		pairs := [][2]string{{"a", "b:c"}, {"a:b", "c"}, {"a}", "b"}, {"a", "}b"}, {"{a}", "b"}, {"a", "ids"},
			{"a:d:b", "c"}, {"a", "b:d:c"}, {"a%3Ad%3Ab", "c"}}
		for i, p := range pairs {
			_, err := s.Put(ctx, p[0], p[1], []byte{byte(i)}, store.NewDoc)
			must(t, fmt.Sprintf("Put %q/%q", p[0], p[1]), err)
		}
		for i, p := range pairs {
			d, err := s.Get(ctx, p[0], p[1])
			must(t, "Get", err)
			if !bytes.Equal(d.Data, []byte{byte(i)}) {
				t.Errorf("%q/%q holds %v, want %v", p[0], p[1], d.Data, []byte{byte(i)})
			}
		}
		ids, err := s.List(ctx, "a")
		must(t, "List", err)
		if want := []string{"b:c", "b:d:c", "ids", "}b"}; !slices.Equal(ids, want) {
			t.Errorf("List a = %q, want %q", ids, want)
		}
	})
	t.Run("ConcurrentCAS", func(t *testing.T) {
		// Many writers incrementing one counter by CAS must lose no update.
		s := fresh(t)
		_, err := s.Put(ctx, "c", "n", []byte("0"), store.NewDoc)
		must(t, "Put", err)
		const workers, each = 4, 25
		untilDone(t, workers, each, func() error {
			d, err := s.Get(ctx, "c", "n")
			if err != nil {
				return err
			}
			var n int
			fmt.Sscan(string(d.Data), &n)
			_, err = s.Put(ctx, "c", "n", fmt.Appendf(nil, "%d", n+1), d.Version)
			return err
		})
		d, err := s.Get(ctx, "c", "n")
		must(t, "Get", err)
		if string(d.Data) != fmt.Sprint(workers*each) || d.Version != workers*each+1 {
			t.Fatalf("counter = %s version %d, want %d version %d", d.Data, d.Version, workers*each, workers*each+1)
		}
	})
}
