package encrypted

import (
	"bytes"
	"testing"
)

// The cost the decorator adds to a read and a write of a typical report
// document (2 KiB): one seal, one open.
func BenchmarkSealOpen2KiB(b *testing.B) {
	key := bytes.Repeat([]byte{7}, KeySize)
	plain := bytes.Repeat([]byte("a report description "), 100)
	ad := docAD("reports", "VIG-2026-1")
	lookup := func(string) ([]byte, bool) { return key, true }
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		sealedData, err := seal("k1", key, plain, ad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := open(sealedData, ad, lookup); err != nil {
			b.Fatal(err)
		}
	}
}

// A malformed header (truncated, lying about its id's length) is corrupt,
// never a panic.
func TestMalformedEnvelopes(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	good, err := seal("k1", key, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(string) ([]byte, bool) { return key, true }
	for n := range len(good) {
		if _, err := open(good[:n], nil, lookup); err == nil {
			t.Errorf("a %d-byte prefix opened", n)
		}
	}
	lying := append(bytes.Clone(magic), 200, 'k')
	if _, err := open(lying, nil, lookup); err == nil {
		t.Error("an id length past the end opened")
	}
}
