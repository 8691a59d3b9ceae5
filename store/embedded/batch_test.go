package embedded_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

// A format "1" file written before counters existed (no counters bucket)
// opens, counts from 1, and keeps its counters and older data across
// reopens.
func TestCountersOnOlderFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "docs", "sets", "queues", "leases", "seen", "seenexp", "logs"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		c, err := tx.Bucket([]byte("docs")).CreateBucket([]byte("reports"))
		if err != nil {
			return err
		}
		// be(version 1) || data
		if err := c.Put([]byte("r1"), append([]byte{0, 0, 0, 0, 0, 0, 0, 1}, "old"...)); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for round, want := range []int64{1, 2} {
		s, err := embedded.Open(path)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		n, err := s.Incr(ctx, "report-id")
		if err != nil || n != want {
			t.Fatalf("round %d: Incr = %d, %v; want %d", round, n, err, want)
		}
		d, err := s.Get(ctx, "reports", "r1")
		if err != nil || string(d.Data) != "old" || d.Version != 1 {
			t.Fatalf("round %d: old document = %+v, %v", round, d, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A counter record that is not 8 bytes is reported, not reset: resetting
// would hand out numbers that were already given.
func TestCorruptCounter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("counters")).Put([]byte("n"), []byte("7")) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Incr(ctx, "n"); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Incr on a damaged counter = %d, %v; want ErrCorrupt", n, err)
	}
}

// A batch on a closed store fails and says so.
func TestApplyClosed(t *testing.T) {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Apply(context.Background(), store.SetAddOp("s", "m")); err == nil {
		t.Fatal("Apply on a closed store succeeded")
	}
}
