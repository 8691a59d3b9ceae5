package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Incr adds one to counters/<name> and returns the new value.
//
// Each counter is a plain 8-byte big-endian int64 in the counters bucket,
// read and rewritten in one Update. bbolt runs one writer at a time, so
// that is as atomic as NextSequence, and cheaper: a sub-bucket per counter
// (NextSequence is per bucket) would cost a bucket header per name, and its
// uint64 sequence is not the int64 this API returns.
func (s *backend) Incr(ctx context.Context, name string) (int64, error) {
	var n int64
	err := s.update(ctx, func(tx *bolt.Tx) error {
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
