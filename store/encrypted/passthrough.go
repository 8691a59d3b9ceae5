package encrypted

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// The primitives below carry no record data, only names, members, keys and
// times, which stay in the clear (docs/ENCRYPTION.md says why): they go to
// the wrapped store unchanged.

func (s *Store) SetAdd(ctx context.Context, set string, members ...string) error {
	return s.inner.SetAdd(ctx, set, members...)
}

func (s *Store) SetRemove(ctx context.Context, set string, members ...string) error {
	return s.inner.SetRemove(ctx, set, members...)
}

func (s *Store) SetMembers(ctx context.Context, set string) ([]string, error) {
	return s.inner.SetMembers(ctx, set)
}

func (s *Store) SetContains(ctx context.Context, set, member string) (bool, error) {
	return s.inner.SetContains(ctx, set, member)
}

func (s *Store) Schedule(ctx context.Context, queue, key string, due time.Time) error {
	return s.inner.Schedule(ctx, queue, key, due)
}

func (s *Store) Unschedule(ctx context.Context, queue, key string) error {
	return s.inner.Unschedule(ctx, queue, key)
}

func (s *Store) ClaimDue(ctx context.Context, queue string, now time.Time, hold time.Duration, limit int) ([]store.Claim, error) {
	return s.inner.ClaimDue(ctx, queue, now, hold, limit)
}

func (s *Store) Complete(ctx context.Context, queue string, c store.Claim) (bool, error) {
	return s.inner.Complete(ctx, queue, c)
}

func (s *Store) NextDue(ctx context.Context, queue string) (store.DueItem, bool, error) {
	return s.inner.NextDue(ctx, queue)
}

func (s *Store) Pending(ctx context.Context, queue string, limit int) ([]store.DueItem, error) {
	return s.inner.Pending(ctx, queue, limit)
}

func (s *Store) PendingMany(ctx context.Context, queues []string, until time.Time, limit int) ([][]store.DueItem, error) {
	return s.inner.PendingMany(ctx, queues, until, limit)
}

func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	return s.inner.AcquireLease(ctx, name, holder, now, ttl)
}

func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.inner.ReleaseLease(ctx, name, holder)
}

func (s *Store) LeaseHolder(ctx context.Context, name string, now time.Time) (string, error) {
	return s.inner.LeaseHolder(ctx, name, now)
}

func (s *Store) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	return s.inner.MarkSeen(ctx, key, now, ttl)
}

func (s *Store) WasSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	return s.inner.WasSeen(ctx, key, now)
}

func (s *Store) Forget(ctx context.Context, key string) error { return s.inner.Forget(ctx, key) }

func (s *Store) Incr(ctx context.Context, name string) (int64, error) {
	return s.inner.Incr(ctx, name)
}

func (s *Store) Ping(ctx context.Context) error { return s.inner.Ping(ctx) }

// Describe says where the data lives, and that it is encrypted.
func (s *Store) Describe() string {
	return s.inner.Describe() + " (encrypted under key " + s.keys[0].ID + ")"
}

func (s *Store) Close() error { return s.inner.Close() }
