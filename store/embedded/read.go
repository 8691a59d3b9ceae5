package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Read answers every query in one transaction: a read-only one, or a
// writable one when a query marks a key seen (one commit, one fsync).
// All answers come from the same instant.
func (s *backend) Read(ctx context.Context, qs ...store.Query) ([]store.Answer, error) {
	answers := make([]store.Answer, len(qs))
	run := func(tx *bolt.Tx) error {
		for i, q := range qs {
			if err := answer(tx, q, &answers[i]); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}
	writes := false
	for _, q := range qs {
		writes = writes || q.Kind() == store.QueryMarkSeen
	}
	var err error
	if writes {
		err = s.update(ctx, run)
	} else {
		err = s.view(ctx, run)
	}
	if err != nil {
		return nil, err
	}
	return answers, nil
}

func answer(tx *bolt.Tx, q store.Query, a *store.Answer) (err error) {
	stamps := tx.Bucket(bStamps)
	switch q.Kind() {
	case store.QueryMarkSeen:
		a.First, err = markSeen(tx, q.Name(), q.Now(), q.TTL())
		return err
	case store.QueryStamp:
		a.Stamp = readStamp(stamps, []byte(store.StampField(q.Name(), q.Set())))
		return nil
	case store.QueryGet:
		d, err := readDoc(sub(tx, bDocs, q.Name()), q.ID())
		if d == nil && err == nil {
			a.Err = fmt.Errorf("%s: %w", q, store.ErrNotFound)
			return nil
		}
		if d != nil {
			a.Doc = *d
		}
		return err
	}
	// store.QueryDocs; Validating rejects the rest.
	a.Stamp = readStamp(stamps, []byte(store.StampField(q.Name(), "")))
	docs := sub(tx, bDocs, q.Name())
	var ids []string
	if q.Set() != "" {
		a.SetStamp = readStamp(stamps, []byte(store.StampField("", q.Set())))
		ids = keys(sub(tx, bSets, q.Set()))
	} else {
		ids = keys(docs)
	}
	a.Docs = make([]store.Doc, 0, len(ids))
	for _, id := range ids {
		d, err := readDoc(docs, id)
		if err != nil {
			return err
		}
		if d != nil {
			a.Docs = append(a.Docs, *d)
		}
	}
	return nil
}

// readDoc reads a document of bucket b (nil: the collection is empty); nil
// when it does not exist. The data is copied out of the mmap.
func readDoc(b *bolt.Bucket, id string) (*store.Doc, error) {
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	if len(v) < 8 {
		return nil, fmt.Errorf("%w: document record of %d bytes", store.ErrCorrupt, len(v))
	}
	return &store.Doc{ID: id, Version: int64(binary.BigEndian.Uint64(v)), Data: bytes.Clone(v[8:])}, nil
}
