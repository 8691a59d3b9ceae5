package redisstore

import (
	"context"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// SetAdd adds members to a set.
func (s *backend) SetAdd(ctx context.Context, set string, members ...string) error {
	return s.setWrite(ctx, set, func(p redis.Pipeliner) { p.SAdd(ctx, s.setKey(set), anys(members)...) })
}

// SetRemove removes members from a set.
func (s *backend) SetRemove(ctx context.Context, set string, members ...string) error {
	return s.setWrite(ctx, set, func(p redis.Pipeliner) { p.SRem(ctx, s.setKey(set), anys(members)...) })
}

// setWrite runs a set write and bumps the set's stamp in one MULTI/EXEC
// (one round trip): no reader sees the new members with the old stamp.
func (s *backend) setWrite(ctx context.Context, set string, write func(p redis.Pipeliner)) error {
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		write(p)
		p.HIncrBy(ctx, s.stampsKey(), store.StampField("", set), 1)
		return nil
	})
	return unavail(err)
}

// SetMembers returns the members, sorted.
func (s *backend) SetMembers(ctx context.Context, set string) ([]string, error) {
	m, err := s.c.SMembers(ctx, s.setKey(set)).Result()
	if err != nil {
		return nil, unavail(err)
	}
	slices.Sort(m)
	return m, nil
}

// SetContains reports whether member is in set.
func (s *backend) SetContains(ctx context.Context, set, member string) (bool, error) {
	ok, err := s.c.SIsMember(ctx, s.setKey(set), member).Result()
	return ok, unavail(err)
}
