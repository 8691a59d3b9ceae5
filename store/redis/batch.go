package redisstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

// applyScript applies a batch: KEYS are every key the batch touches (each
// once); ARGV[1..#KEYS] is the Redis type each key must have if it exists,
// and the ops follow, each as a tag and its fields:
//
//	p kdoc kids expect data id    PutOp
//	d kdoc kids expect id         DeleteOp
//	s kset n member...            SetAddOp
//	r kset n member...            SetRemoveOp
//	q kz kdue kheld key due       ScheduleOp
//	u kz kdue kheld key           UnscheduleOp
//	a kstream data                AppendOp (XADD with a new id)
//	b kstamps field               bump a stamp (one per collection or set written)
//
// (k... are indexes into KEYS). It reads first and writes only when every
// check passed, so a conflict leaves everything untouched:
//
//  1. every key must be absent or of its expected type, so no write of
//     phase 3 can fail with WRONGTYPE halfway (Redis does not roll a script
//     back: a write that ran stays);
//  2. every version condition is checked, with the versions the batch's
//     earlier ops leave (ver[] holds the simulated version per document);
//  3. the writes run, in order.
//
// Returns {1, v1, ..., vn} (the new version of each PutOp, 0 for others),
// {0, op, have} for a version conflict at op (1-based), or {-1, key index}
// for a key of the wrong type or a stored version that is not a number.
var applyScript = redis.NewScript(`
local nk = #KEYS
for i = 1, nk do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= ARGV[i] then return {-1, i} end
end
local ops = {}
local a = nk + 1
while a <= #ARGV do
  local o = {tag = ARGV[a]}
  local t = o.tag
  if t == 'p' then
    o.k, o.ids, o.expect, o.data, o.id = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), ARGV[a+4], ARGV[a+5]
    a = a + 6
  elseif t == 'd' then
    o.k, o.ids, o.expect, o.id = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), ARGV[a+4]
    a = a + 5
  elseif t == 's' or t == 'r' then
    o.k = tonumber(ARGV[a+1])
    local n = tonumber(ARGV[a+2])
    o.members = {}
    for j = 1, n do o.members[j] = ARGV[a+2+j] end
    a = a + 3 + n
  elseif t == 'q' then
    o.z, o.due, o.held, o.key, o.at = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), ARGV[a+4], ARGV[a+5]
    a = a + 6
  elseif t == 'u' then
    o.z, o.due, o.held, o.key = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), ARGV[a+4]
    a = a + 5
  elseif t == 'a' or t == 'b' then
    o.k, o.field = tonumber(ARGV[a+1]), ARGV[a+2]
    a = a + 3
  else
    return redis.error_reply('vigil apply: unknown op tag ' .. tostring(t))
  end
  ops[#ops + 1] = o
end
-- unpack is limited by Lua's C stack (about 8000 values), so members go
-- in chunks; a failed unpack in phase 3 would leave a half-applied batch.
local function chunked(cmd, key, members)
  for j = 1, #members, 1000 do
    redis.call(cmd, key, unpack(members, j, math.min(j + 999, #members)))
  end
end
local ver = {}
local out = {1}
for i, o in ipairs(ops) do
  out[i + 1] = 0
  if o.tag == 'p' or o.tag == 'd' then
    local have = ver[o.k]
    if have == nil then
      local s = redis.call('HGET', KEYS[o.k], 'v')
      have = 0
      if s then
        have = tonumber(s)
        if have == nil then return {-1, o.k} end
      end
    end
    if o.tag == 'd' and have == 0 and o.expect == -1 then
      o.noop = true
    elseif o.expect ~= -1 and o.expect ~= have then
      return {0, i, have}
    end
    if o.tag == 'p' then
      ver[o.k] = have + 1
      out[i + 1] = have + 1
    else
      ver[o.k] = 0
    end
  end
end
for i, o in ipairs(ops) do
  local t = o.tag
  if t == 'p' then
    redis.call('HSET', KEYS[o.k], 'v', string.format('%d', out[i + 1]), 'data', o.data)
    redis.call('SADD', KEYS[o.ids], o.id)
  elseif t == 'd' then
    if not o.noop then
      redis.call('DEL', KEYS[o.k])
      redis.call('SREM', KEYS[o.ids], o.id)
    end
  elseif t == 's' then
    chunked('SADD', KEYS[o.k], o.members)
  elseif t == 'r' then
    chunked('SREM', KEYS[o.k], o.members)
  elseif t == 'q' then
    redis.call('ZADD', KEYS[o.z], o.at, o.key)
    redis.call('HSET', KEYS[o.due], o.key, o.at)
    redis.call('HDEL', KEYS[o.held], o.key)
  elseif t == 'u' then
    redis.call('ZREM', KEYS[o.z], o.key)
    redis.call('HDEL', KEYS[o.due], o.key)
    redis.call('HDEL', KEYS[o.held], o.key)
  elseif t == 'a' then
    redis.call('XADD', KEYS[o.k], '*', 'd', o.field)
  elseif t == 'b' then
    redis.call('HINCRBY', KEYS[o.k], o.field, 1)
  end
end
local res = {1}
for i, o in ipairs(ops) do
  if o.tag ~= 'b' then res[#res + 1] = out[i + 1] end
end
return res`)

// batchArgs collects the KEYS and ARGV of applyScript.
type batchArgs struct {
	keys  []string
	types []any
	index map[string]int // key -> 1-based index into keys
	ops   []any
}

// key returns the 1-based KEYS index of k, adding it on first use.
func (b *batchArgs) key(k, redisType string) int {
	if i, ok := b.index[k]; ok {
		return i
	}
	b.keys = append(b.keys, k)
	b.types = append(b.types, redisType)
	b.index[k] = len(b.keys)
	return len(b.keys)
}

// Apply applies ops in one Lua script, all or nothing; see applyScript.
func (s *backend) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	versions := make([]int64, len(ops))
	b := batchArgs{index: map[string]int{}}
	var stamps []string // the stamps the batch bumps, each once
	for _, o := range ops {
		if field := stampOf(o); field != "" && !slices.Contains(stamps, field) {
			stamps = append(stamps, field)
		}
		switch o.Kind() {
		case store.OpPut, store.OpDelete:
			dk := s.docKeys(o.Name(), o.Key())
			kd, ki := b.key(dk[0], "hash"), b.key(dk[1], "set")
			if o.Kind() == store.OpPut {
				b.ops = append(b.ops, "p", kd, ki, o.Expect(), o.Data(), o.Key())
			} else {
				b.ops = append(b.ops, "d", kd, ki, o.Expect(), o.Key())
			}
		case store.OpSetAdd, store.OpSetRemove:
			tag := "s"
			if o.Kind() == store.OpSetRemove {
				tag = "r"
			}
			b.ops = append(b.ops, tag, b.key(s.setKey(o.Name()), "set"), len(o.Members()))
			b.ops = append(b.ops, anys(o.Members())...)
		case store.OpSchedule, store.OpUnschedule:
			qk := s.queueKeys(o.Name())
			kz, kdue, kheld := b.key(qk[0], "zset"), b.key(qk[1], "hash"), b.key(qk[2], "hash")
			if o.Kind() == store.OpSchedule {
				b.ops = append(b.ops, "q", kz, kdue, kheld, o.Key(), msArg(o.Due()))
			} else {
				b.ops = append(b.ops, "u", kz, kdue, kheld, o.Key())
			}
		case store.OpAppend:
			// The same stream and field as Append, so ReadLog reads it.
			b.ops = append(b.ops, "a", b.key(s.key("log", o.Name()), "stream"), o.Data())
		}
	}
	for _, field := range stamps {
		b.ops = append(b.ops, "b", b.key(s.stampsKey(), "hash"), field)
	}
	res, err := s.runBatch(ctx, b.keys, append(b.types, b.ops...))
	if err != nil {
		return nil, unavail(err)
	}
	status, _ := res[0].(int64)
	switch {
	case status == 1 && len(res) == len(ops)+1:
		for i := range ops {
			versions[i], _ = res[i+1].(int64)
		}
		return versions, nil
	case status == 0 && len(res) == 3:
		i, _ := res[1].(int64)
		have, _ := res[2].(int64)
		if i < 1 || int(i) > len(ops) {
			break
		}
		o := ops[i-1]
		return nil, &store.ConflictError{
			Collection: o.Name(), ID: o.Key(), Expected: o.Expect(), Have: have, Op: int(i),
		}
	case status == -1 && len(res) == 2:
		k, _ := res[1].(int64)
		if k >= 1 && int(k) <= len(b.keys) {
			return nil, fmt.Errorf("%w: key %s holds another type or an unreadable version; nothing was written", store.ErrCorrupt, b.keys[k-1])
		}
	}
	return nil, fmt.Errorf("%w: unexpected script reply %v", store.ErrCorrupt, res)
}

// runBatch runs applyScript and, when the store waits for replicas, WAIT
// after it on the same connection.
func (s *backend) runBatch(ctx context.Context, keys []string, args []any) ([]any, error) {
	if s.wait == 0 {
		return applyScript.Run(ctx, s.c, keys, args...).Slice()
	}
	res, acked, err := s.runAndWait(ctx, applyScript, keys, args...)
	if err != nil {
		return nil, err
	}
	if acked < int64(s.wait) {
		s.log.WarnContext(ctx, "redis: a batch is written on the master but not yet on its replicas; a failover now would lose it",
			"replicas_wanted", s.wait, "replicas_acked", acked, "wait_timeout", s.waitTimeout)
	}
	out, ok := res.([]any)
	if !ok || len(out) == 0 {
		return nil, fmt.Errorf("%w: unexpected script reply %v", store.ErrCorrupt, res)
	}
	return out, nil
}

// stampOf names the stamp an op bumps: its collection's or set's; none for
// queue ops.
func stampOf(o store.Op) string {
	switch o.Kind() {
	case store.OpPut, store.OpDelete:
		return store.StampField(o.Name(), "")
	case store.OpSetAdd, store.OpSetRemove:
		return store.StampField("", o.Name())
	}
	return ""
}
