package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Log ids are the bucket sequence, zero-padded so they also sort as
// strings.
func logID(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// parseLogID checks an id Append could have returned, so a bad `after` is
// ErrInvalid.
func parseLogID(id string) (uint64, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: log id %q", store.ErrInvalid, id)
	}
	return n, nil
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Append adds an entry to a log.
func (s *backend) Append(ctx context.Context, log string, data []byte) (string, error) {
	var id string
	err := s.update(ctx, func(tx *bolt.Tx) (err error) {
		id, err = appendLog(tx, log, data)
		return err
	})
	return id, err
}

// appendLog adds an entry within tx (Append, and AppendOp in a batch).
func appendLog(tx *bolt.Tx, log string, data []byte) (string, error) {
	b, err := subCreate(tx, bLogs, log)
	if err != nil {
		return "", err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return "", err
	}
	return logID(seq), b.Put(seqKey(seq), bytes.Clone(data))
}

// ReadLog returns up to limit entries after the entry with id after.
func (s *backend) ReadLog(ctx context.Context, log, after string, limit int) ([]store.LogEntry, error) {
	var start uint64
	if after != "" {
		n, err := parseLogID(after)
		if err != nil {
			return nil, err
		}
		if n == math.MaxUint64 {
			return nil, nil
		}
		start = n + 1
	}
	var out []store.LogEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := sub(tx, bLogs, log)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(start)); k != nil && len(out) < limit; k, v = c.Next() {
			out = append(out, store.LogEntry{ID: logID(binary.BigEndian.Uint64(k)), Data: bytes.Clone(v)})
		}
		return nil
	})
	return out, err
}

// LastEntries returns the last n entries, oldest first.
func (s *backend) LastEntries(ctx context.Context, log string, n int) ([]store.LogEntry, error) {
	var out []store.LogEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := sub(tx, bLogs, log)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			out = append(out, store.LogEntry{ID: logID(binary.BigEndian.Uint64(k)), Data: bytes.Clone(v)})
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
}
