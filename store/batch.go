package store

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// OpKind says what an Op writes.
type OpKind uint8

// The kinds of batch operation. The zero OpKind is an Op built without a
// constructor, which Apply rejects as ErrInvalid.
const (
	OpPut OpKind = iota + 1
	OpDelete
	OpSetAdd
	OpSetRemove
	OpSchedule
	OpUnschedule
	OpAppend
)

func (k OpKind) String() string {
	switch k {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpSetAdd:
		return "set add"
	case OpSetRemove:
		return "set remove"
	case OpSchedule:
		return "schedule"
	case OpUnschedule:
		return "unschedule"
	case OpAppend:
		return "append"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one write of an atomic batch; build it with the constructors below.
// The fields are read by backends through the accessor methods; an Op is a
// value and is never changed after construction.
type Op struct {
	kind    OpKind
	name    string // collection, set or queue
	key     string // document id or queue key
	data    []byte
	expect  int64
	members []string
	due     time.Time
}

// PutOp writes a document like Documents.Put: expect is NewDoc, AnyVersion
// or the version the document must have (as left by the earlier ops of the
// same batch). data is copied, so the caller may reuse its slice.
func PutOp(collection, id string, data []byte, expect int64) Op {
	return Op{kind: OpPut, name: collection, key: id, data: bytes.Clone(data), expect: expect}
}

// DeleteOp removes a document like Documents.Delete (AnyVersion of a missing
// document is not an error; NewDoc is invalid).
func DeleteOp(collection, id string, expect int64) Op {
	return Op{kind: OpDelete, name: collection, key: id, expect: expect}
}

// SetAddOp adds members to a set, like Sets.SetAdd.
func SetAddOp(set string, members ...string) Op {
	return Op{kind: OpSetAdd, name: set, members: append([]string(nil), members...)}
}

// SetRemoveOp removes members from a set, like Sets.SetRemove.
func SetRemoveOp(set string, members ...string) Op {
	return Op{kind: OpSetRemove, name: set, members: append([]string(nil), members...)}
}

// ScheduleOp sets or moves key's due time, like Queues.Schedule: it also
// ends any claim on the key.
func ScheduleOp(queue, key string, due time.Time) Op {
	return Op{kind: OpSchedule, name: queue, key: key, due: due}
}

// UnscheduleOp removes key from the queue, like Queues.Unschedule.
func UnscheduleOp(queue, key string) Op {
	return Op{kind: OpUnschedule, name: queue, key: key}
}

// AppendOp adds an entry to a log, like Logs.Append (an audit entry written
// with the change it records). Its id is not returned: Apply's result holds
// 0 for it. data is copied.
func AppendOp(log string, data []byte) Op {
	return Op{kind: OpAppend, name: log, data: bytes.Clone(data)}
}

// Kind says what the op writes.
func (o Op) Kind() OpKind { return o.kind }

// Name is the collection (OpPut, OpDelete), set (OpSetAdd, OpSetRemove),
// queue (OpSchedule, OpUnschedule) or log (OpAppend) the op writes to.
func (o Op) Name() string { return o.name }

// Key is the document id (OpPut, OpDelete) or the queue key (OpSchedule,
// OpUnschedule); empty for set ops.
func (o Op) Key() string { return o.key }

// Data is the document of an OpPut or the entry of an OpAppend. Backends
// must not modify it.
func (o Op) Data() []byte { return o.data }

// Expect is the expected version of an OpPut or OpDelete.
func (o Op) Expect() int64 { return o.expect }

// Members are the members of an OpSetAdd or OpSetRemove. Backends must not
// modify the slice.
func (o Op) Members() []string { return o.members }

// Due is the due time of an OpSchedule.
func (o Op) Due() time.Time { return o.due }

// String names the op for errors and logs, e.g. "put docs/reports/r1". It
// contains names only, never document data.
func (o Op) String() string {
	switch o.kind {
	case OpPut, OpDelete:
		return o.kind.String() + " docs/" + o.name + "/" + o.key
	case OpSetAdd, OpSetRemove:
		return o.kind.String() + " " + o.name
	case OpSchedule, OpUnschedule:
		return o.kind.String() + " " + o.name + "/" + o.key
	case OpAppend:
		return o.kind.String() + " log/" + o.name
	}
	return o.kind.String()
}

// Validate checks the op's names and arguments with the same rules as the
// single-operation methods. Validating calls it (through ValidateOps) before
// writing anything.
func (o Op) Validate() error {
	switch o.kind {
	case OpPut, OpDelete:
		if err := ValidNames("collection", o.name, "id", o.key); err != nil {
			return err
		}
		return CheckExpect(o.expect, o.kind == OpDelete)
	case OpSetAdd, OpSetRemove:
		if err := ValidNames("set", o.name); err != nil {
			return err
		}
		return ValidMembers(o.members)
	case OpSchedule, OpUnschedule:
		return ValidNames("queue", o.name, "key", o.key)
	case OpAppend:
		return ValidName("log", o.name)
	}
	return fmt.Errorf("%w: an op not made by a constructor (kind %d)", ErrInvalid, o.kind)
}

// ValidateOps validates every op of a batch and names the first bad one
// (1-based position and what it writes) in the error, which wraps
// ErrInvalid.
func ValidateOps(ops []Op) error {
	for i, o := range ops {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("op %d of %d (%s): %w", i+1, len(ops), o, err)
		}
	}
	return nil
}

// CheckExpect checks an expected version given to Put (forDelete false) or
// Delete: below AnyVersion is invalid, and Delete with NewDoc has nothing
// to compare.
func CheckExpect(expect int64, forDelete bool) error {
	if expect < AnyVersion || (forDelete && expect == NewDoc) {
		return fmt.Errorf("%w: expected version %d", ErrInvalid, expect)
	}
	return nil
}

// Batches apply several writes at once.
type Batches interface {
	// Apply applies ops in order, all or none. If a PutOp or DeleteOp's
	// expected version does not hold (checked against the state as left by
	// the earlier ops of the same batch), nothing at all is written and the
	// error wraps ErrConflict and is (errors.As) a *ConflictError naming the
	// op. Invalid names/arguments wrap ErrInvalid before anything is written.
	// It returns, index-aligned with ops, the new version of each PutOp's
	// document (0 for other ops). An empty batch is a no-op.
	Apply(ctx context.Context, ops ...Op) ([]int64, error)
}

// ConflictError says which document of a batch had another version.
type ConflictError struct {
	Collection, ID string
	Expected, Have int64 // Have 0: the document does not exist
	// Op is the 1-based position of the failing op in its batch; 0 when
	// the conflict came from a single Put or Delete.
	Op int
}

// Error names the op, the document and both versions; never the data.
func (e *ConflictError) Error() string {
	// A single Put or Delete is wrapped with the document's name already.
	where := ""
	if e.Op > 0 {
		where = fmt.Sprintf(" at op %d (docs/%s/%s)", e.Op, e.Collection, e.ID)
	}
	if e.Have == 0 {
		return fmt.Sprintf("%v%s: expected version %d: the document does not exist", ErrConflict, where, e.Expected)
	}
	return fmt.Sprintf("%v%s: expected version %d, have %d", ErrConflict, where, e.Expected, e.Have)
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Is also matches ErrNotFound when the document does not exist, as a
// single Put or Delete with an expected version does.
func (e *ConflictError) Is(target error) bool {
	return e.Have == 0 && target == ErrNotFound
}

// Counters are atomic counters shared by every replica.
type Counters interface {
	// Incr adds one to the named counter (absent = 0) and returns the new
	// value. Concurrent callers, on any replica, always get distinct values; it never
	// fails with ErrConflict.
	Incr(ctx context.Context, name string) (int64, error)
}
