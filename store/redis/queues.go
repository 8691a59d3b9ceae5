package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

var (
	// KEYS: z, due, held. ARGV: key, due ms. Scheduling ends any claim.
	scheduleScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`)

	// KEYS: z, due, held. ARGV: key.
	unscheduleScript = redis.NewScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`)

	// KEYS: z, due, held. ARGV: now ms, until ms, limit. Returns a flat
	// list of key, original due. Claimed items move to `until` in the
	// sorted set, which hides them until then and makes them due again if
	// nobody completes them.
	claimScript = redis.NewScript(`
local ks = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, k in ipairs(ks) do
  redis.call('ZADD', KEYS[1], ARGV[2], k)
  redis.call('HSET', KEYS[3], k, ARGV[2])
  out[#out + 1] = k
  out[#out + 1] = redis.call('HGET', KEYS[2], k) or ARGV[1]
end
return out`)

	// KEYS: z, due, held. ARGV: key, ClaimedUntil ms. A claim is
	// identified by its ClaimedUntil: holds are positive, so a later claim
	// of the same item always has a later ClaimedUntil, and Schedule
	// clears the held mark.
	completeScript = redis.NewScript(`
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`)
)

// Schedule sets or moves key's due time; it also ends any claim on it.
func (s *backend) Schedule(ctx context.Context, queue, key string, due time.Time) error {
	return unavail(scheduleScript.Run(ctx, s.c, s.queueKeys(queue), key, msArg(due)).Err())
}

// Unschedule removes key.
func (s *backend) Unschedule(ctx context.Context, queue, key string) error {
	return unavail(unscheduleScript.Run(ctx, s.c, s.queueKeys(queue), key).Err())
}

// ClaimDue atomically claims up to limit items due at or before now.
func (s *backend) ClaimDue(ctx context.Context, queue string, now time.Time, hold time.Duration, limit int) ([]store.Claim, error) {
	until := expiry(now, hold)
	res, err := claimScript.Run(ctx, s.c, s.queueKeys(queue), msArg(now), until, limit).StringSlice()
	if err != nil {
		return nil, unavail(err)
	}
	claims := make([]store.Claim, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		due, err := strconv.ParseInt(res[i+1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: due time %q", store.ErrCorrupt, res[i+1])
		}
		claims = append(claims, store.Claim{Key: res[i], Due: time.UnixMilli(due), ClaimedUntil: time.UnixMilli(until)})
	}
	return claims, nil
}

// Complete removes a claimed item if that claim still holds it.
func (s *backend) Complete(ctx context.Context, queue string, c store.Claim) (bool, error) {
	n, err := completeScript.Run(ctx, s.c, s.queueKeys(queue), c.Key, msArg(c.ClaimedUntil)).Int()
	if err != nil {
		return false, unavail(err)
	}
	return n == 1, nil
}

// NextDue returns the item that next becomes claimable.
func (s *backend) NextDue(ctx context.Context, queue string) (store.DueItem, bool, error) {
	items, err := s.Pending(ctx, queue, 1)
	if err != nil || len(items) == 0 {
		return store.DueItem{}, false, err
	}
	return items[0], true, nil
}

// Pending lists up to limit items in the order they become claimable.
func (s *backend) Pending(ctx context.Context, queue string, limit int) ([]store.DueItem, error) {
	if limit == 0 {
		return nil, nil
	}
	zs, err := s.c.ZRangeWithScores(ctx, s.queueKeys(queue)[0], 0, int64(limit-1)).Result()
	if err != nil {
		return nil, unavail(err)
	}
	return dueItems(zs), nil
}

// PendingMany reads each queue up to until with one pipeline of
// ZRANGEBYSCOREs: one round trip whatever the number of queues.
func (s *backend) PendingMany(ctx context.Context, queues []string, until time.Time, limit int) ([][]store.DueItem, error) {
	cmds := make([]*redis.ZSliceCmd, len(queues))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range queues {
			cmds[i] = p.ZRangeByScoreWithScores(ctx, s.queueKeys(q)[0], &redis.ZRangeBy{Min: "-inf", Max: msArg(until), Count: int64(limit)})
		}
		return nil
	})
	if err != nil {
		return nil, unavail(err)
	}
	out := make([][]store.DueItem, len(queues))
	for i, c := range cmds {
		out[i] = dueItems(c.Val())
	}
	return out, nil
}

func dueItems(zs []redis.Z) []store.DueItem {
	out := make([]store.DueItem, len(zs))
	for i, z := range zs {
		key, _ := z.Member.(string)
		out[i] = store.DueItem{Key: key, Due: time.UnixMilli(int64(z.Score))}
	}
	return out
}
