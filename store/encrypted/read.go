package encrypted

import (
	"context"
	"fmt"

	"github.com/vigil-sec/vigil/store"
)

// Read is store.Reader through the decorator, so the engine's cache (one
// round trip per read command) works with encryption on: seen marks and
// stamps pass through; documents are read under their stored ids and
// opened as Get opens them. A blinded collection cannot be read whole
// (its ids are keyed hashes), as List refuses it.
func (s *Store) Read(ctx context.Context, qs ...store.Query) ([]store.Answer, error) {
	r, ok := s.inner.(store.Reader)
	if !ok {
		return nil, fmt.Errorf("read: %w: the store underneath reads one thing at a time", store.ErrInvalid)
	}
	inner := make([]store.Query, len(qs))
	for i, q := range qs {
		switch q.Kind() {
		case store.QueryGet:
			if err := s.checkDoc(q.Name(), q.ID()); err != nil {
				return nil, err
			}
			inner[i] = store.GetQuery(q.Name(), s.physID(q.Name(), q.ID()))
		case store.QueryDocs:
			if err := s.checkDoc(q.Name(), "-"); err != nil {
				return nil, err
			}
			if treatment(q.Name()) == Blind {
				return nil, fmt.Errorf("%s: %w: the ids of this collection are blinded (store encryption) and cannot be read whole", q, store.ErrInvalid)
			}
			inner[i] = q
		default:
			inner[i] = q
		}
	}
	answers, err := r.Read(ctx, inner...)
	if err != nil {
		return nil, err
	}
	for i, q := range qs {
		a := &answers[i]
		switch q.Kind() {
		case store.QueryGet:
			if a.Err != nil {
				continue
			}
			if a.Doc.Data, err = s.openDoc(q.Name(), inner[i].ID(), a.Doc.Data); err != nil {
				return nil, err
			}
			a.Doc.ID = q.ID()
		case store.QueryDocs:
			for j := range a.Docs {
				if a.Docs[j].Data, err = s.openDoc(q.Name(), a.Docs[j].ID, a.Docs[j].Data); err != nil {
					return nil, err
				}
			}
		}
	}
	return answers, nil
}
