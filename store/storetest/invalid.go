package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

func testInvalid(t *testing.T, fresh opener) {
	ctx := context.Background()
	s := fresh(t)
	long := string(make([]byte, 513))
	for _, bad := range []string{"", "a\x00b", long} {
		calls := map[string]error{}
		_, calls["Get coll"] = s.Get(ctx, bad, "id")
		_, calls["Get id"] = s.Get(ctx, "c", bad)
		_, calls["Put"] = s.Put(ctx, "c", bad, nil, store.AnyVersion)
		calls["Delete"] = s.Delete(ctx, bad, "id", store.AnyVersion)
		_, calls["List"] = s.List(ctx, bad)
		calls["SetAdd"] = s.SetAdd(ctx, bad, "m")
		calls["SetRemove"] = s.SetRemove(ctx, bad, "m")
		_, calls["SetMembers"] = s.SetMembers(ctx, bad)
		_, calls["SetContains"] = s.SetContains(ctx, bad, "m")
		calls["Schedule queue"] = s.Schedule(ctx, bad, "k", t0)
		calls["Schedule key"] = s.Schedule(ctx, "q", bad, t0)
		calls["Unschedule"] = s.Unschedule(ctx, "q", bad)
		_, calls["ClaimDue"] = s.ClaimDue(ctx, bad, t0, time.Second, 1)
		_, calls["Complete"] = s.Complete(ctx, "q", store.Claim{Key: bad})
		_, _, calls["NextDue"] = s.NextDue(ctx, bad)
		_, calls["Pending"] = s.Pending(ctx, bad, 1)
		_, calls["AcquireLease"] = s.AcquireLease(ctx, bad, "h", t0, time.Second)
		calls["ReleaseLease"] = s.ReleaseLease(ctx, bad, "h")
		_, calls["LeaseHolder"] = s.LeaseHolder(ctx, bad, t0)
		_, calls["MarkSeen"] = s.MarkSeen(ctx, bad, t0, time.Second)
		_, calls["WasSeen"] = s.WasSeen(ctx, bad, t0)
		calls["Forget"] = s.Forget(ctx, bad)
		_, calls["Append"] = s.Append(ctx, bad, nil)
		_, calls["ReadLog"] = s.ReadLog(ctx, bad, "", 1)
		_, calls["LastEntries"] = s.LastEntries(ctx, bad, 1)
		for name, err := range calls {
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s(%.10q): error %v, want ErrInvalid", name, bad, err)
			}
		}
	}
	// 512 bytes is still fine.
	okName := string(bytes.Repeat([]byte("n"), 512))
	_, err := s.Put(ctx, okName, okName, []byte("x"), store.NewDoc)
	must(t, "Put 512-byte names", err)
}
