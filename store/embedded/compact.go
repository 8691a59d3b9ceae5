package embedded

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Compact rewrites the store file at path into a fresh file holding only
// the live data, and puts it in place. bbolt reuses freed pages but never
// clears them, so a file keeps old versions of records (stored in the
// clear before encryption was on, or under a key since rotated away) until
// they happen to be overwritten; `vigil store rotate-key` compacts so that
// they are gone. The file must not be in use (its lock is held throughout,
// so a Vigil starting meanwhile fails fast rather than open the old file).
func Compact(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("embedded: compact %s: %w", path, err)
	}
	src, err := openBolt(abs, false)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := abs + ".compact"
	_ = os.Remove(tmp) // left by an interrupted run
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return fmt.Errorf("embedded: compact %s: %w", abs, err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact %s: %w", abs, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact %s: %w", abs, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact %s: %w", abs, err)
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(filepath.Dir(abs)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
