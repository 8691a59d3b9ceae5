package embedded_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/store/embedded"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/storetest"
)

// The suite again with encryption at rest on (store/encrypted).
func TestConformanceEncrypted(t *testing.T) {
	storetest.RunEncrypted(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// Compact drops what bbolt's free pages still hold: a value overwritten
// is in the file before and gone after, while the live data stays.
func TestCompactDropsOldVersions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte("OLD-VERSION-"), 100)
	for i, data := range [][]byte{old, []byte("new version")} {
		if _, err := s.Put(ctx, "reports", "r1", data, store.AnyVersion); err != nil {
			t.Fatal(i, err)
		}
	}
	s.Close()
	if b, _ := os.ReadFile(path); !bytes.Contains(b, old) {
		t.Skip("bbolt already overwrote the old page; nothing to show")
	}
	if err := embedded.Compact(path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("OLD-VERSION-")) {
		t.Error("the old version is still in the file after Compact")
	}
	s, err = embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.Get(ctx, "reports", "r1"); err != nil || string(d.Data) != "new version" {
		t.Errorf("after Compact: %q, %v", d.Data, err)
	}
}

func BenchmarkStoreEncrypted(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return storetest.Encrypted(b, openTemp(b)) })
}
