package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// AcquireLease takes or renews a lease.
func (s *backend) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var ok bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bLeases)
		if v := b.Get([]byte(name)); v != nil {
			if len(v) < 8 {
				return fmt.Errorf("%w: lease record of %d bytes", store.ErrCorrupt, len(v))
			}
			if string(v[8:]) != holder && getSortable(v) > ms(now) {
				ok = false
				return nil
			}
		}
		rec := make([]byte, 8+len(holder))
		putSortable(rec, expiry(now, ttl))
		copy(rec[8:], holder)
		ok = true
		return b.Put([]byte(name), rec)
	})
	return ok, err
}

// ReleaseLease frees the lease if holder has it.
func (s *backend) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bLeases)
		if v := b.Get([]byte(name)); len(v) >= 8 && string(v[8:]) == holder {
			return b.Delete([]byte(name))
		}
		return nil
	})
}

// LeaseHolder returns who holds the lease at now.
func (s *backend) LeaseHolder(ctx context.Context, name string, now time.Time) (string, error) {
	var h string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bLeases).Get([]byte(name)); len(v) >= 8 && getSortable(v) > ms(now) {
			h = string(v[8:])
		}
		return nil
	})
	return h, err
}
