package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/store"
)

// snapshot is what a batch test checks before and after a failed batch:
// every document, set and queue the batch could have touched.
type snapshot struct {
	docs    map[string]string // "coll/id" -> "vN:data"
	ids     map[string][]string
	sets    map[string][]string
	pending map[string][]store.DueItem
}

func takeSnapshot(t *testing.T, s store.Store, colls, sets, queues []string) snapshot {
	t.Helper()
	ctx := context.Background()
	sn := snapshot{docs: map[string]string{}, ids: map[string][]string{}, sets: map[string][]string{}, pending: map[string][]store.DueItem{}}
	for _, c := range colls {
		ids, err := s.List(ctx, c)
		must(t, "List "+c, err)
		sn.ids[c] = ids
		for _, id := range ids {
			d, err := s.Get(ctx, c, id)
			must(t, "Get "+c+"/"+id, err)
			sn.docs[c+"/"+id] = fmt.Sprintf("v%d:%s", d.Version, d.Data)
		}
	}
	for _, set := range sets {
		m, err := s.SetMembers(ctx, set)
		must(t, "SetMembers "+set, err)
		sn.sets[set] = m
	}
	for _, q := range queues {
		p, err := s.Pending(ctx, q, 100)
		must(t, "Pending "+q, err)
		sn.pending[q] = p
	}
	return sn
}

func (a snapshot) diff(b snapshot) string {
	var out []string
	for k, v := range a.docs {
		if b.docs[k] != v {
			out = append(out, fmt.Sprintf("doc %s: %q -> %q", k, v, b.docs[k]))
		}
	}
	for k, v := range b.docs {
		if _, ok := a.docs[k]; !ok {
			out = append(out, fmt.Sprintf("doc %s appeared: %q", k, v))
		}
	}
	for k, v := range a.ids {
		if !slices.Equal(v, b.ids[k]) {
			out = append(out, fmt.Sprintf("ids of %s: %q -> %q", k, v, b.ids[k]))
		}
	}
	for k, v := range a.sets {
		if !slices.Equal(v, b.sets[k]) {
			out = append(out, fmt.Sprintf("set %s: %q -> %q", k, v, b.sets[k]))
		}
	}
	for k, v := range a.pending {
		if !equalItems(v, b.pending[k]) {
			out = append(out, fmt.Sprintf("queue %s: %v -> %v", k, v, b.pending[k]))
		}
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

func wantConflict(t *testing.T, err error, want store.ConflictError) {
	t.Helper()
	wantIs(t, "Apply", err, store.ErrConflict)
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Apply: error %v is not a *store.ConflictError", err)
	}
	if *ce != want {
		t.Fatalf("ConflictError = %+v, want %+v", *ce, want)
	}
	if got := errors.Is(err, store.ErrNotFound); got != (want.Have == 0) {
		t.Fatalf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, want.Have == 0)
	}
}
