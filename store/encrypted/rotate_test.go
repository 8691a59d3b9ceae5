package encrypted_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/encrypted"
)

// failingPuts fails every Put after the first n, like a process killed
// midway through a rotation.
type failingPuts struct {
	store.Store
	n int
}

func (f *failingPuts) Put(ctx context.Context, coll, id string, data []byte, expect int64) (int64, error) {
	if f.n == 0 {
		return 0, fmt.Errorf("killed: %w", store.ErrUnavailable)
	}
	f.n--
	return f.Store.Put(ctx, coll, id, data, expect)
}

// A rotation that stops midway is finished by running it again, which
// skips what the first run did; afterwards the old key can go, and records
// stored in the clear before encryption are encrypted too.
func TestRotateIsResumable(t *testing.T) {
	raw := rawStore(t)
	put(t, raw, "reports", "legacy", "stored in the clear")
	put(t, raw, "report.sources", "email:<legacy@x>", "legacy")
	old := wrap(t, raw, key1)
	for i := range 20 {
		put(t, old, "reports", fmt.Sprintf("r%02d", i), fmt.Sprintf("report %d", i))
	}
	put(t, old, "outbox", "m1", "rendered text")
	both := keys(t, key2+","+key1)

	_, err := encrypted.RotateKeys(ctx, &failingPuts{Store: raw, n: 8}, both, func(string) {})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("first run: %v, want it killed", err)
	}
	var lines []string
	st, err := encrypted.RotateKeys(ctx, raw, both, func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped == 0 || st.Resealed == 0 || st.Records != 23 {
		t.Errorf("second run: %+v, want some skipped (done by the first), the rest re-encrypted", st)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "reports: 21/21 done") {
		t.Errorf("progress lines: %q", lines)
	}
	again, err := encrypted.RotateKeys(ctx, raw, both, func(string) {})
	if err != nil || again.Resealed != 0 || again.Skipped != again.Records {
		t.Errorf("third run: %+v, %v: want everything skipped", again, err)
	}

	onlyNew := wrap(t, raw, key2)
	for i := range 20 {
		if got := get(t, onlyNew, "reports", fmt.Sprintf("r%02d", i)); got != fmt.Sprintf("report %d", i) {
			t.Errorf("r%02d reads %q", i, got)
		}
	}
	if got := get(t, onlyNew, "reports", "legacy"); got != "stored in the clear" {
		t.Errorf("legacy reads %q", got)
	}
	if got := get(t, onlyNew, "report.sources", "email:<legacy@x>"); got != "legacy" {
		t.Errorf("legacy source index reads %q", got)
	}
	d, _ := raw.Get(ctx, "reports", "legacy")
	if strings.Contains(string(d.Data), "clear") {
		t.Error("the legacy record is still in the clear")
	}
	if ids, _ := raw.List(ctx, "report.sources"); len(ids) != 1 || strings.Contains(ids[0], "legacy") {
		t.Errorf("legacy source id not moved to its hash: %v", ids)
	}
}

// racingWriter writes through Vigil's own (encrypted) store between the
// rotation's read of a record and its write, once.
type racingWriter struct {
	store.Store
	vigil store.Store
	done  bool
	t     *testing.T
}

func (r *racingWriter) Get(ctx context.Context, coll, id string) (store.Doc, error) {
	d, err := r.Store.Get(ctx, coll, id)
	if coll == "reports" && id == "r1" && !r.done {
		r.done = true
		if _, err := r.vigil.Put(ctx, "reports", "r1", []byte("written by Vigil meanwhile"), store.AnyVersion); err != nil {
			r.t.Fatal(err)
		}
	}
	return d, err
}

// A running Vigil that changes a record while it is being rotated wins:
// the rotation does not write back its stale copy.
func TestRotateLetsConcurrentWriterWin(t *testing.T) {
	raw := rawStore(t)
	put(t, wrap(t, raw, key1), "reports", "r1", "old text")
	vigil := wrap(t, raw, key2+","+key1)
	if _, err := encrypted.RotateKeys(ctx, &racingWriter{Store: raw, vigil: vigil, t: t}, keys(t, key2+","+key1), func(string) {}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, wrap(t, raw, key2), "reports", "r1"); got != "written by Vigil meanwhile" {
		t.Errorf("r1 = %q: the rotation overwrote a concurrent write", got)
	}
}
