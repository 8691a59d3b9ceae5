package console

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-sec/vigil/bot"
)

// maxSameName bounds the numbered names tried for one file ("chart-2.png"
// ... ) before giving up; a folder holding that many copies is a sign of
// something else going wrong.
const maxSameName = 1000

// saveFile writes one of a message's files into the files folder and
// returns the line that tells where. The name is the file's SafeName (no
// path, no control characters), made unique with a number: nothing in
// the folder is ever overwritten, and the file is created exclusively, so
// a link planted under that name is not followed. Files are private to
// the user (0600): a chart may hold report figures. A failure is printed
// instead: the message itself is out, and the console takes everything.
func (a *Adapter) saveFile(f bot.File) string {
	name := f.SafeName()
	alt := ""
	if f.Alt != "" {
		alt = " — " + Inert(f.SafeAlt())
	}
	if a.files == "" {
		return fmt.Sprintf("  📎 %s (%d bytes, not saved: no files folder)%s\n", Inert(name), len(f.Data), alt)
	}
	path, err := writeUnique(a.files, name, f.Data)
	if err != nil {
		return fmt.Sprintf("  📎 %s (%d bytes) could not be saved: %s\n", Inert(name), len(f.Data), Inert(err.Error()))
	}
	return fmt.Sprintf("  📎 %s%s\n", Inert(path), alt)
}

// writeUnique creates dir/name, or dir/base-2.ext, -3 ... when taken, and
// writes data into it.
func writeUnique(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("files folder: %w", err)
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for n := 1; n <= maxSameName; n++ {
		candidate := name
		if n > 1 {
			candidate = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		path := filepath.Join(dir, candidate)
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create %s: %w", candidate, err)
		}
		_, werr := fh.Write(data)
		cerr := fh.Close()
		if err := errors.Join(werr, cerr); err != nil {
			_ = os.Remove(path)
			return "", fmt.Errorf("write %s: %w", candidate, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("%d files named like %s already", maxSameName, name)
}
