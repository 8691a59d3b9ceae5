package redisstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

// parseStreamID checks an id Append could have returned ("ms-seq"), so a
// bad `after` is ErrInvalid without a round trip.
func parseStreamID(id string) (ms, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if ok {
		if ms, err = strconv.ParseUint(a, 10, 64); err == nil {
			seq, err = strconv.ParseUint(b, 10, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("%w: log id %q", store.ErrInvalid, id)
	}
	return ms, seq, nil
}

func entries(msgs []redis.XMessage) []store.LogEntry {
	out := make([]store.LogEntry, len(msgs))
	for i, m := range msgs {
		d, _ := m.Values["d"].(string)
		out[i] = store.LogEntry{ID: m.ID, Data: []byte(d)}
	}
	return out
}

// Append adds an entry to a log.
func (s *backend) Append(ctx context.Context, log string, data []byte) (string, error) {
	id, err := s.c.XAdd(ctx, &redis.XAddArgs{Stream: s.key("log", log), Values: []any{"d", data}}).Result()
	return id, unavail(err)
}

// ReadLog returns up to limit entries after the entry with id after.
func (s *backend) ReadLog(ctx context.Context, log, after string, limit int) ([]store.LogEntry, error) {
	start := "-"
	if after != "" {
		ms, seq, err := parseStreamID(after)
		if err != nil {
			return nil, err
		}
		if ms == math.MaxUint64 && seq == math.MaxUint64 {
			// Nothing comes after the largest id; Redis rejects "(" of it.
			return nil, nil
		}
		start = "(" + after
	}
	if limit == 0 {
		return nil, nil
	}
	msgs, err := s.c.XRangeN(ctx, s.key("log", log), start, "+", int64(limit)).Result()
	if err != nil {
		return nil, unavail(err)
	}
	return entries(msgs), nil
}

// LastEntries returns the last n entries, oldest first.
func (s *backend) LastEntries(ctx context.Context, log string, n int) ([]store.LogEntry, error) {
	if n == 0 {
		return nil, nil
	}
	msgs, err := s.c.XRevRangeN(ctx, s.key("log", log), "+", "-", int64(n)).Result()
	if err != nil {
		return nil, unavail(err)
	}
	out := entries(msgs)
	slices.Reverse(out)
	return out, nil
}
