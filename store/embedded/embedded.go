// Package embedded implements store.Store in a single bbolt file, for
// deployments without Redis.
//
// Layout (all keys raw bytes; "be" = big-endian, times are unix milliseconds
// stored as order-preserving uint64s so negative times sort correctly):
//
//	meta/format                       "1"
//	docs/<collection>/<id>            be(version) || data
//	sets/<set>/<member>               (empty)
//	queues/<queue>/items/<key>        be(due) || be(at) || held(1 byte)
//	queues/<queue>/due/be(at)||<key>  (empty)   index: ClaimDue seeks here
//	leases/<name>                     be(until) || holder
//	seen/<key>                        be(until)
//	seenexp/be(until)||<key>          (empty)   index: purge of run-out keys
//	logs/<log>/be(seq)                data
//	counters/<name>                   be(value)  (int64; added after format "1"
//	                                  shipped, so the bucket is created on
//	                                  Open and by Incr when missing)
//
// For a queue item, "at" is when it next becomes claimable: its due time, or
// ClaimedUntil while a claim holds it (held=1). The by-at index makes
// ClaimDue cost proportional to the items it claims, not the queue length.
//
// bbolt allows one writer at a time, so every method is one transaction and
// atomic against every other, including ClaimDue against itself. Apply runs
// all the ops of a batch in one transaction through the same helpers the
// single-operation methods use (putDoc, setAdd, schedule, ...), so a batch
// and the equivalent single calls cannot drift apart.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vigil-sec/vigil/store"
)

var _ store.Store = (*Store)(nil)

// Bucket names.
var (
	bMeta     = []byte("meta")
	bDocs     = []byte("docs")
	bSets     = []byte("sets")
	bQueues   = []byte("queues")
	bLeases   = []byte("leases")
	bSeen     = []byte("seen")
	bSeenExp  = []byte("seenexp")
	bLogs     = []byte("logs")
	bCounters = []byte("counters")
	bItems    = []byte("items")
	bDue      = []byte("due")

	roots = [][]byte{bMeta, bDocs, bSets, bQueues, bLeases, bSeen, bSeenExp, bLogs, bCounters}
)

const (
	formatKey     = "format"
	formatVersion = "1"
	// lockTimeout bounds the wait for bbolt's file lock: a second vigil on
	// the same file should fail fast with a clear message, not hang.
	lockTimeout = time.Second
	// seenPurgeBatch is how many run-out seen records a MarkSeen removes
	// on the side; small enough to keep MarkSeen cheap, large enough to
	// outpace the rate at which records run out.
	seenPurgeBatch = 8
)

// Store is a store.Store in one bbolt file.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (or creates) the store file at path. It creates the parent
// directory (0700) and the file (0600) when missing. An existing file that
// is empty, unreadable, or not a valid store is reported with an error
// wrapping store.ErrCorrupt and is left exactly as it was.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("embedded: open: %w: empty path", store.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: open %s: create directory: %w", abs, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil:
		if err := check(abs, fi); err != nil {
			return nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("embedded: open %s: %w: %w", abs, store.ErrCorrupt, err)
	}
	db, err := openBolt(abs, false)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: abs}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// check validates an existing file read-only before it is opened for
// writing: bbolt initialises an empty file in place and may write to a
// damaged one, and the store must never overwrite data it cannot read.
func check(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("embedded: open %s: %w: not a regular file", path, store.ErrCorrupt)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("embedded: open %s: %w: the file exists but is empty (an interrupted first start?); move it away to start afresh", path, store.ErrCorrupt)
	}
	db, err := openBolt(path, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return viewSafe(db, func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("embedded: open %s: %w: the file is truncated (%d of %d bytes)", path, store.ErrCorrupt, fi.Size(), tx.Size())
		}
		if m := tx.Bucket(bMeta); m != nil {
			if f := m.Get([]byte(formatKey)); f != nil && string(f) != formatVersion {
				return fmt.Errorf("embedded: open %s: %w: unknown store format %q", path, store.ErrCorrupt, f)
			}
		}
		return nil
	})
}

func openBolt(path string, readOnly bool) (db *bolt.DB, err error) {
	// bbolt can panic on a damaged file rather than return an error.
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("embedded: open %s: %w: %v", path, store.ErrCorrupt, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        lockTimeout,
		ReadOnly:       readOnly,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("embedded: open %s: another process is using %s (its file lock was held for %v)", path, path, lockTimeout)
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("embedded: open %s: %w: cannot read the file: %w", path, store.ErrCorrupt, err)
	default:
		// Invalid meta pages, checksum or version mismatch, short reads.
		return nil, fmt.Errorf("embedded: open %s: %w: not a readable store file: %w", path, store.ErrCorrupt, err)
	}
}

func (s *Store) init() error {
	return s.update(context.Background(), "init", func(tx *bolt.Tx) error {
		for _, name := range roots {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bMeta)
		if m.Get([]byte(formatKey)) == nil {
			return m.Put([]byte(formatKey), []byte(formatVersion))
		}
		return nil
	})
}

func viewSafe(db *bolt.DB, fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", store.ErrCorrupt, r)
		}
	}()
	return db.View(fn)
}

// view and update run fn in a transaction. bbolt panics on some kinds of
// page damage; those panics become ErrCorrupt errors so one bad page does
// not take the bot down, and bbolt's own deferred rollback releases the
// writer lock.
func (s *Store) view(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := viewSafe(s.db, fn); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return nil
}

func (s *Store) update(ctx context.Context, op string, fn func(tx *bolt.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("embedded: %s: %w: %v", op, store.ErrCorrupt, r)
		}
	}()
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return nil
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.view(ctx, "ping", func(*bolt.Tx) error { return nil })
}

// Describe says where the file is.
func (s *Store) Describe() string { return "embedded bbolt file " + s.path }

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close %s: %w", s.path, err)
	}
	return nil
}

// sub returns the child bucket name of root, or nil when it does not exist
// (reads treat that as empty).
func sub(tx *bolt.Tx, root []byte, name string) *bolt.Bucket {
	return tx.Bucket(root).Bucket([]byte(name))
}

func subCreate(tx *bolt.Tx, root []byte, name string) (*bolt.Bucket, error) {
	return tx.Bucket(root).CreateBucketIfNotExists([]byte(name))
}

// ms converts to the stored resolution.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

// sortable maps an int64 to a uint64 whose big-endian bytes sort like the
// signed value.
func putSortable(b []byte, v int64) { binary.BigEndian.PutUint64(b, uint64(v)^(1<<63)) }

func getSortable(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// ---- documents ----

// Get returns a document.
func (s *Store) Get(ctx context.Context, collection, id string) (store.Doc, error) {
	op := "get docs/" + collection + "/" + id
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return store.Doc{}, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var d store.Doc
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		b := sub(tx, bDocs, collection)
		var v []byte
		if b != nil {
			v = b.Get([]byte(id))
		}
		if v == nil {
			return store.ErrNotFound
		}
		if len(v) < 8 {
			return fmt.Errorf("%w: document record of %d bytes", store.ErrCorrupt, len(v))
		}
		// v points into the mmap and is only valid inside the transaction.
		d = store.Doc{ID: id, Version: int64(binary.BigEndian.Uint64(v)), Data: bytes.Clone(v[8:])}
		return nil
	})
	return d, err
}

// docVersion reads the version of a stored document record; 0 when the
// document does not exist.
func docVersion(v []byte) (int64, error) {
	if v == nil {
		return 0, nil
	}
	if len(v) < 8 {
		return 0, fmt.Errorf("%w: document record of %d bytes", store.ErrCorrupt, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// putDoc is Put inside tx, shared by Put and Apply. A version mismatch is a
// *store.ConflictError (which also matches ErrNotFound when the document is
// missing).
func putDoc(tx *bolt.Tx, collection, id string, data []byte, expect int64) (int64, error) {
	b, err := subCreate(tx, bDocs, collection)
	if err != nil {
		return 0, err
	}
	have, err := docVersion(b.Get([]byte(id)))
	if err != nil {
		return 0, err
	}
	if expect != store.AnyVersion && expect != have {
		return 0, &store.ConflictError{Collection: collection, ID: id, Expected: expect, Have: have}
	}
	next := have + 1
	rec := make([]byte, 8+len(data))
	binary.BigEndian.PutUint64(rec, uint64(next))
	copy(rec[8:], data)
	return next, b.Put([]byte(id), rec)
}

// deleteDoc is Delete inside tx, shared by Delete and Apply.
func deleteDoc(tx *bolt.Tx, collection, id string, expect int64) error {
	b := sub(tx, bDocs, collection)
	var v []byte
	if b != nil {
		v = b.Get([]byte(id))
	}
	have, err := docVersion(v)
	if err != nil {
		return err
	}
	if v == nil && expect == store.AnyVersion {
		return nil
	}
	if v == nil || (expect != store.AnyVersion && expect != have) {
		return &store.ConflictError{Collection: collection, ID: id, Expected: expect, Have: have}
	}
	return b.Delete([]byte(id))
}

// Put writes a document under the compare-and-swap rule.
func (s *Store) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	op := "put docs/" + collection + "/" + id
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return 0, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := store.CheckExpect(expect, false); err != nil {
		return 0, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var next int64
	err := s.update(ctx, op, func(tx *bolt.Tx) (err error) {
		next, err = putDoc(tx, collection, id, data, expect)
		return err
	})
	return next, err
}

// Delete removes a document under the compare-and-swap rule.
func (s *Store) Delete(ctx context.Context, collection, id string, expect int64) error {
	op := "delete docs/" + collection + "/" + id
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := store.CheckExpect(expect, true); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error {
		return deleteDoc(tx, collection, id, expect)
	})
}

// List returns the ids of a collection; bbolt keeps keys sorted bytewise.
func (s *Store) List(ctx context.Context, collection string) ([]string, error) {
	op := "list docs/" + collection
	if err := store.ValidNames("collection", collection); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var ids []string
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		ids = keys(sub(tx, bDocs, collection))
		return nil
	})
	return ids, err
}

func keys(b *bolt.Bucket) []string {
	if b == nil {
		return []string{}
	}
	var out []string
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		out = append(out, string(k))
	}
	return out
}

// ---- sets ----

// SetAdd adds members to a set.
func (s *Store) SetAdd(ctx context.Context, set string, members ...string) error {
	op := "set add " + set
	if err := store.ValidNames("set", set); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := store.ValidMembers(members); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	if len(members) == 0 {
		return nil
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error { return setAdd(tx, set, members) })
}

// setAdd is SetAdd inside tx, shared by SetAdd and Apply.
func setAdd(tx *bolt.Tx, set string, members []string) error {
	if len(members) == 0 {
		return nil
	}
	b, err := subCreate(tx, bSets, set)
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := b.Put([]byte(m), nil); err != nil {
			return err
		}
	}
	return nil
}

// setRemove is SetRemove inside tx, shared by SetRemove and Apply.
func setRemove(tx *bolt.Tx, set string, members []string) error {
	b := sub(tx, bSets, set)
	if b == nil {
		return nil
	}
	for _, m := range members {
		if err := b.Delete([]byte(m)); err != nil {
			return err
		}
	}
	return nil
}

// SetRemove removes members from a set.
func (s *Store) SetRemove(ctx context.Context, set string, members ...string) error {
	op := "set remove " + set
	if err := store.ValidNames("set", set); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := store.ValidMembers(members); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	if len(members) == 0 {
		return nil
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error { return setRemove(tx, set, members) })
}

// SetMembers returns the members, sorted.
func (s *Store) SetMembers(ctx context.Context, set string) ([]string, error) {
	op := "set members " + set
	if err := store.ValidNames("set", set); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var out []string
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		out = keys(sub(tx, bSets, set))
		return nil
	})
	return out, err
}

// SetContains reports whether member is in set.
func (s *Store) SetContains(ctx context.Context, set, member string) (bool, error) {
	op := "set contains " + set
	if err := store.ValidNames("set", set, "member", member); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var ok bool
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		if b := sub(tx, bSets, set); b != nil {
			ok = b.Get([]byte(member)) != nil
		}
		return nil
	})
	return ok, err
}

// ---- queues ----

// item is a queue entry as stored in queues/<queue>/items.
type item struct {
	due, at int64
	held    bool
}

func (it item) encode() []byte {
	b := make([]byte, 17)
	putSortable(b[0:], it.due)
	putSortable(b[8:], it.at)
	if it.held {
		b[16] = 1
	}
	return b
}

func decodeItem(b []byte) (item, error) {
	if len(b) != 17 {
		return item{}, fmt.Errorf("%w: queue item record of %d bytes", store.ErrCorrupt, len(b))
	}
	return item{due: getSortable(b[0:]), at: getSortable(b[8:]), held: b[16] == 1}, nil
}

func indexKey(at int64, key string) []byte {
	b := make([]byte, 8+len(key))
	putSortable(b, at)
	copy(b[8:], key)
	return b
}

// queue holds the two buckets of one queue.
type queue struct{ items, due *bolt.Bucket }

func openQueue(tx *bolt.Tx, name string, create bool) (queue, error) {
	var q *bolt.Bucket
	if create {
		var err error
		if q, err = subCreate(tx, bQueues, name); err != nil {
			return queue{}, err
		}
		items, err := q.CreateBucketIfNotExists(bItems)
		if err != nil {
			return queue{}, err
		}
		due, err := q.CreateBucketIfNotExists(bDue)
		if err != nil {
			return queue{}, err
		}
		return queue{items, due}, nil
	}
	if q = sub(tx, bQueues, name); q == nil {
		return queue{}, nil
	}
	return queue{q.Bucket(bItems), q.Bucket(bDue)}, nil
}

func (q queue) get(key string) (item, bool, error) {
	if q.items == nil {
		return item{}, false, nil
	}
	v := q.items.Get([]byte(key))
	if v == nil {
		return item{}, false, nil
	}
	it, err := decodeItem(v)
	return it, err == nil, err
}

func (q queue) put(key string, old *item, it item) error {
	if old != nil {
		if err := q.due.Delete(indexKey(old.at, key)); err != nil {
			return err
		}
	}
	if err := q.items.Put([]byte(key), it.encode()); err != nil {
		return err
	}
	return q.due.Put(indexKey(it.at, key), nil)
}

func (q queue) remove(key string, it item) error {
	if err := q.due.Delete(indexKey(it.at, key)); err != nil {
		return err
	}
	return q.items.Delete([]byte(key))
}

// Schedule sets or moves key's due time; it also ends any claim on it.
func (s *Store) Schedule(ctx context.Context, queueName, key string, due time.Time) error {
	op := "schedule " + queueName + "/" + key
	if err := store.ValidNames("queue", queueName, "key", key); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error { return schedule(tx, queueName, key, due) })
}

// schedule is Schedule inside tx, shared by Schedule and Apply. Writing the
// item with held=false and at=due is what ends a claim.
func schedule(tx *bolt.Tx, queueName, key string, due time.Time) error {
	q, err := openQueue(tx, queueName, true)
	if err != nil {
		return err
	}
	old, ok, err := q.get(key)
	if err != nil {
		return err
	}
	d := ms(due)
	prev := &old
	if !ok {
		prev = nil
	}
	return q.put(key, prev, item{due: d, at: d})
}

// unschedule is Unschedule inside tx, shared by Unschedule and Apply.
func unschedule(tx *bolt.Tx, queueName, key string) error {
	q, err := openQueue(tx, queueName, false)
	if err != nil {
		return err
	}
	it, ok, err := q.get(key)
	if !ok || err != nil {
		return err
	}
	return q.remove(key, it)
}

// Unschedule removes key.
func (s *Store) Unschedule(ctx context.Context, queueName, key string) error {
	op := "unschedule " + queueName + "/" + key
	if err := store.ValidNames("queue", queueName, "key", key); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error { return unschedule(tx, queueName, key) })
}

// ClaimDue claims up to limit items due at or before now.
func (s *Store) ClaimDue(ctx context.Context, queueName string, now time.Time, hold time.Duration, limit int) ([]store.Claim, error) {
	op := "claim " + queueName
	if err := store.ValidNames("queue", queueName); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if hold <= 0 || limit < 0 {
		return nil, fmt.Errorf("embedded: %s: %w: hold %v, limit %d", op, store.ErrInvalid, hold, limit)
	}
	if limit == 0 {
		return nil, nil
	}
	nowMS, until := ms(now), expiry(now, hold)
	var claims []store.Claim
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		claims = claims[:0]
		q, err := openQueue(tx, queueName, false)
		if err != nil || q.items == nil {
			return err
		}
		// Collect first: bbolt cursors must not run across their own
		// bucket's modifications.
		var due []string
		c := q.due.Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
			if getSortable(k) > nowMS {
				break
			}
			due = append(due, string(k[8:]))
		}
		for _, key := range due {
			it, ok, err := q.get(key)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: queue index names missing item %q", store.ErrCorrupt, key)
			}
			if err := q.put(key, &it, item{due: it.due, at: until, held: true}); err != nil {
				return err
			}
			claims = append(claims, store.Claim{Key: key, Due: fromMS(it.due), ClaimedUntil: fromMS(until)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// Complete removes a claimed item if that claim still holds it.
func (s *Store) Complete(ctx context.Context, queueName string, c store.Claim) (bool, error) {
	op := "complete " + queueName + "/" + c.Key
	if err := store.ValidNames("queue", queueName, "key", c.Key); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var done bool
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		done = false
		q, err := openQueue(tx, queueName, false)
		if err != nil {
			return err
		}
		it, ok, err := q.get(c.Key)
		if !ok || err != nil {
			return err
		}
		if !it.held || it.at != ms(c.ClaimedUntil) {
			return nil
		}
		done = true
		return q.remove(c.Key, it)
	})
	return done, err
}

// NextDue returns the item that next becomes claimable.
func (s *Store) NextDue(ctx context.Context, queueName string) (store.DueItem, bool, error) {
	items, err := s.pending(ctx, "next due "+queueName, queueName, 1)
	if err != nil || len(items) == 0 {
		return store.DueItem{}, false, err
	}
	return items[0], true, nil
}

// Pending lists up to limit items in the order they become claimable.
func (s *Store) Pending(ctx context.Context, queueName string, limit int) ([]store.DueItem, error) {
	return s.pending(ctx, "pending "+queueName, queueName, limit)
}

func (s *Store) pending(ctx context.Context, op, queueName string, limit int) ([]store.DueItem, error) {
	if err := store.ValidNames("queue", queueName); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if limit < 0 {
		return nil, fmt.Errorf("embedded: %s: %w: limit %d", op, store.ErrInvalid, limit)
	}
	var out []store.DueItem
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		q, err := openQueue(tx, queueName, false)
		if err != nil || q.due == nil {
			return err
		}
		c := q.due.Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			out = append(out, store.DueItem{Key: string(k[8:]), Due: fromMS(getSortable(k))})
		}
		return nil
	})
	return out, err
}

// ---- leases ----

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl %v", store.ErrInvalid, ttl)
	}
	return nil
}

// expiry adds a ttl or hold, rounding a sub-millisecond remainder up so a
// positive duration always counts.
func expiry(now time.Time, ttl time.Duration) int64 {
	u := ms(now) + ttl.Milliseconds()
	if ttl%time.Millisecond != 0 {
		u++
	}
	return u
}

// AcquireLease takes or renews a lease.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	op := "acquire lease " + name
	if err := store.ValidNames("lease", name, "holder", holder); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var ok bool
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(bLeases)
		if v := b.Get([]byte(name)); v != nil {
			if len(v) < 8 {
				return fmt.Errorf("%w: lease record of %d bytes", store.ErrCorrupt, len(v))
			}
			if string(v[8:]) != holder && getSortable(v) > ms(now) {
				ok = false
				return nil
			}
		}
		rec := make([]byte, 8+len(holder))
		putSortable(rec, expiry(now, ttl))
		copy(rec[8:], holder)
		ok = true
		return b.Put([]byte(name), rec)
	})
	return ok, err
}

// ReleaseLease frees the lease if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	op := "release lease " + name
	if err := store.ValidNames("lease", name, "holder", holder); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(bLeases)
		if v := b.Get([]byte(name)); len(v) >= 8 && string(v[8:]) == holder {
			return b.Delete([]byte(name))
		}
		return nil
	})
}

// LeaseHolder returns who holds the lease at now.
func (s *Store) LeaseHolder(ctx context.Context, name string, now time.Time) (string, error) {
	op := "lease holder " + name
	if err := store.ValidNames("lease", name); err != nil {
		return "", fmt.Errorf("embedded: %s: %w", op, err)
	}
	var h string
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bLeases).Get([]byte(name)); len(v) >= 8 && getSortable(v) > ms(now) {
			h = string(v[8:])
		}
		return nil
	})
	return h, err
}

// ---- seen ----

// MarkSeen records key until now+ttl unless a live record exists.
func (s *Store) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	op := "mark seen " + key
	if err := store.ValidNames("key", key); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	nowMS := ms(now)
	var first bool
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		seen, exp := tx.Bucket(bSeen), tx.Bucket(bSeenExp)
		if v := seen.Get([]byte(key)); len(v) == 8 {
			old := getSortable(v)
			if old > nowMS {
				first = false
				return nil
			}
			if err := exp.Delete(indexKey(old, key)); err != nil {
				return err
			}
		}
		first = true
		u := expiry(now, ttl)
		rec := make([]byte, 8)
		putSortable(rec, u)
		if err := seen.Put([]byte(key), rec); err != nil {
			return err
		}
		if err := exp.Put(indexKey(u, key), nil); err != nil {
			return err
		}
		return purgeSeen(seen, exp, nowMS)
	})
	return first, err
}

// purgeSeen drops a few run-out records so the file does not grow with
// every webhook delivery ever seen.
func purgeSeen(seen, exp *bolt.Bucket, nowMS int64) error {
	var drop [][]byte
	c := exp.Cursor()
	for k, _ := c.First(); k != nil && len(drop) < seenPurgeBatch; k, _ = c.Next() {
		if getSortable(k) > nowMS {
			break
		}
		drop = append(drop, bytes.Clone(k))
	}
	for _, k := range drop {
		if err := exp.Delete(k); err != nil {
			return err
		}
		// Only remove the record if it is the one this index entry is
		// for; a newer record for the key has its own entry.
		if v := seen.Get(k[8:]); len(v) == 8 && bytes.Equal(v, k[:8]) {
			if err := seen.Delete(k[8:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// WasSeen reports whether key has a live record at now.
func (s *Store) WasSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	op := "was seen " + key
	if err := store.ValidNames("key", key); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var ok bool
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		v := tx.Bucket(bSeen).Get([]byte(key))
		ok = len(v) == 8 && getSortable(v) > ms(now)
		return nil
	})
	return ok, err
}

// Forget removes key's record.
func (s *Store) Forget(ctx context.Context, key string) error {
	op := "forget " + key
	if err := store.ValidNames("key", key); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error {
		seen := tx.Bucket(bSeen)
		v := seen.Get([]byte(key))
		if len(v) != 8 {
			return nil
		}
		if err := tx.Bucket(bSeenExp).Delete(indexKey(getSortable(v), key)); err != nil {
			return err
		}
		return seen.Delete([]byte(key))
	})
}

// ---- logs ----

// Log ids are the bucket sequence, zero-padded so they also sort as
// strings.
func logID(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func parseLogID(id string) (uint64, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: log id %q", store.ErrInvalid, id)
	}
	return n, nil
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Append adds an entry to a log.
func (s *Store) Append(ctx context.Context, log string, data []byte) (string, error) {
	op := "append " + log
	if err := store.ValidNames("log", log); err != nil {
		return "", fmt.Errorf("embedded: %s: %w", op, err)
	}
	var id string
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		b, err := subCreate(tx, bLogs, log)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		id = logID(seq)
		return b.Put(seqKey(seq), bytes.Clone(data))
	})
	return id, err
}

// ReadLog returns up to limit entries after the entry with id after.
func (s *Store) ReadLog(ctx context.Context, log, after string, limit int) ([]store.LogEntry, error) {
	op := "read log " + log
	if err := store.ValidNames("log", log); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if limit < 0 {
		return nil, fmt.Errorf("embedded: %s: %w: limit %d", op, store.ErrInvalid, limit)
	}
	var start uint64
	if after != "" {
		n, err := parseLogID(after)
		if err != nil {
			return nil, fmt.Errorf("embedded: %s: %w", op, err)
		}
		if n == math.MaxUint64 {
			return nil, nil
		}
		start = n + 1
	}
	var out []store.LogEntry
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		b := sub(tx, bLogs, log)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(start)); k != nil && len(out) < limit; k, v = c.Next() {
			out = append(out, store.LogEntry{ID: logID(binary.BigEndian.Uint64(k)), Data: bytes.Clone(v)})
		}
		return nil
	})
	return out, err
}

// LastEntries returns the last n entries, oldest first.
func (s *Store) LastEntries(ctx context.Context, log string, n int) ([]store.LogEntry, error) {
	op := "last entries " + log
	if err := store.ValidNames("log", log); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	if n < 0 {
		return nil, fmt.Errorf("embedded: %s: %w: count %d", op, store.ErrInvalid, n)
	}
	var out []store.LogEntry
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		b := sub(tx, bLogs, log)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			out = append(out, store.LogEntry{ID: logID(binary.BigEndian.Uint64(k)), Data: bytes.Clone(v)})
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
}
