package embedded

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MarkSeen records key until now+ttl unless a live record exists.
func (s *backend) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	var first bool
	err := s.update(ctx, func(tx *bolt.Tx) (err error) {
		first, err = markSeen(tx, key, now, ttl)
		return err
	})
	return first, err
}

// markSeen is MarkSeen inside tx, shared by MarkSeen and Read.
func markSeen(tx *bolt.Tx, key string, now time.Time, ttl time.Duration) (bool, error) {
	nowMS := ms(now)
	seen, exp := tx.Bucket(bSeen), tx.Bucket(bSeenExp)
	if v := seen.Get([]byte(key)); len(v) == 8 {
		old := getSortable(v)
		if old > nowMS {
			return false, nil
		}
		if err := exp.Delete(indexKey(old, key)); err != nil {
			return false, err
		}
	}
	u := expiry(now, ttl)
	rec := make([]byte, 8)
	putSortable(rec, u)
	if err := seen.Put([]byte(key), rec); err != nil {
		return false, err
	}
	if err := exp.Put(indexKey(u, key), nil); err != nil {
		return false, err
	}
	return true, purgeSeen(seen, exp, nowMS)
}

// purgeSeen drops a few run-out records so the file does not grow with
// every webhook delivery ever seen.
func purgeSeen(seen, exp *bolt.Bucket, nowMS int64) error {
	var drop [][]byte
	c := exp.Cursor()
	for k, _ := c.First(); k != nil && len(drop) < seenPurgeBatch; k, _ = c.Next() {
		if getSortable(k) > nowMS {
			break
		}
		drop = append(drop, bytes.Clone(k))
	}
	for _, k := range drop {
		if err := exp.Delete(k); err != nil {
			return err
		}
		// Only remove the record if it is the one this index entry is
		// for; a newer record for the key has its own entry.
		if v := seen.Get(k[8:]); len(v) == 8 && bytes.Equal(v, k[:8]) {
			if err := seen.Delete(k[8:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// WasSeen reports whether key has a live record at now.
func (s *backend) WasSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bSeen).Get([]byte(key))
		ok = len(v) == 8 && getSortable(v) > ms(now)
		return nil
	})
	return ok, err
}

// Forget removes key's record.
func (s *backend) Forget(ctx context.Context, key string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		seen := tx.Bucket(bSeen)
		v := seen.Get([]byte(key))
		if len(v) != 8 {
			return nil
		}
		if err := tx.Bucket(bSeenExp).Delete(indexKey(getSortable(v), key)); err != nil {
			return err
		}
		return seen.Delete([]byte(key))
	})
}
