// Package storetest is the conformance suite for store.Store backends.
//
// Every backend runs Run against a fresh store; a behaviour the suite does not
// pin down is a behaviour the engine must not rely on. Besides the contract
// written in store.go, the suite fixes these details so both backends agree:
//
//   - Names (collections, ids, sets, members, queues, keys, leases, logs) are
//     checked with store.ValidName; a bad one gives an error wrapping
//     store.ErrInvalid.
//   - Times are kept at millisecond resolution (Redis sorted-set scores are
//     milliseconds); callers should not expect sub-millisecond precision back.
//   - A negative limit or count is ErrInvalid; zero returns nothing. A hold or
//     ttl that is not positive is ErrInvalid: a zero hold could hand the same
//     claim out twice at one instant, and a zero ttl records nothing.
//   - Put or Delete with an expected version on a missing document fails with
//     an error matching both store.ErrConflict and store.ErrNotFound. Delete
//     with store.NewDoc is ErrInvalid (there is nothing to compare).
//   - NextDue and Pending order items by the time they next become claimable:
//     for an item held by a claim that is ClaimedUntil, because that is when it
//     falls due again. Equal times are ordered by key.
//   - A lease or seen record is live while now is before its expiry; at the
//     expiry instant it has run out.
//   - Reading a log that was never appended to returns no entries, not an
//     error; an `after` id the store could not have made is ErrInvalid.
//   - Apply validates the whole batch before writing anything; a zero Op (not
//     made by a constructor) is ErrInvalid. Its ops see the writes of the
//     earlier ops of the same batch (versions, set members, queue entries).
//     A version conflict is a *store.ConflictError whose Op is the 1-based
//     position of the failing op, wrapped with the backend's context.
//   - Counter names follow store.ValidName; counters start at 0, so the
//     first Incr returns 1.
//   - Every backend is a store.Reader. A Read with one invalid query is
//     ErrInvalid and marks nothing. A collection's stamp moves with every
//     Put, Delete and Apply of its documents, a set's with every SetAdd,
//     SetRemove and Apply of its members, and neither with a refused write
//     or a write elsewhere.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// t0 is an arbitrary, millisecond-aligned instant; the suite never reads the
// wall clock.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// Run runs the conformance suite. open must return a fresh, empty store for
// every call; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("Ping", func(t *testing.T) {
		s := fresh(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if s.Describe() == "" {
			t.Error("Describe is empty")
		}
	})
	t.Run("Documents", func(t *testing.T) { testDocuments(t, fresh) })
	t.Run("Sets", func(t *testing.T) { testSets(t, fresh) })
	t.Run("Queues", func(t *testing.T) { testQueues(t, fresh) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, fresh) })
	t.Run("Seen", func(t *testing.T) { testSeen(t, fresh) })
	t.Run("Logs", func(t *testing.T) { testLogs(t, fresh) })
	t.Run("InvalidNames", func(t *testing.T) { testInvalid(t, fresh) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, fresh) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, fresh) })
	t.Run("ReadMany", func(t *testing.T) { testReadMany(t, fresh) })
	t.Run("Read", func(t *testing.T) { testRead(t, fresh) })
}

type opener func(t *testing.T) store.Store

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %q", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// untilDone runs workers goroutines that each call try until it has
// succeeded each times. A try failing with ErrConflict lost a race and is
// repeated; any other error fails the test.
func untilDone(t *testing.T, workers, each int, try func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for done := 0; done < each; {
				switch err := try(); {
				case err == nil:
					done++
				case !errors.Is(err, store.ErrConflict):
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
