package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// item is a queue entry as stored in queues/<queue>/items.
type item struct {
	due, at int64
	held    bool
}

func (it item) encode() []byte {
	b := make([]byte, 17)
	putSortable(b[0:], it.due)
	putSortable(b[8:], it.at)
	if it.held {
		b[16] = 1
	}
	return b
}

func decodeItem(b []byte) (item, error) {
	if len(b) != 17 {
		return item{}, fmt.Errorf("%w: queue item record of %d bytes", store.ErrCorrupt, len(b))
	}
	return item{due: getSortable(b[0:]), at: getSortable(b[8:]), held: b[16] == 1}, nil
}

// queue holds the two buckets of one queue.
type queue struct{ items, due *bolt.Bucket }

func openQueue(tx *bolt.Tx, name string, create bool) (queue, error) {
	var q *bolt.Bucket
	if create {
		var err error
		if q, err = subCreate(tx, bQueues, name); err != nil {
			return queue{}, err
		}
		items, err := q.CreateBucketIfNotExists(bItems)
		if err != nil {
			return queue{}, err
		}
		due, err := q.CreateBucketIfNotExists(bDue)
		if err != nil {
			return queue{}, err
		}
		return queue{items, due}, nil
	}
	if q = sub(tx, bQueues, name); q == nil {
		return queue{}, nil
	}
	return queue{q.Bucket(bItems), q.Bucket(bDue)}, nil
}

func (q queue) get(key string) (item, bool, error) {
	if q.items == nil {
		return item{}, false, nil
	}
	v := q.items.Get([]byte(key))
	if v == nil {
		return item{}, false, nil
	}
	it, err := decodeItem(v)
	return it, err == nil, err
}

func (q queue) put(key string, old *item, it item) error {
	if old != nil {
		if err := q.due.Delete(indexKey(old.at, key)); err != nil {
			return err
		}
	}
	if err := q.items.Put([]byte(key), it.encode()); err != nil {
		return err
	}
	return q.due.Put(indexKey(it.at, key), nil)
}

func (q queue) remove(key string, it item) error {
	if err := q.due.Delete(indexKey(it.at, key)); err != nil {
		return err
	}
	return q.items.Delete([]byte(key))
}

// Schedule sets or moves key's due time; it also ends any claim on it.
func (s *backend) Schedule(ctx context.Context, queueName, key string, due time.Time) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return schedule(tx, queueName, key, due) })
}

// schedule is Schedule inside tx, shared by Schedule and Apply. Writing the
// item with held=false and at=due is what ends a claim.
func schedule(tx *bolt.Tx, queueName, key string, due time.Time) error {
	q, err := openQueue(tx, queueName, true)
	if err != nil {
		return err
	}
	old, ok, err := q.get(key)
	if err != nil {
		return err
	}
	d := ms(due)
	prev := &old
	if !ok {
		prev = nil
	}
	return q.put(key, prev, item{due: d, at: d})
}

// Unschedule removes key.
func (s *backend) Unschedule(ctx context.Context, queueName, key string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return unschedule(tx, queueName, key) })
}

// unschedule is Unschedule inside tx, shared by Unschedule and Apply.
func unschedule(tx *bolt.Tx, queueName, key string) error {
	q, err := openQueue(tx, queueName, false)
	if err != nil {
		return err
	}
	it, ok, err := q.get(key)
	if !ok || err != nil {
		return err
	}
	return q.remove(key, it)
}

// ClaimDue claims up to limit items due at or before now.
func (s *backend) ClaimDue(ctx context.Context, queueName string, now time.Time, hold time.Duration, limit int) ([]store.Claim, error) {
	nowMS, until := ms(now), expiry(now, hold)
	var claims []store.Claim
	err := s.update(ctx, func(tx *bolt.Tx) error {
		claims = claims[:0]
		q, err := openQueue(tx, queueName, false)
		if err != nil || q.items == nil {
			return err
		}
		// Collect first: bbolt cursors must not run across their own
		// bucket's modifications.
		var due []string
		c := q.due.Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
			if getSortable(k) > nowMS {
				break
			}
			due = append(due, string(k[8:]))
		}
		for _, key := range due {
			it, ok, err := q.get(key)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: queue index names missing item %q", store.ErrCorrupt, key)
			}
			if err := q.put(key, &it, item{due: it.due, at: until, held: true}); err != nil {
				return err
			}
			claims = append(claims, store.Claim{Key: key, Due: fromMS(it.due), ClaimedUntil: fromMS(until)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// Complete removes a claimed item if that claim still holds it.
func (s *backend) Complete(ctx context.Context, queueName string, c store.Claim) (bool, error) {
	var done bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		done = false
		q, err := openQueue(tx, queueName, false)
		if err != nil {
			return err
		}
		it, ok, err := q.get(c.Key)
		if !ok || err != nil {
			return err
		}
		if !it.held || it.at != ms(c.ClaimedUntil) {
			return nil
		}
		done = true
		return q.remove(c.Key, it)
	})
	return done, err
}

// NextDue returns the item that next becomes claimable.
func (s *backend) NextDue(ctx context.Context, queueName string) (store.DueItem, bool, error) {
	items, err := s.Pending(ctx, queueName, 1)
	if err != nil || len(items) == 0 {
		return store.DueItem{}, false, err
	}
	return items[0], true, nil
}

// Pending lists up to limit items in the order they become claimable.
func (s *backend) Pending(ctx context.Context, queueName string, limit int) ([]store.DueItem, error) {
	var out []store.DueItem
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = pendingIn(tx, queueName, nil, limit)
		return err
	})
	return out, err
}

// PendingMany reads each queue up to until in one read transaction.
func (s *backend) PendingMany(ctx context.Context, queues []string, until time.Time, limit int) ([][]store.DueItem, error) {
	out := make([][]store.DueItem, len(queues))
	ms := until.UnixMilli()
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for i, q := range queues {
			var err error
			if out[i], err = pendingIn(tx, q, &ms, limit); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// pendingIn lists up to limit items of a queue in due order, stopping at
// the first due after *until (nil: no cut).
func pendingIn(tx *bolt.Tx, queueName string, until *int64, limit int) ([]store.DueItem, error) {
	q, err := openQueue(tx, queueName, false)
	if err != nil || q.due == nil {
		return nil, err
	}
	var out []store.DueItem
	c := q.due.Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		at := getSortable(k)
		if until != nil && at > *until {
			break
		}
		out = append(out, store.DueItem{Key: string(k[8:]), Due: fromMS(at)})
	}
	return out, nil
}
