package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// KEYS: seen. ARGV: now ms, until ms, px ms.
var markSeenScript = redis.NewScript(`
local e = redis.call('GET', KEYS[1])
if e and tonumber(e) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// markSeenArgs are markSeenScript's ARGV (MarkSeen, and Read's queries).
func markSeenArgs(now time.Time, ttl time.Duration) []any {
	return []any{msArg(now), expiry(now, ttl), (ttl + seenGCSlack).Milliseconds()}
}

// MarkSeen records key until now+ttl unless a live record exists.
func (s *backend) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := markSeenScript.Run(ctx, s.c, []string{s.key("seen", key)}, markSeenArgs(now, ttl)...).Int()
	if err != nil {
		return false, unavail(err)
	}
	return n == 1, nil
}

// WasSeen reports whether key has a live record at now.
func (s *backend) WasSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	v, err := s.c.Get(ctx, s.key("seen", key)).Int64()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, unavail(err)
	}
	return v > now.UnixMilli(), nil
}

// Forget removes key's record.
func (s *backend) Forget(ctx context.Context, key string) error {
	return unavail(s.c.Del(ctx, s.key("seen", key)).Err())
}
