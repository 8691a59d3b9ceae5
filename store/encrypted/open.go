package encrypted

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vigil-sec/vigil/store"
)

// Open checks the configured keys against the store b and returns the
// store Vigil should use.
//
// With keys, it reads the sentinel record (the store key, sealed under a
// configured key), making it on a store that has none yet, and returns the
// decorator. A sentinel sealed under a key id that is not configured is a
// *MissingKeyError: Vigil must refuse to start rather than write records
// under one key that the team reads under another.
//
// Without keys, a store that has a sentinel is refused the same way (its
// records cannot be read); otherwise b is returned as is and logger warns,
// once, that embargoed details are stored in the clear.
func Open(ctx context.Context, b store.Store, keys []Key, logger *slog.Logger) (store.Store, error) {
	if len(keys) == 0 {
		d, err := b.Get(ctx, sentinelColl, sentinelID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			logger.Warn("store encryption is off: embargoed report details are stored in the clear (set store.encryption.keys, see docs/ENCRYPTION.md)")
			return b, nil
		case err != nil:
			return nil, fmt.Errorf("reading the encryption sentinel: %w", err)
		}
		id, _ := keyIDOf(d.Data)
		return nil, fmt.Errorf("the store is encrypted, but store.encryption.keys is empty: %w", &MissingKeyError{ID: id})
	}
	storeKey, _, err := loadStoreKey(ctx, b, keys)
	if err != nil {
		return nil, err
	}
	return newStore(b, keys, storeKey), nil
}

// loadStoreKey reads the store key from the sentinel, or makes and stores
// one on a store that has none (two replicas starting at once agree: the
// loser of the NewDoc write reads the winner's). It also returns the
// sentinel's version and the id of the key that seals it.
func loadStoreKey(ctx context.Context, b store.Store, keys []Key) ([]byte, sentinel, error) {
	for range 3 {
		d, err := b.Get(ctx, sentinelColl, sentinelID)
		if errors.Is(err, store.ErrNotFound) {
			fresh := make([]byte, KeySize)
			if _, err := rand.Read(fresh); err != nil {
				return nil, sentinel{}, err
			}
			data, err := seal(keys[0].ID, keys[0].key[:], fresh, docAD(sentinelColl, sentinelID))
			if err != nil {
				return nil, sentinel{}, err
			}
			v, err := b.Put(ctx, sentinelColl, sentinelID, data, store.NewDoc)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, sentinel{}, fmt.Errorf("storing the encryption sentinel: %w", err)
			}
			return fresh, sentinel{version: v, keyID: keys[0].ID}, nil
		}
		if err != nil {
			return nil, sentinel{}, fmt.Errorf("reading the encryption sentinel: %w", err)
		}
		key, err := open(d.Data, docAD(sentinelColl, sentinelID), func(id string) ([]byte, bool) { return lookupKey(keys, id) })
		if err != nil {
			return nil, sentinel{}, fmt.Errorf("the store's encryption sentinel: %w", err)
		}
		id, _ := keyIDOf(d.Data)
		return key, sentinel{version: d.Version, keyID: id}, nil
	}
	return nil, sentinel{}, fmt.Errorf("storing the encryption sentinel: %w", store.ErrConflict)
}

// sentinel is where the store key was found.
type sentinel struct {
	version int64
	keyID   string
}
