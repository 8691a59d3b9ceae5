package redisstore

import (
	"context"
	"slices"
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
	return unavail(s.c.SAdd(ctx, s.setKey(set), anys(members)...).Err())
}

// SetRemove removes members from a set.
func (s *backend) SetRemove(ctx context.Context, set string, members ...string) error {
	return unavail(s.c.SRem(ctx, s.setKey(set), anys(members)...).Err())
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
