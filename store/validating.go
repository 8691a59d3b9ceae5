package store

import (
	"context"
	"fmt"
	"time"
)

// Validating returns a Store that checks every argument before b sees it and
// names the operation in every error, so the backends cannot drift apart in
// what they accept and each backend method is only its storage logic.
//
// It checks names (ValidName), expected versions (CheckExpect), ttls and
// holds (positive), limits and counts (not negative), set members and
// batches (ValidateOps). Bad input is an error wrapping ErrInvalid, and b is
// not called. Work that is empty by its arguments (SetAdd or SetRemove with
// no members, ClaimDue with limit 0, an empty batch) returns at once, also
// without calling b.
//
// Every error of a data method, the checks' and b's alike, is returned as
// "<backend>: <op>: <cause>", for example
// "embedded: get docs/reports/r1: not found". So b returns its errors bare
// (wrapping the sentinels) and never names the operation itself. Describe
// and Close are passed through unchanged: their errors already say what
// failed and where.
//
// What b may trust: every name and member passes ValidName, Put's and
// Delete's expected versions pass CheckExpect, a ttl or hold is positive,
// ClaimDue's limit is positive, a Pending, ReadLog or LastEntries limit is
// not negative, GetMany gets at least one id and PendingMany at least one
// queue and a positive limit, SetAdd and SetRemove get at least one member, and Apply
// gets at least one op, each valid. What b must still check itself:
// ReadLog's `after` id, whose form only the backend knows.
func Validating(backend string, b Store) Store {
	return &validating{backend: backend, b: b}
}

// validating is the Store Validating returns.
type validating struct {
	backend string
	b       Store
}

// fail wraps a non-nil err with the backend and the operation.
func (v *validating) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", v.backend, op, err)
}

func positive(what string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%w: %s %v", ErrInvalid, what, d)
	}
	return nil
}

func notNegative(what string, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: %s %d", ErrInvalid, what, n)
	}
	return nil
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func docOp(verb, collection, id string) string { return verb + " docs/" + collection + "/" + id }

func (v *validating) Get(ctx context.Context, collection, id string) (Doc, error) {
	op := docOp("get", collection, id)
	if err := ValidNames("collection", collection, "id", id); err != nil {
		return Doc{}, v.fail(op, err)
	}
	d, err := v.b.Get(ctx, collection, id)
	return d, v.fail(op, err)
}

func (v *validating) GetMany(ctx context.Context, collection string, ids []string) ([]Doc, error) {
	op := fmt.Sprintf("get many docs/%s (%d)", collection, len(ids))
	if err := ValidName("collection", collection); err != nil {
		return nil, v.fail(op, err)
	}
	for _, id := range ids {
		if err := ValidName("id", id); err != nil {
			return nil, v.fail(op, err)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	docs, err := v.b.GetMany(ctx, collection, ids)
	return docs, v.fail(op, err)
}

func (v *validating) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	op := docOp("put", collection, id)
	if err := first(ValidNames("collection", collection, "id", id), CheckExpect(expect, false)); err != nil {
		return 0, v.fail(op, err)
	}
	n, err := v.b.Put(ctx, collection, id, data, expect)
	return n, v.fail(op, err)
}

func (v *validating) Delete(ctx context.Context, collection, id string, expect int64) error {
	op := docOp("delete", collection, id)
	if err := first(ValidNames("collection", collection, "id", id), CheckExpect(expect, true)); err != nil {
		return v.fail(op, err)
	}
	return v.fail(op, v.b.Delete(ctx, collection, id, expect))
}

func (v *validating) List(ctx context.Context, collection string) ([]string, error) {
	op := "list docs/" + collection
	if err := ValidNames("collection", collection); err != nil {
		return nil, v.fail(op, err)
	}
	ids, err := v.b.List(ctx, collection)
	return ids, v.fail(op, err)
}

func (v *validating) SetAdd(ctx context.Context, set string, members ...string) error {
	op := "set add " + set
	if err := first(ValidNames("set", set), ValidMembers(members)); err != nil {
		return v.fail(op, err)
	}
	if len(members) == 0 {
		return nil
	}
	return v.fail(op, v.b.SetAdd(ctx, set, members...))
}

func (v *validating) SetRemove(ctx context.Context, set string, members ...string) error {
	op := "set remove " + set
	if err := first(ValidNames("set", set), ValidMembers(members)); err != nil {
		return v.fail(op, err)
	}
	if len(members) == 0 {
		return nil
	}
	return v.fail(op, v.b.SetRemove(ctx, set, members...))
}

func (v *validating) SetMembers(ctx context.Context, set string) ([]string, error) {
	op := "set members " + set
	if err := ValidNames("set", set); err != nil {
		return nil, v.fail(op, err)
	}
	m, err := v.b.SetMembers(ctx, set)
	return m, v.fail(op, err)
}

func (v *validating) SetContains(ctx context.Context, set, member string) (bool, error) {
	op := "set contains " + set
	if err := ValidNames("set", set, "member", member); err != nil {
		return false, v.fail(op, err)
	}
	ok, err := v.b.SetContains(ctx, set, member)
	return ok, v.fail(op, err)
}

func (v *validating) Schedule(ctx context.Context, queue, key string, due time.Time) error {
	op := "schedule " + queue + "/" + key
	if err := ValidNames("queue", queue, "key", key); err != nil {
		return v.fail(op, err)
	}
	return v.fail(op, v.b.Schedule(ctx, queue, key, due))
}

func (v *validating) Unschedule(ctx context.Context, queue, key string) error {
	op := "unschedule " + queue + "/" + key
	if err := ValidNames("queue", queue, "key", key); err != nil {
		return v.fail(op, err)
	}
	return v.fail(op, v.b.Unschedule(ctx, queue, key))
}

func (v *validating) ClaimDue(ctx context.Context, queue string, now time.Time, hold time.Duration, limit int) ([]Claim, error) {
	op := "claim " + queue
	if err := ValidNames("queue", queue); err != nil {
		return nil, v.fail(op, err)
	}
	if hold <= 0 || limit < 0 {
		return nil, v.fail(op, fmt.Errorf("%w: hold %v, limit %d", ErrInvalid, hold, limit))
	}
	if limit == 0 {
		return nil, nil
	}
	claims, err := v.b.ClaimDue(ctx, queue, now, hold, limit)
	return claims, v.fail(op, err)
}

func (v *validating) Complete(ctx context.Context, queue string, c Claim) (bool, error) {
	op := "complete " + queue + "/" + c.Key
	if err := ValidNames("queue", queue, "key", c.Key); err != nil {
		return false, v.fail(op, err)
	}
	done, err := v.b.Complete(ctx, queue, c)
	return done, v.fail(op, err)
}

func (v *validating) NextDue(ctx context.Context, queue string) (DueItem, bool, error) {
	op := "next due " + queue
	if err := ValidNames("queue", queue); err != nil {
		return DueItem{}, false, v.fail(op, err)
	}
	it, ok, err := v.b.NextDue(ctx, queue)
	return it, ok, v.fail(op, err)
}

func (v *validating) Pending(ctx context.Context, queue string, limit int) ([]DueItem, error) {
	op := "pending " + queue
	if err := first(ValidNames("queue", queue), notNegative("limit", limit)); err != nil {
		return nil, v.fail(op, err)
	}
	items, err := v.b.Pending(ctx, queue, limit)
	return items, v.fail(op, err)
}

func (v *validating) PendingMany(ctx context.Context, queues []string, until time.Time, limit int) ([][]DueItem, error) {
	op := fmt.Sprintf("pending many (%d queues)", len(queues))
	if err := notNegative("limit", limit); err != nil {
		return nil, v.fail(op, err)
	}
	for _, q := range queues {
		if err := ValidName("queue", q); err != nil {
			return nil, v.fail(op, err)
		}
	}
	if len(queues) == 0 || limit == 0 {
		return make([][]DueItem, len(queues)), nil
	}
	items, err := v.b.PendingMany(ctx, queues, until, limit)
	return items, v.fail(op, err)
}

func (v *validating) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	op := "acquire lease " + name
	if err := first(ValidNames("lease", name, "holder", holder), positive("ttl", ttl)); err != nil {
		return false, v.fail(op, err)
	}
	ok, err := v.b.AcquireLease(ctx, name, holder, now, ttl)
	return ok, v.fail(op, err)
}

func (v *validating) ReleaseLease(ctx context.Context, name, holder string) error {
	op := "release lease " + name
	if err := ValidNames("lease", name, "holder", holder); err != nil {
		return v.fail(op, err)
	}
	return v.fail(op, v.b.ReleaseLease(ctx, name, holder))
}

func (v *validating) LeaseHolder(ctx context.Context, name string, now time.Time) (string, error) {
	op := "lease holder " + name
	if err := ValidNames("lease", name); err != nil {
		return "", v.fail(op, err)
	}
	h, err := v.b.LeaseHolder(ctx, name, now)
	return h, v.fail(op, err)
}

func (v *validating) MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	op := "mark seen " + key
	if err := first(ValidNames("key", key), positive("ttl", ttl)); err != nil {
		return false, v.fail(op, err)
	}
	isFirst, err := v.b.MarkSeen(ctx, key, now, ttl)
	return isFirst, v.fail(op, err)
}

func (v *validating) WasSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	op := "was seen " + key
	if err := ValidNames("key", key); err != nil {
		return false, v.fail(op, err)
	}
	ok, err := v.b.WasSeen(ctx, key, now)
	return ok, v.fail(op, err)
}

func (v *validating) Forget(ctx context.Context, key string) error {
	op := "forget " + key
	if err := ValidNames("key", key); err != nil {
		return v.fail(op, err)
	}
	return v.fail(op, v.b.Forget(ctx, key))
}

func (v *validating) Append(ctx context.Context, log string, data []byte) (string, error) {
	op := "append " + log
	if err := ValidNames("log", log); err != nil {
		return "", v.fail(op, err)
	}
	id, err := v.b.Append(ctx, log, data)
	return id, v.fail(op, err)
}

func (v *validating) ReadLog(ctx context.Context, log, after string, limit int) ([]LogEntry, error) {
	op := "read log " + log
	if err := first(ValidNames("log", log), notNegative("limit", limit)); err != nil {
		return nil, v.fail(op, err)
	}
	out, err := v.b.ReadLog(ctx, log, after, limit)
	return out, v.fail(op, err)
}

func (v *validating) LastEntries(ctx context.Context, log string, n int) ([]LogEntry, error) {
	op := "last entries " + log
	if err := first(ValidNames("log", log), notNegative("count", n)); err != nil {
		return nil, v.fail(op, err)
	}
	out, err := v.b.LastEntries(ctx, log, n)
	return out, v.fail(op, err)
}

func (v *validating) Apply(ctx context.Context, ops ...Op) ([]int64, error) {
	if err := ValidateOps(ops); err != nil {
		return nil, v.fail("apply", err)
	}
	if len(ops) == 0 {
		return []int64{}, nil
	}
	versions, err := v.b.Apply(ctx, ops...)
	return versions, v.fail(fmt.Sprintf("apply %d ops", len(ops)), err)
}

func (v *validating) Incr(ctx context.Context, name string) (int64, error) {
	op := "incr " + name
	if err := ValidNames("counter", name); err != nil {
		return 0, v.fail(op, err)
	}
	n, err := v.b.Incr(ctx, name)
	return n, v.fail(op, err)
}

func (v *validating) Ping(ctx context.Context) error { return v.fail("ping", v.b.Ping(ctx)) }

func (v *validating) Describe() string { return v.b.Describe() }

func (v *validating) Close() error { return v.b.Close() }

// Read validates every query before b sees any; b must implement Reader
// (both backends do). An empty Read returns at once.
func (v *validating) Read(ctx context.Context, qs ...Query) ([]Answer, error) {
	if err := ValidateQueries(qs); err != nil {
		return nil, v.fail("read", err)
	}
	if len(qs) == 0 {
		return []Answer{}, nil
	}
	r, ok := v.b.(Reader)
	if !ok {
		return nil, v.fail("read", fmt.Errorf("%w: the backend cannot read in batches", ErrInvalid))
	}
	answers, err := r.Read(ctx, qs...)
	return answers, v.fail(fmt.Sprintf("read %d queries", len(qs)), err)
}
