package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// SetAdd adds members to a set.
func (s *backend) SetAdd(ctx context.Context, set string, members ...string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return setAdd(tx, set, members) })
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
	return bumpStamp(tx, "", set)
}

// SetRemove removes members from a set.
func (s *backend) SetRemove(ctx context.Context, set string, members ...string) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return setRemove(tx, set, members) })
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
	return bumpStamp(tx, "", set)
}

// SetMembers returns the members, sorted.
func (s *backend) SetMembers(ctx context.Context, set string) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = keys(sub(tx, bSets, set))
		return nil
	})
	return out, err
}

// SetContains reports whether member is in set.
func (s *backend) SetContains(ctx context.Context, set, member string) (bool, error) {
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if b := sub(tx, bSets, set); b != nil {
			ok = b.Get([]byte(member)) != nil
		}
		return nil
	})
	return ok, err
}
