package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/store"
)

func testSets(t *testing.T, fresh opener) {
	ctx := context.Background()
	s := fresh(t)
	m, err := s.SetMembers(ctx, "s")
	must(t, "SetMembers empty", err)
	if len(m) != 0 {
		t.Fatalf("members of empty set = %q", m)
	}
	ok, err := s.SetContains(ctx, "s", "a")
	must(t, "SetContains empty", err)
	if ok {
		t.Fatal("empty set contains a")
	}
	must(t, "SetAdd", s.SetAdd(ctx, "s", "c", "a", "b"))
	must(t, "SetAdd again", s.SetAdd(ctx, "s", "a", "d"))
	must(t, "SetAdd nothing", s.SetAdd(ctx, "s"))
	must(t, "SetAdd other set", s.SetAdd(ctx, "t", "zz"))
	m, err = s.SetMembers(ctx, "s")
	must(t, "SetMembers", err)
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(m, want) {
		t.Fatalf("members = %q, want %q", m, want)
	}
	ok, err = s.SetContains(ctx, "s", "b")
	must(t, "SetContains", err)
	if !ok {
		t.Fatal("set does not contain b")
	}
	must(t, "SetRemove", s.SetRemove(ctx, "s", "b", "missing"))
	must(t, "SetRemove from missing set", s.SetRemove(ctx, "nope", "x"))
	ok, err = s.SetContains(ctx, "s", "b")
	must(t, "SetContains removed", err)
	if ok {
		t.Fatal("set still contains b")
	}
	must(t, "SetRemove all", s.SetRemove(ctx, "s", "a", "c", "d"))
	m, err = s.SetMembers(ctx, "s")
	must(t, "SetMembers emptied", err)
	if len(m) != 0 {
		t.Fatalf("members after removing all = %q", m)
	}
	m, err = s.SetMembers(ctx, "t")
	must(t, "SetMembers t", err)
	if !slices.Equal(m, []string{"zz"}) {
		t.Fatalf("members of t = %q", m)
	}
	wantIs(t, "SetAdd empty member", s.SetAdd(ctx, "s", "ok", ""), store.ErrInvalid)
	wantIs(t, "SetRemove empty member", s.SetRemove(ctx, "s", ""), store.ErrInvalid)
	_, err = s.SetContains(ctx, "s", "")
	wantIs(t, "SetContains empty member", err, store.ErrInvalid)
}
