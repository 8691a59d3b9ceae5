package storetest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/encrypted"
)

// TestKeys are two fixed keys for tests: "t2" (first: it encrypts) and
// "t1". Never use them outside tests.
const TestKeys = "t2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=,t1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

// RunEncrypted runs the conformance suite on open's stores wrapped in the
// encryption decorator (store/encrypted) with TestKeys, and checks that
// what reaches the backend is sealed: a document's data and a log entry
// read from the backend underneath hold no trace of what was written.
func RunEncrypted(t *testing.T, open func(t *testing.T) store.Store) {
	Run(t, func(t *testing.T) store.Store { return Encrypted(t, open(t)) })
	t.Run("SealedUnderneath", func(t *testing.T) {
		ctx := context.Background()
		raw := open(t)
		t.Cleanup(func() { raw.Close() })
		s := Encrypted(t, raw)
		canary := []byte("CANARY-sealed-underneath")
		must(t, "put", ignoreVersion(s.Put(ctx, "reports", "r1", canary, store.NewDoc)))
		_, err := s.Append(ctx, "audit", canary)
		must(t, "append", err)
		_, err = s.Apply(ctx, store.AppendOp("audit", canary))
		must(t, "append in a batch", err)
		d, err := raw.Get(ctx, "reports", "r1")
		must(t, "raw get", err)
		if bytes.Contains(d.Data, canary) {
			t.Errorf("the backend holds the document in the clear: %q", d.Data)
		}
		entries, err := raw.LastEntries(ctx, "audit", 2)
		must(t, "raw read log", err)
		if len(entries) != 2 || bytes.Contains(entries[0].Data, canary) || bytes.Contains(entries[1].Data, canary) {
			t.Errorf("the backend's log entries are not sealed: %q", entries)
		}
		got, err := s.Get(ctx, "reports", "r1")
		must(t, "get", err)
		if !bytes.Equal(got.Data, canary) {
			t.Errorf("read back %q, want %q", got.Data, canary)
		}
		entries, err = s.LastEntries(ctx, "audit", 2)
		must(t, "read log", err)
		if len(entries) != 2 || !bytes.Equal(entries[0].Data, canary) || !bytes.Equal(entries[1].Data, canary) {
			t.Errorf("log read back %q", entries)
		}
	})
}

// Encrypted wraps raw in the encryption decorator with TestKeys (for
// suites and benchmarks); raw is closed if that fails.
func Encrypted(tb testing.TB, raw store.Store) store.Store {
	tb.Helper()
	keys, err := encrypted.ParseKeys(TestKeys)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := encrypted.Open(context.Background(), raw, keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		raw.Close()
		tb.Fatalf("encrypted.Open: %v", err)
	}
	return s
}

func ignoreVersion(_ int64, err error) error { return err }
