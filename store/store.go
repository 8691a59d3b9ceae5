// Package store defines the persistence primitives Vigil's engine is built on.
//
// The primitives are deliberately small and generic (documents with
// compare-and-swap, sets, a due-queue with atomic claims, a lease, seen-once
// keys, append-only logs, all-or-nothing batches of writes, atomic
// counters, and several reads in one round trip with the version stamps
// every write bumps: store.Reader in read.go) so that both backends, store/redis and store/embedded, can
// implement them natively and one conformance suite (store/storetest) keeps
// them honest.
//
// Time is always passed in by the caller. The engine reads an injected clock
// (bot/clock), so leases, TTLs and due times follow a fake clock in tests and
// rehearsals exactly as they follow the wall clock in production.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Implementations wrap them with context; callers match
// them with errors.Is.
var (
	// ErrNotFound: the document (or log, or queue item) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap saw a different version than expected.
	ErrConflict = errors.New("version conflict")
	// ErrUnavailable: the backend cannot be reached right now (Redis down,
	// network error). The operation did not happen; retrying later is safe.
	ErrUnavailable = errors.New("store unavailable")
	// ErrCorrupt: the stored data cannot be read. The backend never
	// overwrites corrupt data.
	ErrCorrupt = errors.New("store data corrupt")
	// ErrInvalid: the caller passed an empty name or id, or a bad argument.
	ErrInvalid = errors.New("invalid store argument")
)

// Doc is a stored document. Version starts at 1 on creation and increases by
// one on every successful Put.
type Doc struct {
	ID      string
	Version int64
	Data    []byte
}

// AnyVersion, passed as the expected version to Put or Delete, skips the
// compare-and-swap check. NewDoc (0) requires that the document does not
// exist yet.
const (
	AnyVersion int64 = -1
	NewDoc     int64 = 0
)

// DueItem is an entry of a due-queue: a key and the time it falls due.
type DueItem struct {
	Key string
	Due time.Time
}

// Claim is a due item claimed by one worker. Until ClaimedUntil the item is
// invisible to other claims; if the worker does not Complete or reschedule it
// by then (it crashed), the item becomes due again. Handlers therefore must be
// idempotent, which the engine makes them through seen-once keys.
type Claim struct {
	Key          string
	Due          time.Time // when it originally fell due
	ClaimedUntil time.Time
}

// LogEntry is one entry of an append-only log. IDs are opaque, increase
// with every append, and are only meaningful to the store that made them.
type LogEntry struct {
	ID   string
	Data []byte
}

// Documents are JSON (or any bytes) by collection and id, with versions.
type Documents interface {
	// Get returns the document or an error wrapping ErrNotFound.
	Get(ctx context.Context, collection, id string) (Doc, error)
	// Put writes the document if its current version equals expect
	// (NewDoc: must not exist; AnyVersion: unconditional) and returns the
	// new version. A mismatch returns an error wrapping ErrConflict.
	Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error)
	// Delete removes the document under the same version rule as Put.
	// Deleting a missing document with AnyVersion is not an error.
	Delete(ctx context.Context, collection, id string, expect int64) error
	// List returns the ids in a collection, sorted.
	List(ctx context.Context, collection string) ([]string, error)
	// GetMany reads several documents of one collection in one read (one
	// round trip on Redis), in the order of ids. A missing document is
	// returned as a Doc with its ID, Version 0 and no Data, not an error:
	// the caller reading an index decides what a gone entry means.
	GetMany(ctx context.Context, collection string, ids []string) ([]Doc, error)
}

// Sets are unordered sets of strings, used as indexes.
type Sets interface {
	SetAdd(ctx context.Context, set string, members ...string) error
	SetRemove(ctx context.Context, set string, members ...string) error
	// SetMembers returns the members, sorted.
	SetMembers(ctx context.Context, set string) ([]string, error)
	SetContains(ctx context.Context, set, member string) (bool, error)
}

// Queues are due-queues: keys ordered by the time they fall due.
type Queues interface {
	// Schedule sets (or moves) key's due time.
	Schedule(ctx context.Context, queue, key string, due time.Time) error
	// Unschedule removes key; removing a missing key is not an error.
	Unschedule(ctx context.Context, queue, key string) error
	// ClaimDue atomically claims up to limit items due at or before now,
	// earliest first, hiding each until now+hold.
	ClaimDue(ctx context.Context, queue string, now time.Time, hold time.Duration, limit int) ([]Claim, error)
	// Complete removes a claimed item, but only if it is still held by that
	// claim: an item that was rescheduled or re-claimed meanwhile stays.
	// It reports whether the item was removed.
	Complete(ctx context.Context, queue string, c Claim) (bool, error)
	// NextDue returns the earliest item (claimed or not) or ok=false when
	// the queue is empty.
	NextDue(ctx context.Context, queue string) (item DueItem, ok bool, err error)
	// Pending returns up to limit items in due order without claiming them.
	Pending(ctx context.Context, queue string, limit int) ([]DueItem, error)
	// PendingMany is Pending of several queues in one read (one round trip
	// on Redis), each cut at until: for queues[i], up to limit items that
	// become claimable at or before until, in due order.
	PendingMany(ctx context.Context, queues []string, until time.Time, limit int) ([][]DueItem, error)
}

// Leases elect a leader among replicas.
type Leases interface {
	// AcquireLease takes or renews the lease for holder until now+ttl. It
	// fails (false, nil) while another holder's lease has not run out.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseHolder returns the current holder, or "" when the lease is free
	// (never taken, released, or run out at now).
	LeaseHolder(ctx context.Context, name string, now time.Time) (string, error)
}

// Seen records keys once (webhook deliveries, sent notifications).
type Seen interface {
	// MarkSeen records key until now+ttl. It returns true if the key was
	// not already recorded (or its record had run out): the caller is
	// the first and should act.
	MarkSeen(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
	// WasSeen reports whether key is recorded and not run out at now.
	WasSeen(ctx context.Context, key string, now time.Time) (bool, error)
	// Forget removes a record, so the key can be claimed again (used when
	// the action it guarded failed and must be retried).
	Forget(ctx context.Context, key string) error
}

// Logs are append-only.
type Logs interface {
	// Append adds an entry and returns its id.
	Append(ctx context.Context, log string, data []byte) (string, error)
	// ReadLog returns up to limit entries after the entry with id after
	// ("" = from the start), oldest first.
	ReadLog(ctx context.Context, log, after string, limit int) ([]LogEntry, error)
	// LastEntries returns the last n entries, oldest first.
	LastEntries(ctx context.Context, log string, n int) ([]LogEntry, error)
}

// Store is everything a backend provides.
type Store interface {
	Documents
	Sets
	Queues
	Leases
	Seen
	Logs
	Batches
	Counters
	// Ping checks that the backend is reachable.
	Ping(ctx context.Context) error
	// Describe says where the data lives, for the start-up line; it never
	// contains credentials.
	Describe() string
	Close() error
}

// ValidName checks a collection, set, queue, lease or log name or a document
// id: non-empty, no NUL, at most 512 bytes. Validating calls it before a
// backend sees the name, so both backends reject the same input.
func ValidName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, kind)
	}
	if len(name) > 512 {
		return fmt.Errorf("%w: %s is longer than 512 bytes", ErrInvalid, kind)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, kind)
		}
	}
	return nil
}

// ValidNames checks pairs of (kind, name) with ValidName, in order.
func ValidNames(kindNames ...string) error {
	for i := 0; i+1 < len(kindNames); i += 2 {
		if err := ValidName(kindNames[i], kindNames[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// ValidMembers checks set members like names.
func ValidMembers(members []string) error {
	for _, m := range members {
		if err := ValidName("member", m); err != nil {
			return err
		}
	}
	return nil
}
