package embedded_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
	"github.com/vigil-sec/vigil/store/storetest"
)

func openTemp(tb testing.TB) store.Store {
	tb.Helper()
	s, err := embedded.Open(filepath.Join(tb.TempDir(), "vigil.db"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// Without commit batching (Open batches concurrent writes), the same
// guarantees hold.
func TestConformanceUnbatched(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := embedded.OpenWith(filepath.Join(t.TempDir(), "vigil.db"), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func TestOpenCreatesDirAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "vigil.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Describe(); got != "embedded bbolt file "+path {
		t.Errorf("Describe = %q", got)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "c", "x", []byte("kept"), store.NewDoc); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Get(ctx, "c", "x")
	if err != nil || string(d.Data) != "kept" {
		t.Fatalf("after reopen: %+v %v", d, err)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = embedded.Open(path)
	if err == nil || !strings.Contains(err.Error(), "another process is using "+path) {
		t.Fatalf("second open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second open took %v", d)
	}
}

// A file the store cannot read must be reported and left byte-for-byte as
// it was: it may be the only copy of the team's data.
func TestCorruptFileIsNeverOverwritten(t *testing.T) {
	valid, used := validFile(t)
	cases := map[string][]byte{
		"garbage":       bytes.Repeat([]byte("not a bbolt file, just text\n"), 1000),
		"empty":         {},
		"short garbage": []byte("x"),
		"first 100 B":   valid[:100],
		"first page":    valid[:4096],
		"3 pages":       valid[:3*4096],
		// bbolt preallocates: the file is longer than the pages in use,
		// and only losing used pages is damage.
		"last used page": valid[:used-4096],
		"zeroed meta":    append(make([]byte, 8192), valid[8192:]...),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigil.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := embedded.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a damaged file")
			}
			if !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !bytes.Equal(after, content) {
				t.Fatalf("file changed by the failed open: %d bytes before, %d after", len(content), len(after))
			}
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files regardless of mode")
	}
	path := filepath.Join(t.TempDir(), "vigil.db")
	valid, _ := validFile(t)
	if err := os.WriteFile(path, valid, 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := embedded.Open(path)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("open of unreadable file: %v", err)
	}
}

// validFile returns the bytes of a store with enough data to span pages,
// and how many of them bbolt uses.
func validFile(t *testing.T) ([]byte, int) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "valid.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 3000)
	for i := range 200 {
		if _, err := s.Put(ctx, "c", string(rune('a'+i%26))+strings.Repeat("k", i), big, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var used int
	db.View(func(tx *bolt.Tx) error { used = int(tx.Size()); return nil })
	if used <= 4*4096 || used > len(b) {
		t.Fatalf("store uses %d of %d bytes", used, len(b))
	}
	return b, used
}

func TestClosed(t *testing.T) {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}

// The due index keeps ClaimDue proportional to what is due: claiming from a
// queue with many future items touches only the due ones.
func TestClaimIgnoresFutureItems(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		if err := s.Schedule(ctx, "q", "future-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('A'+i/26)), t0.Add(time.Hour+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Schedule(ctx, "q", "now", t0); err != nil {
		t.Fatal(err)
	}
	cs, err := s.ClaimDue(ctx, "q", t0, time.Minute, 100)
	if err != nil || len(cs) != 1 || cs[0].Key != "now" {
		t.Fatalf("ClaimDue = %v %v", cs, err)
	}
}
