package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Get returns a document.
func (s *backend) Get(ctx context.Context, collection, id string) (store.Doc, error) {
	var d *store.Doc
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		d, err = readDoc(sub(tx, bDocs, collection), id)
		if d == nil && err == nil {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.Doc{}, err
	}
	return *d, nil
}

// GetMany reads the documents in one read transaction.
func (s *backend) GetMany(ctx context.Context, collection string, ids []string) ([]store.Doc, error) {
	out := make([]store.Doc, len(ids))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := sub(tx, bDocs, collection)
		for i, id := range ids {
			d, err := readDoc(b, id)
			if err != nil {
				return err
			}
			if d == nil {
				d = &store.Doc{ID: id}
			}
			out[i] = *d
		}
		return nil
	})
	return out, err
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
	if err := b.Put([]byte(id), rec); err != nil {
		return 0, err
	}
	return next, bumpStamp(tx, collection, "")
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
	if err := b.Delete([]byte(id)); err != nil {
		return err
	}
	return bumpStamp(tx, collection, "")
}

// Put writes a document under the compare-and-swap rule.
func (s *backend) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	var next int64
	err := s.update(ctx, func(tx *bolt.Tx) (err error) {
		next, err = putDoc(tx, collection, id, data, expect)
		return err
	})
	return next, err
}

// Delete removes a document under the compare-and-swap rule.
func (s *backend) Delete(ctx context.Context, collection, id string, expect int64) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		return deleteDoc(tx, collection, id, expect)
	})
}

// List returns the ids of a collection; bbolt keeps keys sorted bytewise.
func (s *backend) List(ctx context.Context, collection string) ([]string, error) {
	var ids []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ids = keys(sub(tx, bDocs, collection))
		return nil
	})
	return ids, err
}
