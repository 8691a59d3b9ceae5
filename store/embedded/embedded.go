package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vigil-sec/vigil/store"
)

var _ store.Store = (*Store)(nil)

const (
	formatKey     = "format"
	formatVersion = "1"
	// lockTimeout bounds the wait for bbolt's file lock: a second vigil on
	// the same file should fail fast with a clear message, not hang.
	lockTimeout = time.Second
	// seenPurgeBatch is how many run-out seen records a MarkSeen removes
	// on the side; small enough to keep MarkSeen cheap, large enough to
	// outpace the rate at which records run out.
	seenPurgeBatch = 8
)

// Store is a store.Store in one bbolt file.
//
// Its store.Store methods are those of store.Validating wrapped around the
// unexported backend, which trusts its arguments. The wrapper is embedded
// rather than returned as a store.Store so that Open keeps returning
// *Store, with the same methods and the same errors for bad input as
// before the checks moved out of the backend, while no path from outside
// the package reaches the backend unchecked.
type Store struct {
	checked
	b *backend
}

// checked is the validating store.Store embedded in Store; an alias, so the
// embedded field stays unexported and its methods are promoted.
type checked = store.Store

// backend implements store.Store on the bbolt file without checking its
// arguments; store.Validating checks them and names the operation in
// every error, so backend methods return their errors bare.
type backend struct {
	db    *bolt.DB
	path  string
	batch bool
	// writing counts the writes in flight: a write batches only when it
	// has company.
	writing atomic.Int32
}

// Options tune an embedded store.
type Options struct {
	// BatchCommits lets concurrent writes share one bbolt transaction and
	// so one fsync (bbolt's DB.Batch): under many concurrent writers (a
	// busy intake API) the disk's sync rate stops bounding the write rate
	// (docs/BENCHMARKS.md). Each write still returns only after its own
	// commit is on disk, and a write that fails (a version conflict) is
	// rerun alone, so none sees another's failure. Only a write that starts
	// while another is in flight joins a batch, waiting up to BatchDelay
	// for company; a lone write commits at once as without batching.
	// Open turns it on.
	BatchCommits bool
	// BatchDelay bounds that wait (default 1ms; bbolt's own is 10ms).
	BatchDelay time.Duration
}

// Open opens (or creates) the store file at path. It creates the parent
// directory (0700) and the file (0600) when missing. An existing file that
// is empty, unreadable, or not a valid store is reported with an error
// wrapping store.ErrCorrupt and is left exactly as it was.
func Open(path string) (*Store, error) { return OpenWith(path, Options{BatchCommits: true}) }

// OpenWith is Open with options.
func OpenWith(path string, o Options) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("embedded: open: %w: empty path", store.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: open %s: create directory: %w", abs, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil:
		if err := check(abs, fi); err != nil {
			return nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("embedded: open %s: %w: %w", abs, store.ErrCorrupt, err)
	}
	db, err := openBolt(abs, false)
	if err != nil {
		return nil, err
	}
	if o.BatchCommits {
		db.MaxBatchDelay = cmp.Or(o.BatchDelay, time.Millisecond)
	}
	b := &backend{db: db, path: abs, batch: o.BatchCommits}
	if err := b.init(); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{checked: store.Validating("embedded", b), b: b}, nil
}

// check validates an existing file read-only before it is opened for
// writing: bbolt initialises an empty file in place and may write to a
// damaged one, and the store must never overwrite data it cannot read.
func check(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("embedded: open %s: %w: not a regular file", path, store.ErrCorrupt)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("embedded: open %s: %w: the file exists but is empty (an interrupted first start?); move it away to start afresh", path, store.ErrCorrupt)
	}
	db, err := openBolt(path, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return viewSafe(db, func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("embedded: open %s: %w: the file is truncated (%d of %d bytes)", path, store.ErrCorrupt, fi.Size(), tx.Size())
		}
		if m := tx.Bucket(bMeta); m != nil {
			if f := m.Get([]byte(formatKey)); f != nil && string(f) != formatVersion {
				return fmt.Errorf("embedded: open %s: %w: unknown store format %q", path, store.ErrCorrupt, f)
			}
		}
		return nil
	})
}

func openBolt(path string, readOnly bool) (db *bolt.DB, err error) {
	// bbolt can panic on a damaged file rather than return an error.
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("embedded: open %s: %w: %v", path, store.ErrCorrupt, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        lockTimeout,
		ReadOnly:       readOnly,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("embedded: open %s: another process is using %s (its file lock was held for %v)", path, path, lockTimeout)
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("embedded: open %s: %w: cannot read the file: %w", path, store.ErrCorrupt, err)
	default:
		// Invalid meta pages, checksum or version mismatch, short reads.
		return nil, fmt.Errorf("embedded: open %s: %w: not a readable store file: %w", path, store.ErrCorrupt, err)
	}
}

func (s *backend) init() error {
	err := s.update(context.Background(), func(tx *bolt.Tx) error {
		for _, name := range roots {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bMeta)
		if m.Get([]byte(formatKey)) == nil {
			return m.Put([]byte(formatKey), []byte(formatVersion))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded: init: %w", err)
	}
	return nil
}

func viewSafe(db *bolt.DB, fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", store.ErrCorrupt, r)
		}
	}()
	return db.View(fn)
}

// view and update run fn in a transaction. bbolt panics on some kinds of
// page damage; those panics become ErrCorrupt errors so one bad page does
// not take the bot down, and bbolt's own deferred rollback releases the
// writer lock. Their errors are bare: store.Validating adds the operation.
func (s *backend) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return viewSafe(s.db, fn)
}

func (s *backend) update(ctx context.Context, fn func(tx *bolt.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", store.ErrCorrupt, r)
		}
	}()
	company := s.writing.Add(1) > 1
	defer s.writing.Add(-1)
	if company && s.batch {
		// Batch runs fn on its own goroutine and turns a panic into an
		// error of its own type; recover here so it is ErrCorrupt as well.
		return s.db.Batch(func(tx *bolt.Tx) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%w: %v", store.ErrCorrupt, r)
				}
			}()
			return fn(tx)
		})
	}
	return s.db.Update(fn)
}

// Read answers queries in one transaction; see store.Reader.
func (s *Store) Read(ctx context.Context, qs ...store.Query) ([]store.Answer, error) {
	return s.checked.(store.Reader).Read(ctx, qs...)
}

// Ping reports whether the store is open.
func (s *backend) Ping(ctx context.Context) error {
	return s.view(ctx, func(*bolt.Tx) error { return nil })
}

// Describe says where the file is.
func (s *backend) Describe() string { return "embedded bbolt file " + s.path }

// Close closes the file.
func (s *backend) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close %s: %w", s.path, err)
	}
	return nil
}
