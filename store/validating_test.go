package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// unreachable is a backend with no methods: any call the wrapper lets
// through panics on the nil interface, which reached() turns into a failure.
type unreachable struct{ store.Store }

// reached runs call and reports whether it got through to the backend.
func reached(call func() error) (err error, through bool) {
	defer func() {
		if recover() != nil {
			through = true
		}
	}()
	return call(), false
}

// Bad input is refused before the backend sees it, with an error that
// wraps ErrInvalid and says which backend and which operation refused what.
func TestValidatingRefusesBadInputBeforeTheBackend(t *testing.T) {
	ctx := context.Background()
	s := store.Validating("embedded", unreachable{})
	t0 := time.Unix(1_700_000_000, 0)
	long := strings.Repeat("n", 513)
	cases := []struct {
		name string
		call func() error
		want string // the whole message, or its start when it ends in "…"
	}{
		{"Get empty collection", func() error { _, err := s.Get(ctx, "", "id"); return err },
			"embedded: get docs//id: invalid store argument: collection is empty"},
		{"Get NUL id", func() error { _, err := s.Get(ctx, "c", "a\x00b"); return err },
			"embedded: get docs/c/a\x00b: invalid store argument: id contains a NUL byte"},
		{"Put long id", func() error { _, err := s.Put(ctx, "c", long, nil, store.NewDoc); return err },
			"embedded: put docs/c/" + long + ": invalid store argument: id is longer than 512 bytes"},
		{"Put version -2", func() error { _, err := s.Put(ctx, "c", "id", nil, -2); return err },
			"embedded: put docs/c/id: invalid store argument: expected version -2"},
		{"Delete NewDoc", func() error { return s.Delete(ctx, "c", "id", store.NewDoc) },
			"embedded: delete docs/c/id: invalid store argument: expected version 0"},
		{"List", func() error { _, err := s.List(ctx, ""); return err },
			"embedded: list docs/: invalid store argument: collection is empty"},
		{"SetAdd empty member", func() error { return s.SetAdd(ctx, "s", "ok", "") },
			"embedded: set add s: invalid store argument: member is empty"},
		{"SetRemove", func() error { return s.SetRemove(ctx, "", "m") },
			"embedded: set remove : invalid store argument: set is empty"},
		{"SetMembers", func() error { _, err := s.SetMembers(ctx, ""); return err },
			"embedded: set members : invalid store argument: set is empty"},
		{"SetContains", func() error { _, err := s.SetContains(ctx, "s", ""); return err },
			"embedded: set contains s: invalid store argument: member is empty"},
		{"Schedule", func() error { return s.Schedule(ctx, "q", "", t0) },
			"embedded: schedule q/: invalid store argument: key is empty"},
		{"Unschedule", func() error { return s.Unschedule(ctx, "", "k") },
			"embedded: unschedule /k: invalid store argument: queue is empty"},
		{"ClaimDue hold 0", func() error { _, err := s.ClaimDue(ctx, "q", t0, 0, 1); return err },
			"embedded: claim q: invalid store argument: hold 0s, limit 1"},
		{"ClaimDue limit -1", func() error { _, err := s.ClaimDue(ctx, "q", t0, time.Second, -1); return err },
			"embedded: claim q: invalid store argument: hold 1s, limit -1"},
		{"Complete", func() error { _, err := s.Complete(ctx, "q", store.Claim{}); return err },
			"embedded: complete q/: invalid store argument: key is empty"},
		{"NextDue", func() error { _, _, err := s.NextDue(ctx, ""); return err },
			"embedded: next due : invalid store argument: queue is empty"},
		{"Pending -1", func() error { _, err := s.Pending(ctx, "q", -1); return err },
			"embedded: pending q: invalid store argument: limit -1"},
		{"AcquireLease ttl 0", func() error { _, err := s.AcquireLease(ctx, "l", "h", t0, 0); return err },
			"embedded: acquire lease l: invalid store argument: ttl 0s"},
		{"AcquireLease empty holder", func() error { _, err := s.AcquireLease(ctx, "l", "", t0, time.Second); return err },
			"embedded: acquire lease l: invalid store argument: holder is empty"},
		{"ReleaseLease", func() error { return s.ReleaseLease(ctx, "l", "") },
			"embedded: release lease l: invalid store argument: holder is empty"},
		{"LeaseHolder", func() error { _, err := s.LeaseHolder(ctx, "", t0); return err },
			"embedded: lease holder : invalid store argument: lease is empty"},
		{"MarkSeen ttl -1s", func() error { _, err := s.MarkSeen(ctx, "k", t0, -time.Second); return err },
			"embedded: mark seen k: invalid store argument: ttl -1s"},
		{"WasSeen", func() error { _, err := s.WasSeen(ctx, "", t0); return err },
			"embedded: was seen : invalid store argument: key is empty"},
		{"Forget", func() error { return s.Forget(ctx, "") },
			"embedded: forget : invalid store argument: key is empty"},
		{"Append", func() error { _, err := s.Append(ctx, "", nil); return err },
			"embedded: append : invalid store argument: log is empty"},
		{"ReadLog -1", func() error { _, err := s.ReadLog(ctx, "audit", "", -1); return err },
			"embedded: read log audit: invalid store argument: limit -1"},
		{"LastEntries -1", func() error { _, err := s.LastEntries(ctx, "audit", -1); return err },
			"embedded: last entries audit: invalid store argument: count -1"},
		{"Apply zero op", func() error { _, err := s.Apply(ctx, store.SetAddOp("s", "m"), store.Op{}); return err },
			"embedded: apply: op 2 of 2 (OpKind(0)): invalid store argument: an op not made by a constructor (kind 0)"},
		{"Incr", func() error { _, err := s.Incr(ctx, ""); return err },
			"embedded: incr : invalid store argument: counter is empty"},
	}
	for _, c := range cases {
		err, through := reached(c.call)
		if through {
			t.Errorf("%s: the bad input reached the backend", c.name)
			continue
		}
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", c.name, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%s: error\n %q, want\n %q", c.name, err, c.want)
		}
	}
}

// Work that is empty by its arguments costs no round trip.
func TestValidatingEmptyWorkSkipsTheBackend(t *testing.T) {
	ctx := context.Background()
	s := store.Validating("redis", unreachable{})
	var versions []int64
	for name, call := range map[string]func() error{
		"SetAdd no members":    func() error { return s.SetAdd(ctx, "s") },
		"SetRemove no members": func() error { return s.SetRemove(ctx, "s") },
		"ClaimDue limit 0": func() error {
			cs, err := s.ClaimDue(ctx, "q", time.Unix(0, 0), time.Second, 0)
			if len(cs) != 0 {
				return fmt.Errorf("claims %v", cs)
			}
			return err
		},
		"Apply no ops": func() (err error) { versions, err = s.Apply(ctx); return err },
	} {
		if err, through := reached(call); through || err != nil {
			t.Errorf("%s: reached the backend %v, error %v; want neither", name, through, err)
		}
	}
	if versions == nil || len(versions) != 0 {
		t.Errorf("Apply() = %#v, want an empty, non-nil slice", versions)
	}
}

// failing is a backend whose Get, Put and Apply fail with err.
type failing struct {
	store.Store
	err error
}

func (f failing) Get(context.Context, string, string) (store.Doc, error) { return store.Doc{}, f.err }

func (f failing) Put(context.Context, string, string, []byte, int64) (int64, error) {
	return 0, f.err
}

func (f failing) Apply(context.Context, ...store.Op) ([]int64, error) { return nil, f.err }

// The backend's own errors come back naming the backend and the operation,
// and still match the sentinel (and *ConflictError) they wrap.
func TestValidatingNamesTheOpInBackendErrors(t *testing.T) {
	ctx := context.Background()
	s := store.Validating("redis", failing{err: store.ErrNotFound})
	_, err := s.Get(ctx, "reports", "r1")
	if !errors.Is(err, store.ErrNotFound) || err.Error() != "redis: get docs/reports/r1: not found" {
		t.Errorf("Get: %q, want %q wrapping ErrNotFound", err, "redis: get docs/reports/r1: not found")
	}

	unavailable := fmt.Errorf("%w: dial tcp 127.0.0.1:1: connection refused", store.ErrUnavailable)
	s = store.Validating("redis", failing{err: unavailable})
	_, err = s.Put(ctx, "reports", "r1", nil, store.NewDoc)
	if want := "redis: put docs/reports/r1: store unavailable: dial tcp 127.0.0.1:1: connection refused"; !errors.Is(err, store.ErrUnavailable) || err.Error() != want {
		t.Errorf("Put: %q, want %q wrapping ErrUnavailable", err, want)
	}

	conflict := &store.ConflictError{Collection: "reports", ID: "r1", Expected: 1, Have: 2, Op: 2}
	s = store.Validating("embedded", failing{err: conflict})
	_, err = s.Apply(ctx, store.SetAddOp("s", "m"), store.PutOp("reports", "r1", nil, 1))
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Op != 2 || !strings.HasPrefix(err.Error(), "embedded: apply 2 ops: ") {
		t.Errorf("Apply: %v, want a *ConflictError at op 2 named \"embedded: apply 2 ops: …\"", err)
	}
}
