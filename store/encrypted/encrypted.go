// Package encrypted encrypts what Vigil stores before it reaches the
// backend: a store.Store decorator that seals document data and log
// entries with XChaCha20-Poly1305, binding each ciphertext to its record
// (collection and id, or log name) so it cannot be moved to another.
//
// Keys come from configuration (store.encryption.keys): the first key
// encrypts, all of them decrypt, and each ciphertext carries the id of its
// key in a small header. The store also holds one random key of its own,
// the store key, sealed under a configured key in a sentinel record: it
// keys the blinded ids of collections whose ids come from outsiders, and
// encrypts log entries, which are append-only and so cannot be re-sealed
// by RotateKeys. Reading the sentinel at start (Open) is how a wrong key
// is caught before anything else runs.
//
// Sets, queues, leases, seen keys and counters pass through unchanged:
// their names and members are ids and clocks, which the scheduler and the
// lists need without a key (docs/ENCRYPTION.md has the table).
package encrypted

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/store"
)

// Store is the decorator Open returns.
//
// It does not embed the store it wraps: every method is written out (the
// ones that carry no record data in passthrough.go), so a primitive added
// to store.Store later does not compile here until someone decides how it
// is encrypted, rather than silently passing data through in the clear.
type Store struct {
	inner    store.Store
	keys     []Key
	storeKey []byte // the store key: logs
	blindKey []byte // derived from the store key: blinded ids
}

var _ store.Store = (*Store)(nil)
var _ store.Reader = (*Store)(nil)

// derive makes a sub-key of the store key for one purpose.
func derive(storeKey []byte, purpose string) []byte {
	m := hmac.New(sha256.New, storeKey)
	m.Write([]byte("vigil/" + purpose))
	return m.Sum(nil)
}

func newStore(b store.Store, keys []Key, storeKey []byte) *Store {
	return &Store{inner: b, keys: keys, storeKey: derive(storeKey, "log"), blindKey: derive(storeKey, "blind")}
}

// lookup finds a configured key, or the store's log key, by id.
func (s *Store) lookup(id string) ([]byte, bool) {
	if id == storeKeyID {
		return s.storeKey, true
	}
	return lookupKey(s.keys, id)
}

func lookupKey(keys []Key, id string) ([]byte, bool) {
	for i := range keys {
		if keys[i].ID == id {
			return keys[i].key[:], true
		}
	}
	return nil, false
}

// physID is the id a document is stored under: a keyed hash for a Blind
// collection, the id itself otherwise. Hashed ids start with "b." and are
// always valid names.
func (s *Store) physID(collection, id string) string {
	if treatment(collection) != Blind {
		return id
	}
	m := hmac.New(sha256.New, s.blindKey)
	m.Write([]byte(collection + "\x00" + id))
	return "b." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sealDoc is the one place a document is encrypted (phys is its stored
// id); openDoc the one place it is decrypted. A batch, a single Put and
// any later primitive (a read batch) go through these two.
func (s *Store) sealDoc(collection, phys string, data []byte) ([]byte, error) {
	if treatment(collection) == Clear {
		return data, nil
	}
	k := s.keys[0]
	return seal(k.ID, k.key[:], data, docAD(collection, phys))
}

func (s *Store) openDoc(collection, phys string, data []byte) ([]byte, error) {
	if !sealed(data) {
		// Stored in the clear, before encryption was turned on (or a
		// Clear collection); RotateKeys seals it.
		return data, nil
	}
	plain, err := open(data, docAD(collection, phys), s.lookup)
	if err != nil {
		return nil, fmt.Errorf("docs/%s/%s: %w", collection, phys, err)
	}
	return plain, nil
}

func (s *Store) Get(ctx context.Context, collection, id string) (store.Doc, error) {
	if err := s.checkDoc(collection, id); err != nil {
		return store.Doc{}, err
	}
	phys := s.physID(collection, id)
	d, err := s.inner.Get(ctx, collection, phys)
	if err != nil {
		return d, err
	}
	if d.Data, err = s.openDoc(collection, phys, d.Data); err != nil {
		return store.Doc{}, err
	}
	d.ID = id
	return d, nil
}

// GetMany reads the documents in one inner read and opens each, as Get
// does. A missing document comes back as the backends return it (its id,
// version 0, no data), with nothing to open.
func (s *Store) GetMany(ctx context.Context, collection string, ids []string) ([]store.Doc, error) {
	phys := make([]string, len(ids))
	for i, id := range ids {
		if err := s.checkDoc(collection, id); err != nil {
			return nil, err
		}
		phys[i] = s.physID(collection, id)
	}
	docs, err := s.inner.GetMany(ctx, collection, phys)
	if err != nil {
		return nil, err
	}
	if len(docs) != len(ids) {
		return nil, fmt.Errorf("get many docs/%s: %d answers for %d ids: %w", collection, len(docs), len(ids), store.ErrCorrupt)
	}
	for i := range docs {
		if docs[i].Version != 0 || len(docs[i].Data) > 0 {
			if docs[i].Data, err = s.openDoc(collection, phys[i], docs[i].Data); err != nil {
				return nil, err
			}
		}
		docs[i].ID = ids[i]
	}
	return docs, nil
}

func (s *Store) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	if err := s.checkDoc(collection, id); err != nil {
		return 0, err
	}
	phys := s.physID(collection, id)
	sealedData, err := s.sealDoc(collection, phys, data)
	if err != nil {
		return 0, fmt.Errorf("put docs/%s: encrypt: %w", collection, err)
	}
	n, err := s.inner.Put(ctx, collection, phys, sealedData, expect)
	return n, s.unblindConflict(err, id)
}

func (s *Store) Delete(ctx context.Context, collection, id string, expect int64) error {
	if err := s.checkDoc(collection, id); err != nil {
		return err
	}
	return s.unblindConflict(s.inner.Delete(ctx, collection, s.physID(collection, id), expect), id)
}

// List refuses a Blind collection: its stored ids are hashes, and the ids
// they stand for are not kept anywhere.
func (s *Store) List(ctx context.Context, collection string) ([]string, error) {
	if err := s.checkDoc(collection, "-"); err != nil {
		return nil, err
	}
	if treatment(collection) == Blind {
		return nil, fmt.Errorf("list docs/%s: %w: the ids of this collection are blinded (store encryption) and cannot be listed", collection, store.ErrInvalid)
	}
	return s.inner.List(ctx, collection)
}

// checkDoc refuses the sentinel's collection (the store key is not for
// callers to read or overwrite) and validates the caller's id of a Blind
// collection, which the backend's checks no longer see (they see its
// hash).
func (s *Store) checkDoc(collection, id string) error {
	if collection == sentinelColl {
		return fmt.Errorf("docs/%s: %w: reserved for store encryption", collection, store.ErrInvalid)
	}
	if treatment(collection) != Blind {
		return nil
	}
	if err := store.ValidNames("collection", collection, "id", id); err != nil {
		return fmt.Errorf("docs/%s: %w", collection, err)
	}
	return nil
}

// unblindConflict puts the caller's id back into a conflict of a single
// Put or Delete (the message, made by the backend, keeps the hash).
func (s *Store) unblindConflict(err error, id string) error {
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		ce.ID = id
	}
	return err
}

func (s *Store) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	out := make([]store.Op, len(ops))
	for i, o := range ops {
		switch o.Kind() {
		case store.OpPut:
			if err := s.checkDoc(o.Name(), o.Key()); err != nil {
				return nil, fmt.Errorf("apply: op %d of %d: %w", i+1, len(ops), err)
			}
			phys := s.physID(o.Name(), o.Key())
			data, err := s.sealDoc(o.Name(), phys, o.Data())
			if err != nil {
				return nil, fmt.Errorf("apply: op %d: encrypt: %w", i+1, err)
			}
			out[i] = store.PutOp(o.Name(), phys, data, o.Expect())
		case store.OpDelete:
			if err := s.checkDoc(o.Name(), o.Key()); err != nil {
				return nil, fmt.Errorf("apply: op %d of %d: %w", i+1, len(ops), err)
			}
			out[i] = store.DeleteOp(o.Name(), s.physID(o.Name(), o.Key()), o.Expect())
		case store.OpAppend:
			// Sealed as Append seals, so ReadLog opens it the same way.
			data, err := seal(storeKeyID, s.storeKey, o.Data(), logAD(o.Name()))
			if err != nil {
				return nil, fmt.Errorf("apply: op %d: encrypt: %w", i+1, err)
			}
			out[i] = store.AppendOp(o.Name(), data)
		default:
			out[i] = o
		}
	}
	versions, err := s.inner.Apply(ctx, out...)
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Op >= 1 && ce.Op <= len(ops) {
		ce.ID = ops[ce.Op-1].Key()
	}
	return versions, err
}

func (s *Store) Append(ctx context.Context, log string, data []byte) (string, error) {
	sealedData, err := seal(storeKeyID, s.storeKey, data, logAD(log))
	if err != nil {
		return "", fmt.Errorf("append %s: encrypt: %w", log, err)
	}
	return s.inner.Append(ctx, log, sealedData)
}

func (s *Store) ReadLog(ctx context.Context, log, after string, limit int) ([]store.LogEntry, error) {
	entries, err := s.inner.ReadLog(ctx, log, after, limit)
	if err != nil {
		return nil, err
	}
	return s.openEntries(log, entries)
}

func (s *Store) LastEntries(ctx context.Context, log string, n int) ([]store.LogEntry, error) {
	entries, err := s.inner.LastEntries(ctx, log, n)
	if err != nil {
		return nil, err
	}
	return s.openEntries(log, entries)
}

func (s *Store) openEntries(log string, entries []store.LogEntry) ([]store.LogEntry, error) {
	for i := range entries {
		if !sealed(entries[i].Data) {
			continue // appended before encryption was turned on
		}
		plain, err := open(entries[i].Data, logAD(log), s.lookup)
		if err != nil {
			return nil, fmt.Errorf("log %s entry %s: %w", log, entries[i].ID, err)
		}
		entries[i].Data = plain
	}
	return entries, nil
}
