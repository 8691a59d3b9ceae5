// Package redisstore implements store.Store on Redis (go-redis v9), using
// Redis' native types and Lua scripts for every read-modify-write.
//
// # URL forms
//
// Options.URL selects the deployment:
//
//	redis://[user:password@]host[:port][/db][?option=value...]    one server
//	rediss://...                                                   one server over TLS
//	unix://[user:password@]/path/to/redis.sock[?db=N]             one server, unix socket
//	redis+sentinel://[user:password@]host:port[,host:port...]/master[/db]
//	redis+sentinel://[user:password@]host:port[/db]?master_name=NAME[&addr=host2:port...]
//	rediss+sentinel://...                                          Sentinel, TLS
//	redis+cluster://[user:password@]host:port[,host:port...]
//	redis+cluster://[user:password@]host:port[?addr=host2:port...] Redis Cluster
//	rediss+cluster://...                                           Cluster, TLS
//
// The part after the "+sentinel"/"+cluster" marker is what go-redis'
// ParseFailoverURL and ParseClusterURL read; their query options
// (dial_timeout, pool_size, ...) are accepted. For Sentinel the userinfo
// authenticates to the sentinels and the query options username= and
// password= to the data nodes. Port defaults to 6379.
//
// # Keys
//
// Every key starts with the hash tag {P}, P being Options.Prefix (default
// "vigil"), so all keys of a deployment share one Redis Cluster slot and a
// script may touch any of them; Apply's batches span collections, sets and
// queues. Names in the middle of a key are escaped (% and : percent-encoded)
// so that a name can never reach into the next part; the document id comes
// last and is used as it is. Braces in names are harmless: Cluster hashes
// only the first {...}, the prefix.
//
//	{P}:doc:C:ids        SET    ids of collection C
//	{P}:doc:C:d:ID       HASH   v (version), data
//	{P}:set:S            SET    members
//	{P}:queue:Q:z        ZSET   key -> when it next becomes claimable (unix ms)
//	{P}:queue:Q:due      HASH   key -> original due time (unix ms)
//	{P}:queue:Q:held     HASH   key -> ClaimedUntil of the current claim (unix ms)
//	{P}:lease:L          HASH   h (holder), u (expiry, unix ms)
//	{P}:seen:K           STRING logical expiry (unix ms), PX ttl+1m for collection
//	{P}:log:L            STREAM entries with one field, d
//	{P}:counter:N        STRING the counter (INCR)
//
// Until the counters and batches arrived, each name had its own hash tag
// (P:{doc:C}:...). Vigil had no deployments then, so there is no migration:
// a store written with the old layout is simply not seen by this version.
//
// Leases and seen keys compare their expiry with the caller's clock (the
// `now` argument) inside Lua, never with Redis' clock, so a fake clock drives
// them exactly as the wall clock does.
package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

var _ store.Store = (*Store)(nil)

const (
	// DefaultPrefix is used when Options.Prefix is empty.
	DefaultPrefix = "vigil"
	// DefaultTimeout bounds dialing, reads and writes, so a dead Redis is a
	// prompt ErrUnavailable rather than a hang.
	DefaultTimeout = 2 * time.Second
	// seenGCSlack is added to the real PX of a seen key. The logical expiry
	// decides; the PX only collects garbage, and the slack keeps a record
	// alive while the caller's clock (or a replica's skewed one) still
	// considers it live.
	seenGCSlack = time.Minute
)

// Options configure a Store.
type Options struct {
	// URL of the Redis deployment; see the package documentation.
	URL string
	// Prefix for every key; DefaultPrefix when empty.
	Prefix string
	// Timeout for dial, read and write; DefaultTimeout when zero. Timeouts
	// given in the URL's query take precedence.
	Timeout time.Duration
}

// Store is a store.Store on Redis.
type Store struct {
	c      redis.UniversalClient
	prefix string
	desc   string
}

// Deployment modes.
const (
	modeSingle   = "server"
	modeSentinel = "sentinel"
	modeCluster  = "cluster"
)

// config is what New builds a client from.
type config struct {
	mode     string
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// New checks opts and builds the client. It does no I/O: call Ping to find
// out whether Redis is there.
func New(opts Options) (*Store, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}\x00") {
		return nil, fmt.Errorf("redis: %w: prefix %q must not contain '{', '}' or NUL (it is the cluster hash tag of every key)", store.ErrInvalid, prefix)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("redis: %w: negative timeout %v", store.ErrInvalid, timeout)
	}
	cfg, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	cfg.applyTimeouts(timeout)
	s := &Store{prefix: prefix, desc: cfg.describe() + " prefix " + prefix}
	switch cfg.mode {
	case modeSentinel:
		s.c = redis.NewFailoverClient(cfg.failover)
	case modeCluster:
		s.c = redis.NewClusterClient(cfg.cluster)
	default:
		s.c = redis.NewClient(cfg.single)
	}
	return s, nil
}

// parseURL turns Options.URL into client options. Its errors never contain
// the URL itself, which may carry a password.
func parseURL(raw string) (*config, error) {
	if raw == "" {
		return nil, fmt.Errorf("redis: %w: empty URL", store.ErrInvalid)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("redis: %w: URL has no scheme (want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://)", store.ErrInvalid)
	}
	base, marker, _ := strings.Cut(strings.ToLower(scheme), "+")
	inner := base + "://" + rest
	var (
		cfg = &config{}
		err error
	)
	switch {
	case marker == "" && (base == "redis" || base == "rediss" || base == "unix"):
		cfg.mode = modeSingle
		cfg.single, err = redis.ParseURL(inner)
	case marker == "sentinel" && (base == "redis" || base == "rediss"):
		cfg.mode = modeSentinel
		if inner, err = hostListToQuery(inner, true); err != nil {
			break
		}
		cfg.failover, err = redis.ParseFailoverURL(inner)
		if err == nil && cfg.failover.MasterName == "" {
			err = errors.New("a sentinel URL needs ?master_name=NAME")
		}
	case marker == "cluster" && (base == "redis" || base == "rediss"):
		cfg.mode = modeCluster
		if inner, err = hostListToQuery(inner, false); err != nil {
			break
		}
		cfg.cluster, err = redis.ParseClusterURL(inner)
	default:
		return nil, fmt.Errorf("redis: %w: unsupported URL scheme %q (want redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster)", store.ErrInvalid, scheme)
	}
	if err != nil {
		// url.Error repeats the whole URL; keep only the reason.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis: %w: bad %s URL: %w", store.ErrInvalid, scheme, err)
	}
	return cfg, nil
}

// hostListToQuery accepts the friendlier form the configuration documents,
// host1:port,host2:port[/master[/db]], and rewrites it into the form
// go-redis parses: the first host, the others as addr= options and the
// sentinel master as master_name=. URLs already in go-redis' form pass
// through unchanged.
func hostListToQuery(inner string, sentinel bool) (string, error) {
	// url.Parse refuses a comma-separated host list, so split it off first.
	scheme, rest, _ := strings.Cut(inner, "://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostList := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hostList = authority[:at+1], authority[at+1:]
	}
	hosts := strings.Split(hostList, ",")
	u, err := url.Parse(scheme + "://" + userinfo + hosts[0] + tail)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for _, h := range hosts[1:] {
		if h == "" {
			return "", errors.New("empty host in the host list")
		}
		q.Add("addr", h)
	}
	if sentinel && q.Get("master_name") == "" {
		master, db, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if master != "" {
			q.Set("master_name", master)
			u.Path = ""
			if db != "" {
				u.Path = "/" + db
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *config) applyTimeouts(d time.Duration) {
	set := func(p *time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	switch c.mode {
	case modeSentinel:
		o := c.failover
		set(&o.DialTimeout)
		set(&o.ReadTimeout)
		set(&o.WriteTimeout)
		set(&o.PoolTimeout)
		o.ContextTimeoutEnabled = true
		limitRetries(&o.MaxRetries, &o.DialerRetries)
	case modeCluster:
		o := c.cluster
		set(&o.DialTimeout)
		set(&o.ReadTimeout)
		set(&o.WriteTimeout)
		set(&o.PoolTimeout)
		o.ContextTimeoutEnabled = true
		limitRetries(&o.MaxRetries, &o.DialerRetries)
	default:
		o := c.single
		set(&o.DialTimeout)
		set(&o.ReadTimeout)
		set(&o.WriteTimeout)
		set(&o.PoolTimeout)
		o.ContextTimeoutEnabled = true
		limitRetries(&o.MaxRetries, &o.DialerRetries)
	}
}

// limitRetries keeps go-redis from multiplying the timeout: by default it
// retries a command 3 times and each dial 5 times. One command retry is
// kept so a connection broken by a Redis restart is replaced transparently;
// the engine's outbox and scheduler own any longer retrying.
func limitRetries(cmd, dial *int) {
	if *cmd == 0 {
		*cmd = 1
	}
	if *dial == 0 {
		*dial = 1
	}
}

// describe names the deployment without credentials.
func (c *config) describe() string {
	tlsOn := func(t *tls.Config) string {
		if t != nil {
			return " (TLS)"
		}
		return ""
	}
	switch c.mode {
	case modeSentinel:
		o := c.failover
		return fmt.Sprintf("redis sentinel master %q via %s db %d%s", o.MasterName, strings.Join(o.SentinelAddrs, ","), o.DB, tlsOn(o.TLSConfig))
	case modeCluster:
		o := c.cluster
		return fmt.Sprintf("redis cluster %s%s", strings.Join(o.Addrs, ","), tlsOn(o.TLSConfig))
	default:
		o := c.single
		if o.Network == "unix" {
			return fmt.Sprintf("redis unix socket %s db %d", o.Addr, o.DB)
		}
		return fmt.Sprintf("redis %s db %d%s", o.Addr, o.DB, tlsOn(o.TLSConfig))
	}
}

// Describe names the deployment and prefix, never credentials.
func (s *Store) Describe() string { return s.desc }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail("ping", s.c.Ping(ctx).Err())
}

// Close closes the client's connections.
func (s *Store) Close() error {
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// fail wraps a client error with the operation, and marks errors that mean
// "Redis cannot be reached or cannot serve right now" as ErrUnavailable.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("redis: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

func unavailable(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up; Redis may be fine.
		return false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.As(err, &netErr):
		return true
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsClusterDownError(err),
		redis.IsTryAgainError(err), redis.IsMasterDownError(err), redis.IsMaxClientsError(err),
		redis.IsNoReplicasError(err):
		return true
	}
	// Sentinel discovery reports its failures as plain errors.
	msg := err.Error()
	return strings.Contains(msg, "all sentinels") || strings.Contains(msg, "no sentinels")
}

// ---- keys ----

// esc makes a name safe as a middle part of a key: no ':' can end it early,
// and distinct names stay distinct ('%' is escaped too, so the encoding is
// reversible). Braces need no escaping: Redis Cluster hashes only the first
// {...} of a key, which is always the {prefix} in front.
func esc(name string) string {
	if !strings.ContainsAny(name, "%:") {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// key builds "{prefix}:kind:name". Every key of one deployment carries the
// same hash tag, {prefix}, so all of them live in one Redis Cluster slot and
// any script (Apply above all, whose batch may span collections, sets and
// queues) may touch any set of keys. Vigil's whole dataset is small enough
// for one node; what it needs from Cluster is failover, not sharding.
func (s *Store) key(kind, name string) string {
	return "{" + s.prefix + "}:" + kind + ":" + esc(name)
}

func (s *Store) docKeys(coll, id string) []string {
	c := s.key("doc", coll)
	return []string{c + ":d:" + id, c + ":ids"}
}

func (s *Store) setKey(set string) string { return s.key("set", set) }

func (s *Store) counterKey(name string) string { return s.key("counter", name) }

func (s *Store) queueKeys(q string) []string {
	k := s.key("queue", q)
	return []string{k + ":z", k + ":due", k + ":held"}
}

func msArg(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// expiry adds a ttl or hold in milliseconds, rounding a sub-millisecond
// remainder up so a positive duration always counts.
func expiry(now time.Time, d time.Duration) int64 {
	u := now.UnixMilli() + d.Milliseconds()
	if d%time.Millisecond != 0 {
		u++
	}
	return u
}

func invalid(op string, err error) error { return fmt.Errorf("redis: %s: %w", op, err) }

// ---- documents ----

var (
	// KEYS: doc, ids. ARGV: expect, data, id. Returns {ok, version}.
	putScript = redis.NewScript(`
local have = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local expect = tonumber(ARGV[1])
if expect ~= -1 and expect ~= have then return {0, have} end
local v = have + 1
redis.call('HSET', KEYS[1], 'v', string.format('%d', v), 'data', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return {1, v}`)

	// KEYS: doc, ids. ARGV: expect, id. Returns {ok, version}.
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
return {1, have}`)
)

// Get returns a document.
func (s *Store) Get(ctx context.Context, collection, id string) (store.Doc, error) {
	op := "get docs/" + collection + "/" + id
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return store.Doc{}, invalid(op, err)
	}
	vals, err := s.c.HMGet(ctx, s.docKeys(collection, id)[0], "v", "data").Result()
	if err != nil {
		return store.Doc{}, s.fail(op, err)
	}
	vs, ok := vals[0].(string)
	if !ok {
		return store.Doc{}, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	data, dok := vals[1].(string)
	if err != nil || !dok {
		return store.Doc{}, fmt.Errorf("redis: %s: %w: version %q", op, store.ErrCorrupt, vs)
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

// Put writes a document under the compare-and-swap rule.
func (s *Store) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	op := "put docs/" + collection + "/" + id
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return 0, invalid(op, err)
	}
	if err := store.CheckExpect(expect, false); err != nil {
		return 0, invalid(op, err)
	}
	res, err := putScript.Run(ctx, s.c, s.docKeys(collection, id), expect, data, id).Result()
	if err != nil {
		return 0, s.fail(op, err)
	}
	ok, v, err := casResult(res)
	if err != nil {
		return 0, fmt.Errorf("redis: %s: %w", op, err)
	}
	if !ok {
		return 0, fmt.Errorf("redis: %s: %w", op, &store.ConflictError{Collection: collection, ID: id, Expected: expect, Have: v})
	}
	return v, nil
}

// Delete removes a document under the compare-and-swap rule.
func (s *Store) Delete(ctx context.Context, collection, id string, expect int64) error {
	op := "delete docs/" + collection + "/" + id
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return invalid(op, err)
	}
	if err := store.CheckExpect(expect, true); err != nil {
		return invalid(op, err)
	}
	res, err := deleteScript.Run(ctx, s.c, s.docKeys(collection, id), expect, id).Result()
	if err != nil {
		return s.fail(op, err)
	}
	ok, v, err := casResult(res)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if !ok {
		return fmt.Errorf("redis: %s: %w", op, &store.ConflictError{Collection: collection, ID: id, Expected: expect, Have: v})
	}
	return nil
}

// List returns the ids of a collection, sorted.
func (s *Store) List(ctx context.Context, collection string) ([]string, error) {
	op := "list docs/" + collection
	if err := store.ValidNames("collection", collection); err != nil {
		return nil, invalid(op, err)
	}
	ids, err := s.c.SMembers(ctx, s.docKeys(collection, "")[1]).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// ---- sets ----

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// SetAdd adds members to a set.
func (s *Store) SetAdd(ctx context.Context, set string, members ...string) error {
	op := "set add " + set
	if err := store.ValidNames("set", set); err != nil {
		return invalid(op, err)
	}
	if err := store.ValidMembers(members); err != nil {
		return invalid(op, err)
	}
	if len(members) == 0 {
		return nil
	}
	return s.fail(op, s.c.SAdd(ctx, s.setKey(set), anys(members)...).Err())
}

// SetRemove removes members from a set.
func (s *Store) SetRemove(ctx context.Context, set string, members ...string) error {
	op := "set remove " + set
	if err := store.ValidNames("set", set); err != nil {
		return invalid(op, err)
	}
	if err := store.ValidMembers(members); err != nil {
		return invalid(op, err)
	}
	if len(members) == 0 {
		return nil
	}
	return s.fail(op, s.c.SRem(ctx, s.setKey(set), anys(members)...).Err())
}

// SetMembers returns the members, sorted.
func (s *Store) SetMembers(ctx context.Context, set string) ([]string, error) {
	op := "set members " + set
	if err := store.ValidNames("set", set); err != nil {
		return nil, invalid(op, err)
	}
	m, err := s.c.SMembers(ctx, s.setKey(set)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	slices.Sort(m)
	return m, nil
}

// SetContains reports whether member is in set.
func (s *Store) SetContains(ctx context.Context, set, member string) (bool, error) {
	op := "set contains " + set
	if err := store.ValidNames("set", set, "member", member); err != nil {
		return false, invalid(op, err)
	}
	ok, err := s.c.SIsMember(ctx, s.setKey(set), member).Result()
	return ok, s.fail(op, err)
}

// ---- queues ----

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
func (s *Store) Schedule(ctx context.Context, queue, key string, due time.Time) error {
	op := "schedule " + queue + "/" + key
	if err := store.ValidNames("queue", queue, "key", key); err != nil {
		return invalid(op, err)
	}
	return s.fail(op, scheduleScript.Run(ctx, s.c, s.queueKeys(queue), key, msArg(due)).Err())
}

// Unschedule removes key.
func (s *Store) Unschedule(ctx context.Context, queue, key string) error {
	op := "unschedule " + queue + "/" + key
	if err := store.ValidNames("queue", queue, "key", key); err != nil {
		return invalid(op, err)
	}
	return s.fail(op, unscheduleScript.Run(ctx, s.c, s.queueKeys(queue), key).Err())
}

// ClaimDue atomically claims up to limit items due at or before now.
func (s *Store) ClaimDue(ctx context.Context, queue string, now time.Time, hold time.Duration, limit int) ([]store.Claim, error) {
	op := "claim " + queue
	if err := store.ValidNames("queue", queue); err != nil {
		return nil, invalid(op, err)
	}
	if hold <= 0 || limit < 0 {
		return nil, fmt.Errorf("redis: %s: %w: hold %v, limit %d", op, store.ErrInvalid, hold, limit)
	}
	if limit == 0 {
		return nil, nil
	}
	until := expiry(now, hold)
	res, err := claimScript.Run(ctx, s.c, s.queueKeys(queue), msArg(now), until, limit).StringSlice()
	if err != nil {
		return nil, s.fail(op, err)
	}
	claims := make([]store.Claim, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		due, err := strconv.ParseInt(res[i+1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w: due time %q", op, store.ErrCorrupt, res[i+1])
		}
		claims = append(claims, store.Claim{Key: res[i], Due: time.UnixMilli(due), ClaimedUntil: time.UnixMilli(until)})
	}
	return claims, nil
}

// Complete removes a claimed item if that claim still holds it.
func (s *Store) Complete(ctx context.Context, queue string, c store.Claim) (bool, error) {
	op := "complete " + queue + "/" + c.Key
	if err := store.ValidNames("queue", queue, "key", c.Key); err != nil {
		return false, invalid(op, err)
	}
	n, err := completeScript.Run(ctx, s.c, s.queueKeys(queue), c.Key, msArg(c.ClaimedUntil)).Int()
	if err != nil {
		return false, s.fail(op, err)
	}
	return n == 1, nil
}

// NextDue returns the item that next becomes claimable.
func (s *Store) NextDue(ctx context.Context, queue string) (store.DueItem, bool, error) {
	items, err := s.pending(ctx, "next due "+queue, queue, 1)
	if err != nil || len(items) == 0 {
		return store.DueItem{}, false, err
	}
	return items[0], true, nil
}

// Pending lists up to limit items in the order they become claimable.
func (s *Store) Pending(ctx context.Context, queue string, limit int) ([]store.DueItem, error) {
	return s.pending(ctx, "pending "+queue, queue, limit)
}

func (s *Store) pending(ctx context.Context, op, queue string, limit int) ([]store.DueItem, error) {
	if err := store.ValidNames("queue", queue); err != nil {
		return nil, invalid(op, err)
	}
	if limit < 0 {
		return nil, fmt.Errorf("redis: %s: %w: limit %d", op, store.ErrInvalid, limit)
	}
	if limit == 0 {
		return nil, nil
	}
	zs, err := s.c.ZRangeWithScores(ctx, s.queueKeys(queue)[0], 0, int64(limit-1)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]store.DueItem, len(zs))
	for i, z := range zs {
		key, _ := z.Member.(string)
		out[i] = store.DueItem{Key: key, Due: time.UnixMilli(int64(z.Score))}
	}
	return out, nil
}

// ---- leases ----

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

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl %v", store.ErrInvalid, ttl)
	}
	return nil
}

// AcquireLease takes or renews a lease.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	op := "acquire lease " + name
	if err := store.ValidNames("lease", name, "holder", holder); err != nil {
		return false, invalid(op, err)
	}
	if err := checkTTL(ttl); err != nil {
		return false, invalid(op, err)
	}
	n, err := acquireScript.Run(ctx, s.c, []string{s.key("lease", name)}, holder, msArg(now), expiry(now, ttl)).Int()
	if err != nil {
		return false, s.fail(op, err)
	}
	return n == 1, nil
}

// ReleaseLease frees the lease if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	op := "release lease " + name
	if err := store.ValidNames("lease", name, "holder", holder); err != nil {
		return invalid(op, err)
	}
	return s.fail(op, releaseScript.Run(ctx, s.c, []string{s.key("lease", name)}, holder).Err())
}

// LeaseHolder returns who holds the lease at now.
func (s *Store) LeaseHolder(ctx context.Context, name string, now time.Time) (string, error) {
	op := "lease holder " + name
	if err := store.ValidNames("lease", name); err != nil {
		return "", invalid(op, err)
	}
	vals, err := s.c.HMGet(ctx, s.key("lease", name), "h", "u").Result()
	if err != nil {
		return "", s.fail(op, err)
	}
	h, _ := vals[0].(string)
	us, _ := vals[1].(string)
	u, err := strconv.ParseInt(us, 10, 64)
	if h == "" || err != nil || u <= now.UnixMilli() {
		return "", nil
	}
	return h, nil
}

// ---- seen ----

// KEYS: seen. ARGV: now ms, until ms, px ms.
var markSeenScript = redis.NewScript(`
local e = redis.call('GET', KEYS[1])
if e and tonumber(e) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// MarkSeen records key until now+ttl unless a live record exists.
func (s *Store) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	op := "mark seen " + key
	if err := store.ValidNames("key", key); err != nil {
		return false, invalid(op, err)
	}
	if err := checkTTL(ttl); err != nil {
		return false, invalid(op, err)
	}
	px := (ttl + seenGCSlack).Milliseconds()
	n, err := markSeenScript.Run(ctx, s.c, []string{s.key("seen", key)}, msArg(now), expiry(now, ttl), px).Int()
	if err != nil {
		return false, s.fail(op, err)
	}
	return n == 1, nil
}

// WasSeen reports whether key has a live record at now.
func (s *Store) WasSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	op := "was seen " + key
	if err := store.ValidNames("key", key); err != nil {
		return false, invalid(op, err)
	}
	v, err := s.c.Get(ctx, s.key("seen", key)).Int64()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, s.fail(op, err)
	}
	return v > now.UnixMilli(), nil
}

// Forget removes key's record.
func (s *Store) Forget(ctx context.Context, key string) error {
	op := "forget " + key
	if err := store.ValidNames("key", key); err != nil {
		return invalid(op, err)
	}
	return s.fail(op, s.c.Del(ctx, s.key("seen", key)).Err())
}

// ---- logs ----

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
func (s *Store) Append(ctx context.Context, log string, data []byte) (string, error) {
	op := "append " + log
	if err := store.ValidNames("log", log); err != nil {
		return "", invalid(op, err)
	}
	id, err := s.c.XAdd(ctx, &redis.XAddArgs{Stream: s.key("log", log), Values: []any{"d", data}}).Result()
	return id, s.fail(op, err)
}

// ReadLog returns up to limit entries after the entry with id after.
func (s *Store) ReadLog(ctx context.Context, log, after string, limit int) ([]store.LogEntry, error) {
	op := "read log " + log
	if err := store.ValidNames("log", log); err != nil {
		return nil, invalid(op, err)
	}
	if limit < 0 {
		return nil, fmt.Errorf("redis: %s: %w: limit %d", op, store.ErrInvalid, limit)
	}
	start := "-"
	if after != "" {
		ms, seq, err := parseStreamID(after)
		if err != nil {
			return nil, invalid(op, err)
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
		return nil, s.fail(op, err)
	}
	return entries(msgs), nil
}

// LastEntries returns the last n entries, oldest first.
func (s *Store) LastEntries(ctx context.Context, log string, n int) ([]store.LogEntry, error) {
	op := "last entries " + log
	if err := store.ValidNames("log", log); err != nil {
		return nil, invalid(op, err)
	}
	if n < 0 {
		return nil, fmt.Errorf("redis: %s: %w: count %d", op, store.ErrInvalid, n)
	}
	if n == 0 {
		return nil, nil
	}
	msgs, err := s.c.XRevRangeN(ctx, s.key("log", log), "+", "-", int64(n)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := entries(msgs)
	slices.Reverse(out)
	return out, nil
}
