package encrypted

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeySize is the length of a key in bytes (XChaCha20-Poly1305's key).
const KeySize = 32

// keyIDRE is what a key id may look like: short, printable, and safe to
// print in an error (it is not secret; it says which key to find).
var keyIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Key is one configured key: its id, stored beside every ciphertext made
// with it, and its 32 secret bytes.
type Key struct {
	ID  string
	key [KeySize]byte
}

// String names the key by id only, so a Key printed by mistake shows no
// secret.
func (k Key) String() string { return "key " + k.ID }

// GoString likewise for %#v.
func (k Key) GoString() string { return "encrypted.Key{ID: " + fmt.Sprintf("%q", k.ID) + "}" }

// ParseKeys reads the configured keys: entries "ID:BASE64" (32 bytes,
// standard or URL base64, padded or not) separated by commas, spaces or
// line breaks, so a key file may hold one key per line. The first key
// encrypts; every key decrypts. Errors name the entry's position and id,
// never its secret part.
func ParseKeys(s string) ([]Key, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, nil
	}
	keys := make([]Key, 0, len(fields))
	seen := map[string]bool{}
	for i, f := range fields {
		id, secret, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("key %d: want ID:BASE64 (make one with `vigil store gen-key`)", i+1)
		}
		if !keyIDRE.MatchString(id) {
			return nil, fmt.Errorf("key %d: the id must be 1 to 64 letters, digits, '.', '_' or '-'", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("key %d: id %q is listed twice", i+1, id)
		}
		seen[id] = true
		raw, err := decodeBase64(secret)
		if err != nil || len(raw) != KeySize {
			return nil, fmt.Errorf("key %d (id %q): want %d bytes in base64 after the id (make one with `vigil store gen-key`)", i+1, id, KeySize)
		}
		k := Key{ID: id}
		copy(k.key[:], raw)
		keys = append(keys, k)
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// GenerateKey returns a new random key as a config entry "ID:BASE64".
func GenerateKey(id string) (string, error) {
	if !keyIDRE.MatchString(id) {
		return "", fmt.Errorf("key id %q: want 1 to 64 letters, digits, '.', '_' or '-'", id)
	}
	var b [KeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b[:]), nil
}
