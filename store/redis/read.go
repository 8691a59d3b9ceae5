package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

// docsScript reads documents with their stamps at one instant. KEYS:
// stamps, the collection's ids, and the set (when reading a set's
// members). ARGV: the document key prefix ("{P}:doc:C:d:"), the
// collection's stamp field, the set's stamp field or "". The document keys
// are not in KEYS (their ids are only known inside), which Redis Cluster
// allows because they carry the same hash tag as KEYS. Returns {collection
// stamp, set stamp, id1, version1, data1, ...}.
var docsScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], ARGV[2], ARGV[3])
local ids
if #KEYS == 3 then ids = redis.call('SMEMBERS', KEYS[3]) else ids = redis.call('SMEMBERS', KEYS[2]) end
local out = {st[1] or '0', st[2] or '0'}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', ARGV[1] .. id, 'v', 'data')
  if h[1] then
    out[#out + 1] = id
    out[#out + 1] = h[1]
    out[#out + 1] = h[2] or ''
  end
end
return out`)

// scriptCall is a script and its arguments, so a NOSCRIPT answer in the
// pipeline can be run again alone.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// Read sends every query in one pipeline (one round trip). Scripts go as
// EVALSHA; after a Redis restart emptied the script cache, the scripts
// that answered NOSCRIPT (and so did not run) are run again one by one,
// which loads them.
func (s *backend) Read(ctx context.Context, qs ...store.Query) ([]store.Answer, error) {
	cmds := make([]redis.Cmder, len(qs))
	calls := make([]*scriptCall, len(qs))
	// Every stamp asked for is read with one HMGET.
	var stampFields []string
	stampAt := make([]int, len(qs))
	var stamps *redis.SliceCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range qs {
			if q.Kind() == store.QueryStamp {
				stampAt[i] = len(stampFields)
				stampFields = append(stampFields, store.StampField(q.Name(), q.Set()))
				continue
			}
			cmds[i], calls[i] = s.queue(ctx, p, q)
		}
		if len(stampFields) > 0 {
			stamps = p.HMGet(ctx, s.stampsKey(), stampFields...)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) && !isNoScript(err) {
		// A failed pipeline reports the first failed command; a
		// connection error fails them all.
		return nil, unavail(err)
	}
	answers := make([]store.Answer, len(qs))
	for i, q := range qs {
		if q.Kind() == store.QueryStamp {
			v, err := replyStamp(stamps.Val()[stampAt[i]])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
			answers[i].Stamp = v
			continue
		}
		cmd := cmds[i]
		if c := calls[i]; c != nil && isNoScript(cmd.Err()) {
			cmd = c.script.Run(ctx, s.c, c.keys, c.args...)
		}
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("%s: %w", q, unavail(err))
		}
		a, err := s.answer(q, cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		answers[i] = a
	}
	return answers, nil
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// queue adds q's command to the pipeline.
func (s *backend) queue(ctx context.Context, p redis.Pipeliner, q store.Query) (redis.Cmder, *scriptCall) {
	switch q.Kind() {
	case store.QueryMarkSeen:
		c := &scriptCall{script: markSeenScript, keys: []string{s.key("seen", q.Name())}, args: markSeenArgs(q.Now(), q.TTL())}
		return c.script.EvalSha(ctx, p, c.keys, c.args...), c
	case store.QueryGet:
		return p.HMGet(ctx, s.docKeys(q.Name(), q.ID())[0], "v", "data"), nil
	default: // store.QueryDocs; Validating rejects the rest
		dk := s.docKeys(q.Name(), "")
		c := &scriptCall{script: docsScript, keys: []string{s.stampsKey(), dk[1]}}
		setField := ""
		if q.Set() != "" {
			c.keys = append(c.keys, s.setKey(q.Set()))
			setField = store.StampField("", q.Set())
		}
		c.args = []any{dk[0], store.StampField(q.Name(), ""), setField}
		return c.script.EvalSha(ctx, p, c.keys, c.args...), c
	}
}

// answer reads q's reply.
func (s *backend) answer(q store.Query, cmd redis.Cmder) (store.Answer, error) {
	var a store.Answer
	switch q.Kind() {
	case store.QueryMarkSeen:
		n, err := cmd.(*redis.Cmd).Int()
		a.First = n == 1
		return a, err
	case store.QueryGet:
		d, err := docFromHMGet(q.ID(), cmd.(*redis.SliceCmd).Val())
		if errors.Is(err, store.ErrNotFound) {
			a.Err = fmt.Errorf("%s: %w", q, err)
			return a, nil
		}
		a.Doc = d
		return a, err
	}
	vals, err := cmd.(*redis.Cmd).Slice()
	if err != nil || len(vals) < 2 || (len(vals)-2)%3 != 0 {
		return a, fmt.Errorf("%w: unexpected script reply (%d values, %v)", store.ErrCorrupt, len(vals), err)
	}
	if a.Stamp, err = replyInt(vals[0]); err == nil {
		a.SetStamp, err = replyInt(vals[1])
	}
	if err != nil {
		return a, err
	}
	a.Docs = make([]store.Doc, 0, (len(vals)-2)/3)
	for i := 2; i < len(vals); i += 3 {
		id, _ := vals[i].(string)
		d, err := docFromHMGet(id, vals[i+1:i+3])
		if err != nil {
			return a, err
		}
		a.Docs = append(a.Docs, d)
	}
	slices.SortFunc(a.Docs, func(x, y store.Doc) int { return strings.Compare(x.ID, y.ID) })
	return a, nil
}

// replyStamp reads a stamp of an HMGET reply: nil (never bumped) is 0.
func replyStamp(v any) (int64, error) {
	if v == nil {
		return 0, nil
	}
	return replyInt(v)
}

func replyInt(v any) (int64, error) {
	s, _ := v.(string)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: stamp %q", store.ErrCorrupt, s)
	}
	return n, nil
}
