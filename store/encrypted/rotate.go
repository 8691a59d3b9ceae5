package encrypted

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/store"
)

// RotateStats counts what RotateKeys did.
type RotateStats struct {
	Records   int // documents looked at
	Resealed  int // re-encrypted under the first key (or encrypted for the first time)
	Skipped   int // already under the first key, or a Clear collection's
	Unblinded int // legacy ids of Blind collections moved to their hashed id
}

// progressEvery is how many records pass between two progress lines.
const progressEvery = 500

// RotateKeys re-encrypts every document of the collections in the table
// under keys[0], the newest key, and re-seals the store key under it too.
// Records already under keys[0] are skipped, so a run that stopped midway
// (a crash, Ctrl-C) is finished by running it again. It is safe beside a
// running Vigil: each record is written with the version it was read at,
// so a concurrent writer wins and the record is read again (and is then
// under the newest key already, as that writer used it). Records stored in
// the clear before encryption was turned on are encrypted; Blind
// collections' clear ids are moved to their hashes. progress gets a line
// per collection and every few hundred records.
//
// Log entries are sealed with the store key, which is re-sealed rather
// than changed, so they need no rewrite (docs/ENCRYPTION.md says what that
// means after a key is compromised).
func RotateKeys(ctx context.Context, b store.Store, keys []Key, progress func(string)) (RotateStats, error) {
	var st RotateStats
	if len(keys) == 0 {
		return st, errors.New("no keys configured (store.encryption.keys)")
	}
	storeKey, sen, err := loadStoreKey(ctx, b, keys)
	if err != nil {
		return st, err
	}
	if sen.keyID != keys[0].ID {
		data, err := seal(keys[0].ID, keys[0].key[:], storeKey, docAD(sentinelColl, sentinelID))
		if err != nil {
			return st, err
		}
		// The store key never changes, so a concurrent re-seal (another
		// rotate-key) writes the same plaintext: any version will do.
		if _, err := b.Put(ctx, sentinelColl, sentinelID, data, store.AnyVersion); err != nil {
			return st, fmt.Errorf("re-sealing the store key: %w", err)
		}
		progress(fmt.Sprintf("rotate-key: store key re-sealed under %q (was %q)", keys[0].ID, sen.keyID))
	}
	s := newStore(b, keys, storeKey)
	colls := make([]string, 0, len(Collections))
	for c, t := range Collections {
		if t != Clear {
			colls = append(colls, c)
		}
	}
	slices.Sort(colls)
	for _, coll := range colls {
		ids, err := b.List(ctx, coll)
		if err != nil {
			return st, err
		}
		before := st
		for i, id := range ids {
			if err := s.rotateOne(ctx, coll, id, &st); err != nil {
				return st, err
			}
			if (i+1)%progressEvery == 0 {
				progress(fmt.Sprintf("rotate-key: %s: %d/%d", coll, i+1, len(ids)))
			}
		}
		if len(ids) > 0 {
			progress(fmt.Sprintf("rotate-key: %s: %d/%d done (%d re-encrypted, %d already under %q)",
				coll, len(ids), len(ids), st.Resealed-before.Resealed, st.Skipped-before.Skipped, keys[0].ID))
		}
	}
	return st, nil
}

// rotateOne re-encrypts one stored record (phys is its stored id) under
// the first key, reading it again when a concurrent writer got there first.
func (s *Store) rotateOne(ctx context.Context, coll, phys string, st *RotateStats) error {
	st.Records++
	for {
		d, err := s.inner.Get(ctx, coll, phys)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		id, isSealed := keyIDOf(d.Data)
		legacyID := treatment(coll) == Blind && !strings.HasPrefix(phys, "b.")
		if isSealed && id == s.keys[0].ID && !legacyID {
			st.Skipped++
			return nil
		}
		plain, err := s.openDoc(coll, phys, d.Data)
		if err != nil {
			return err
		}
		if legacyID {
			err = s.moveLegacy(ctx, coll, phys, d.Version, plain)
			if err == nil {
				st.Unblinded++
				st.Resealed++
			}
		} else {
			var data []byte
			if data, err = s.sealDoc(coll, phys, plain); err != nil {
				return err
			}
			if _, err = s.inner.Put(ctx, coll, phys, data, d.Version); err == nil {
				st.Resealed++
			}
		}
		if errors.Is(err, store.ErrConflict) {
			continue // a concurrent writer won: read it again
		}
		return err
	}
}

// moveLegacy moves a Blind collection's document stored under its clear
// id (before encryption was on) to its hashed id, in one batch. If the
// hashed id exists already (written since), that one is newer and the
// clear one is only removed.
func (s *Store) moveLegacy(ctx context.Context, coll, id string, version int64, plain []byte) error {
	phys := s.physID(coll, id)
	data, err := s.sealDoc(coll, phys, plain)
	if err != nil {
		return err
	}
	_, err = s.inner.Apply(ctx, store.PutOp(coll, phys, data, store.NewDoc), store.DeleteOp(coll, id, version))
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Op == 1 {
		return s.inner.Delete(ctx, coll, id, version)
	}
	return err
}
