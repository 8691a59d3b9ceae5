package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// KEYS: lease. ARGV: holder, now ms, until ms.
	acquireScript = redis.NewScript(`
local h = redis.call('HGET', KEYS[1], 'h')
if h and h ~= ARGV[1] then
  local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
  if u > tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'u', ARGV[3])
return 1`)

	// KEYS: lease. ARGV: holder.
	releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`)
)

// AcquireLease takes or renews a lease.
func (s *backend) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := acquireScript.Run(ctx, s.c, []string{s.key("lease", name)}, holder, msArg(now), expiry(now, ttl)).Int()
	if err != nil {
		return false, unavail(err)
	}
	return n == 1, nil
}

// ReleaseLease frees the lease if holder has it.
func (s *backend) ReleaseLease(ctx context.Context, name, holder string) error {
	return unavail(releaseScript.Run(ctx, s.c, []string{s.key("lease", name)}, holder).Err())
}

// LeaseHolder returns who holds the lease at now.
func (s *backend) LeaseHolder(ctx context.Context, name string, now time.Time) (string, error) {
	vals, err := s.c.HMGet(ctx, s.key("lease", name), "h", "u").Result()
	if err != nil {
		return "", unavail(err)
	}
	h, _ := vals[0].(string)
	us, _ := vals[1].(string)
	u, err := strconv.ParseInt(us, 10, 64)
	if h == "" || err != nil || u <= now.UnixMilli() {
		return "", nil
	}
	return h, nil
}
