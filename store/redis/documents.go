package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

var (
	// KEYS: doc, ids, stamps. ARGV: expect, data, id, stamp field.
	// Returns {ok, version}.
	putScript = redis.NewScript(`
local have = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local expect = tonumber(ARGV[1])
if expect ~= -1 and expect ~= have then return {0, have} end
local v = have + 1
redis.call('HSET', KEYS[1], 'v', string.format('%d', v), 'data', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
return {1, v}`)

	// KEYS: doc, ids, stamps. ARGV: expect, id, stamp field. Returns
	// {ok, version}.
	deleteScript = redis.NewScript(`
local have = redis.call('HGET', KEYS[1], 'v')
if not have then
  if ARGV[1] == '-1' then return {1, 0} end
  return {0, 0}
end
have = tonumber(have)
local expect = tonumber(ARGV[1])
if expect ~= -1 and expect ~= have then return {0, have} end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return {1, have}`)
)

// Get returns a document.
func (s *backend) Get(ctx context.Context, collection, id string) (store.Doc, error) {
	vals, err := s.c.HMGet(ctx, s.docKeys(collection, id)[0], "v", "data").Result()
	if err != nil {
		return store.Doc{}, unavail(err)
	}
	return docFromHMGet(id, vals)
}

// GetMany reads the documents with one pipeline of HMGETs: one round trip.
// (A document is a hash, version and data, so MGET does not apply.)
func (s *backend) GetMany(ctx context.Context, collection string, ids []string) ([]store.Doc, error) {
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.docKeys(collection, id)[0], "v", "data")
		}
		return nil
	})
	if err != nil {
		return nil, unavail(err)
	}
	out := make([]store.Doc, len(ids))
	for i, c := range cmds {
		d, err := docFromHMGet(ids[i], c.Val())
		if errors.Is(err, store.ErrNotFound) {
			d, err = store.Doc{ID: ids[i]}, nil
		}
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// docFromHMGet reads the reply to HMGET doc v data (Get, and Read's
// queries).
func docFromHMGet(id string, vals []any) (store.Doc, error) {
	if len(vals) != 2 {
		return store.Doc{}, fmt.Errorf("%w: document reply of %d values", store.ErrCorrupt, len(vals))
	}
	vs, ok := vals[0].(string)
	if !ok {
		return store.Doc{}, store.ErrNotFound
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	data, dok := vals[1].(string)
	if err != nil || !dok || v < 1 {
		return store.Doc{}, fmt.Errorf("%w: version %q", store.ErrCorrupt, vs)
	}
	return store.Doc{ID: id, Version: v, Data: []byte(data)}, nil
}

// casResult reads the {ok, version} reply of the document scripts.
func casResult(res any) (bool, int64, error) {
	r, ok := res.([]any)
	if !ok || len(r) != 2 {
		return false, 0, fmt.Errorf("%w: unexpected script reply %v", store.ErrCorrupt, res)
	}
	okv, _ := r[0].(int64)
	v, _ := r[1].(int64)
	return okv == 1, v, nil
}

// runCAS runs putScript or deleteScript and turns a refused version check
// into a *store.ConflictError.
func (s *backend) runCAS(ctx context.Context, script *redis.Script, collection, id string, expect int64, args ...any) (int64, error) {
	keys := append(s.docKeys(collection, id), s.stampsKey())
	args = append(args, store.StampField(collection, ""))
	res, err := script.Run(ctx, s.c, keys, args...).Result()
	if err != nil {
		return 0, unavail(err)
	}
	ok, v, err := casResult(res)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, &store.ConflictError{Collection: collection, ID: id, Expected: expect, Have: v}
	}
	return v, nil
}

// Put writes a document under the compare-and-swap rule.
func (s *backend) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	return s.runCAS(ctx, putScript, collection, id, expect, expect, data, id)
}

// Delete removes a document under the compare-and-swap rule.
func (s *backend) Delete(ctx context.Context, collection, id string, expect int64) error {
	_, err := s.runCAS(ctx, deleteScript, collection, id, expect, expect, id)
	return err
}

// List returns the ids of a collection, sorted.
func (s *backend) List(ctx context.Context, collection string) ([]string, error) {
	ids, err := s.c.SMembers(ctx, s.docKeys(collection, "")[1]).Result()
	if err != nil {
		return nil, unavail(err)
	}
	slices.Sort(ids)
	return ids, nil
}
