package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Apply applies ops in one bbolt transaction: each op runs the same helper
// as its single-operation method, so a batch reads its own earlier writes
// (a PutOp's version check sees the version a previous op of the batch left)
// and any error, a version conflict included, rolls the whole transaction
// back. bbolt commits with one fsync, so after a crash either every op is on
// disk or none is.
func (s *Store) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	if err := store.ValidateOps(ops); err != nil {
		return nil, fmt.Errorf("embedded: apply: %w", err)
	}
	versions := make([]int64, len(ops))
	if len(ops) == 0 {
		return versions, nil
	}
	err := s.update(ctx, fmt.Sprintf("apply %d ops", len(ops)), func(tx *bolt.Tx) error {
		for i, o := range ops {
			if err := applyOp(tx, o, &versions[i]); err != nil {
				if ce := (*store.ConflictError)(nil); errors.As(err, &ce) {
					ce.Op = i + 1
					return ce
				}
				return fmt.Errorf("op %d (%s): %w", i+1, o, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return versions, nil
}

func applyOp(tx *bolt.Tx, o store.Op, version *int64) (err error) {
	switch o.Kind() {
	case store.OpPut:
		*version, err = putDoc(tx, o.Name(), o.Key(), o.Data(), o.Expect())
		return err
	case store.OpDelete:
		return deleteDoc(tx, o.Name(), o.Key(), o.Expect())
	case store.OpSetAdd:
		return setAdd(tx, o.Name(), o.Members())
	case store.OpSetRemove:
		return setRemove(tx, o.Name(), o.Members())
	case store.OpSchedule:
		return schedule(tx, o.Name(), o.Key(), o.Due())
	case store.OpUnschedule:
		return unschedule(tx, o.Name(), o.Key())
	}
	// ValidateOps rejects unknown kinds before the transaction starts.
	return fmt.Errorf("%w: unknown op kind %v", store.ErrInvalid, o.Kind())
}

// Incr adds one to counters/<name> and returns the new value.
//
// Each counter is a plain 8-byte big-endian int64 in the counters bucket,
// read and rewritten in one Update. bbolt runs one writer at a time, so
// that is as atomic as NextSequence, and cheaper: a sub-bucket per counter
// (NextSequence is per bucket) would cost a bucket header per name, and its
// uint64 sequence is not the int64 this API returns.
func (s *Store) Incr(ctx context.Context, name string) (int64, error) {
	op := "incr " + name
	if err := store.ValidNames("counter", name); err != nil {
		return 0, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var n int64
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		// Files written before counters existed lack the bucket until
		// their first Open by this version; create it rather than assume.
		b, err := tx.CreateBucketIfNotExists(bCounters)
		if err != nil {
			return err
		}
		n = 0
		if v := b.Get([]byte(name)); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("%w: counter record of %d bytes", store.ErrCorrupt, len(v))
			}
			n = int64(binary.BigEndian.Uint64(v))
		}
		if n < 0 || n == math.MaxInt64 {
			return fmt.Errorf("%w: counter value %d cannot be incremented", store.ErrCorrupt, n)
		}
		n++
		return b.Put([]byte(name), binary.BigEndian.AppendUint64(nil, uint64(n)))
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
