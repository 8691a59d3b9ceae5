package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/vigil-sec/vigil/store"
)

func testLogs(t *testing.T, fresh opener) {
	ctx := context.Background()
	s := fresh(t)
	es, err := s.ReadLog(ctx, "audit", "", 10)
	must(t, "ReadLog empty", err)
	if len(es) != 0 {
		t.Fatalf("ReadLog of a new log = %v", es)
	}
	es, err = s.LastEntries(ctx, "audit", 3)
	must(t, "LastEntries empty", err)
	if len(es) != 0 {
		t.Fatalf("LastEntries of a new log = %v", es)
	}
	const n = 25
	ids := make([]string, n)
	seenID := map[string]bool{}
	for i := range n {
		id, err := s.Append(ctx, "audit", fmt.Appendf(nil, "entry %d", i))
		must(t, "Append", err)
		if id == "" || seenID[id] {
			t.Fatalf("Append returned id %q (seen before: %v)", id, seenID[id])
		}
		seenID[id] = true
		ids[i] = id
	}
	_, err = s.Append(ctx, "other", []byte{0, 1, 0})
	must(t, "Append other", err)
	data := func(i int) string { return fmt.Sprintf("entry %d", i) }
	check := func(what string, got []store.LogEntry, from, to int) {
		t.Helper()
		if len(got) != to-from {
			t.Fatalf("%s: %d entries, want %d", what, len(got), to-from)
		}
		for j, e := range got {
			if e.ID != ids[from+j] || string(e.Data) != data(from+j) {
				t.Fatalf("%s: entry %d = %q %q, want %q %q", what, j, e.ID, e.Data, ids[from+j], data(from+j))
			}
		}
	}
	all, err := s.ReadLog(ctx, "audit", "", 100)
	must(t, "ReadLog all", err)
	check("ReadLog all", all, 0, n)
	// Paging with after walks the log in order, with no gaps or repeats.
	var paged []store.LogEntry
	after := ""
	for {
		page, err := s.ReadLog(ctx, "audit", after, 4)
		must(t, "ReadLog page", err)
		if len(page) == 0 {
			break
		}
		if len(page) > 4 {
			t.Fatalf("page of %d entries, limit 4", len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	check("paged", paged, 0, n)
	page, err := s.ReadLog(ctx, "audit", ids[n-1], 10)
	must(t, "ReadLog after last", err)
	if len(page) != 0 {
		t.Fatalf("entries after the last one: %v", page)
	}
	page, err = s.ReadLog(ctx, "audit", ids[9], 3)
	must(t, "ReadLog after 9", err)
	check("after 9", page, 10, 13)
	last, err := s.LastEntries(ctx, "audit", 3)
	must(t, "LastEntries", err)
	check("LastEntries(3)", last, n-3, n)
	last, err = s.LastEntries(ctx, "audit", 1000)
	must(t, "LastEntries(1000)", err)
	check("LastEntries(1000)", last, 0, n)
	last, err = s.LastEntries(ctx, "audit", 0)
	must(t, "LastEntries(0)", err)
	if len(last) != 0 {
		t.Fatalf("LastEntries(0) = %v", last)
	}
	// An id is increasing: a later append comes after every earlier id.
	id, err := s.Append(ctx, "audit", []byte("late"))
	must(t, "Append late", err)
	page, err = s.ReadLog(ctx, "audit", ids[n-1], 10)
	must(t, "ReadLog after last", err)
	if len(page) != 1 || page[0].ID != id || string(page[0].Data) != "late" {
		t.Fatalf("entries after the last one = %v", page)
	}
	other, err := s.ReadLog(ctx, "other", "", 10)
	must(t, "ReadLog other", err)
	if len(other) != 1 || !bytes.Equal(other[0].Data, []byte{0, 1, 0}) {
		t.Fatalf("other log = %v", other)
	}
	_, err = s.ReadLog(ctx, "audit", "not an id", 10)
	wantIs(t, "ReadLog bad after", err, store.ErrInvalid)
	_, err = s.ReadLog(ctx, "audit", "", -1)
	wantIs(t, "ReadLog limit -1", err, store.ErrInvalid)
	_, err = s.LastEntries(ctx, "audit", -1)
	wantIs(t, "LastEntries -1", err, store.ErrInvalid)
}
