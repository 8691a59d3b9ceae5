package embedded

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Apply applies ops in one bbolt transaction: each op runs the same helper
// as its single-operation method, so a batch reads its own earlier writes
// (a PutOp's version check sees the version a previous op of the batch left)
// and any error, a version conflict included, rolls the whole transaction
// back. bbolt commits with one fsync, so after a crash either every op is on
// disk or none is.
func (s *backend) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	versions := make([]int64, len(ops))
	err := s.update(ctx, func(tx *bolt.Tx) error {
		for i, o := range ops {
			if err := applyOp(tx, o, &versions[i]); err != nil {
				if ce := (*store.ConflictError)(nil); errors.As(err, &ce) {
					ce.Op = i + 1
					return ce
				}
				return fmt.Errorf("op %d (%s): %w", i+1, o, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return versions, nil
}

func applyOp(tx *bolt.Tx, o store.Op, version *int64) (err error) {
	switch o.Kind() {
	case store.OpPut:
		*version, err = putDoc(tx, o.Name(), o.Key(), o.Data(), o.Expect())
		return err
	case store.OpDelete:
		return deleteDoc(tx, o.Name(), o.Key(), o.Expect())
	case store.OpSetAdd:
		return setAdd(tx, o.Name(), o.Members())
	case store.OpSetRemove:
		return setRemove(tx, o.Name(), o.Members())
	case store.OpSchedule:
		return schedule(tx, o.Name(), o.Key(), o.Due())
	case store.OpUnschedule:
		return unschedule(tx, o.Name(), o.Key())
	case store.OpAppend:
		_, err = appendLog(tx, o.Name(), o.Data())
		return err
	}
	// store.Validating rejects unknown kinds before the transaction starts.
	return fmt.Errorf("%w: unknown op kind %v", store.ErrInvalid, o.Kind())
}
