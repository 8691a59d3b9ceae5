package encrypted_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
	"github.com/vigil-sec/vigil/store/encrypted"
)

const (
	key1 = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	key2 = "k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
)

var ctx = context.Background()

func keys(t *testing.T, s string) []encrypted.Key {
	t.Helper()
	k, err := encrypted.ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rawStore(t *testing.T) store.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func wrap(t *testing.T, raw store.Store, ks string) store.Store {
	t.Helper()
	s, err := encrypted.Open(ctx, raw, keys(t, ks), quiet)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func put(t *testing.T, s store.Store, coll, id, data string) {
	t.Helper()
	if _, err := s.Put(ctx, coll, id, []byte(data), store.AnyVersion); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s store.Store, coll, id string) string {
	t.Helper()
	d, err := s.Get(ctx, coll, id)
	if err != nil {
		t.Fatalf("get %s/%s: %v", coll, id, err)
	}
	return string(d.Data)
}

func TestParseKeys(t *testing.T) {
	ks := keys(t, key2+"\n"+key1+"\n")
	if len(ks) != 2 || ks[0].ID != "k2" || ks[1].ID != "k1" {
		t.Fatalf("got %v", ks)
	}
	if s := ks[0].String() + ks[0].GoString(); strings.Contains(s, "AgIC") {
		t.Errorf("a key prints its secret: %s", s)
	}
	for _, bad := range []string{"k1", "k1:short", key1 + "," + key1, "~store:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="} {
		if _, err := encrypted.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
	gen, err := encrypted.GenerateKey("fresh")
	if err != nil {
		t.Fatal(err)
	}
	if ks := keys(t, gen); len(ks) != 1 || ks[0].ID != "fresh" {
		t.Errorf("a generated key does not parse back: %v", ks)
	}
	if other, _ := encrypted.GenerateKey("fresh"); other == gen {
		t.Error("two generated keys are equal")
	}
}

// A ciphertext copied to another record (another id, another collection)
// does not read there: the record's name is bound to it.
func TestCiphertextCannotMove(t *testing.T) {
	raw := rawStore(t)
	s := wrap(t, raw, key1)
	put(t, s, "reports", "r1", "secret one")
	d, err := raw.Get(ctx, "reports", "r1")
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range [][2]string{{"reports", "r2"}, {"outbox", "r1"}} {
		if _, err := raw.Put(ctx, to[0], to[1], d.Data, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, to[0], to[1]); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("moved to %s/%s: got %v, want ErrCorrupt", to[0], to[1], err)
		}
	}
	flipped := bytes.Clone(d.Data)
	flipped[len(flipped)-1] ^= 1
	if _, err := raw.Put(ctx, "reports", "r1", flipped, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "reports", "r1"); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("changed ciphertext: got %v, want ErrCorrupt", err)
	}
}

// A store sealed under k1 is refused, naming k1, when only k2 is
// configured, and when no key is; a record under a key that is gone is
// refused on read too.
func TestMissingKeyNamesTheKeyID(t *testing.T) {
	raw := rawStore(t)
	s := wrap(t, raw, key1)
	put(t, s, "reports", "r1", "secret")
	for name, ks := range map[string]string{"other key": key2, "no key": ""} {
		_, err := encrypted.Open(ctx, raw, keys(t, ks), quiet)
		var mk *encrypted.MissingKeyError
		if !errors.As(err, &mk) || mk.ID != "k1" || !strings.Contains(err.Error(), `"k1"`) {
			t.Errorf("%s: Open = %v, want a MissingKeyError naming k1", name, err)
		}
	}
	// The sentinel is readable with k2 first and k1 kept, but a record
	// whose key is then dropped is refused on read, by id.
	s2 := wrap(t, raw, key2+","+key1)
	put(t, s2, "reports", "r2", "under k2")
	s1 := wrap(t, raw, key1)
	if _, err := s1.Get(ctx, "reports", "r2"); err == nil || !strings.Contains(err.Error(), `"k2"`) || !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("read of a record under k2 with only k1: %v", err)
	}
}

func TestWarnsOnceWithoutKeys(t *testing.T) {
	var buf bytes.Buffer
	raw := rawStore(t)
	s, err := encrypted.Open(ctx, raw, nil, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if s != raw {
		t.Error("without keys the store should be used as is")
	}
	if n := strings.Count(buf.String(), "stored in the clear"); n != 1 {
		t.Errorf("warned %d times: %s", n, buf.String())
	}
}

// Blind collections keep outsiders' ids out of the stored keys, and still
// find, refuse duplicates of and delete by the caller's id.
func TestBlindIDs(t *testing.T) {
	raw := rawStore(t)
	s := wrap(t, raw, key1)
	id := "email:<CANARY-msgid@attacker.example>"
	_, err := s.Apply(ctx, store.PutOp("report.sources", id, []byte("2026-1"), store.NewDoc), store.SetAddOp("reports:open", "2026-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "report.sources", id); got != "2026-1" {
		t.Errorf("read back %q", got)
	}
	ids, err := raw.List(ctx, "report.sources")
	if err != nil || len(ids) != 1 || strings.Contains(ids[0], "CANARY") || !strings.HasPrefix(ids[0], "b.") {
		t.Errorf("stored ids %v (%v): want one hash", ids, err)
	}
	_, err = s.Apply(ctx, store.SetAddOp("x", "y"), store.PutOp("report.sources", id, []byte("2026-2"), store.NewDoc))
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Collection != "report.sources" || ce.ID != id || ce.Op != 2 {
		t.Errorf("duplicate: %v (%+v), want a conflict at op 2 naming the caller's id", err, ce)
	}
	if _, err := s.List(ctx, "report.sources"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("List of a blind collection: %v", err)
	}
	if _, err := s.Get(ctx, "report.sources", ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
	if err := s.Delete(ctx, "report.sources", id, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if ids, _ := raw.List(ctx, "report.sources"); len(ids) != 0 {
		t.Errorf("left after delete: %v", ids)
	}
}

// The hashed ids survive a rotation: the store key is re-sealed, not
// changed, so a duplicate is still recognised after the old key is gone.
func TestBlindIDsSurviveRotation(t *testing.T) {
	raw := rawStore(t)
	put(t, wrap(t, raw, key1), "report.mailids", "<m1@x>", "2026-1")
	if _, err := encrypted.RotateKeys(ctx, raw, keys(t, key2+","+key1), func(string) {}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, wrap(t, raw, key2), "report.mailids", "<m1@x>"); got != "2026-1" {
		t.Errorf("after rotation: %q", got)
	}
}

func TestLogEntriesSealed(t *testing.T) {
	raw := rawStore(t)
	if _, err := raw.Append(ctx, "audit", []byte("before encryption")); err != nil {
		t.Fatal(err)
	}
	s := wrap(t, raw, key1)
	if _, err := s.Append(ctx, "audit", []byte("CANARY after")); err != nil {
		t.Fatal(err)
	}
	rawEntries, _ := raw.ReadLog(ctx, "audit", "", 10)
	if len(rawEntries) != 2 || bytes.Contains(rawEntries[1].Data, []byte("CANARY")) {
		t.Fatalf("raw log: %q", rawEntries)
	}
	entries, err := s.ReadLog(ctx, "audit", "", 10)
	if err != nil || len(entries) != 2 || string(entries[0].Data) != "before encryption" || string(entries[1].Data) != "CANARY after" {
		t.Fatalf("ReadLog = %q, %v", entries, err)
	}
	// Log entries are under the store key: rotating and dropping k1 keeps
	// them readable.
	if _, err := encrypted.RotateKeys(ctx, raw, keys(t, key2+","+key1), func(string) {}); err != nil {
		t.Fatal(err)
	}
	entries, err = wrap(t, raw, key2).LastEntries(ctx, "audit", 1)
	if err != nil || len(entries) != 1 || string(entries[0].Data) != "CANARY after" {
		t.Errorf("after rotation: %q, %v", entries, err)
	}
}

// The store key is not readable or writable through the decorator.
func TestSentinelIsReserved(t *testing.T) {
	s := wrap(t, rawStore(t), key1)
	if _, err := s.Get(ctx, "vigil.encryption", "store-key"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Apply(ctx, store.PutOp("vigil.encryption", "store-key", []byte("x"), store.AnyVersion)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Apply: %v", err)
	}
	if _, err := s.List(ctx, "vigil.encryption"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("List: %v", err)
	}
}
