package redisstore

import "context"

// Incr adds one to the counter with INCR, which Redis runs atomically for
// every client of every replica.
func (s *backend) Incr(ctx context.Context, name string) (int64, error) {
	n, err := s.c.Incr(ctx, s.counterKey(name)).Result()
	if err != nil {
		return 0, unavail(err)
	}
	return n, nil
}
