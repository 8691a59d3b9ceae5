package encrypted

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/vigil-sec/vigil/store"
)

// The envelope of an encrypted record:
//
//	magic (4 bytes: 0x00 'v' 'e' 0x01, the last being the format version)
//	key id length (1 byte), key id
//	nonce (24 bytes)
//	XChaCha20-Poly1305 ciphertext and tag
//
// The key id is in the clear so a reader knows which key to use (or which
// one it lacks). Plain records (stored before encryption was turned on)
// never start with a NUL byte: they are JSON or ids.
var magic = []byte{0x00, 'v', 'e', 0x01}

// storeKeyID is the key id of records sealed with the store's own data
// key (log entries), which no configured key may take: '~' is not allowed
// in a configured id.
const storeKeyID = "~store"

// sealed reports whether data is an envelope.
func sealed(data []byte) bool { return bytes.HasPrefix(data, magic) }

// keyIDOf returns the key id of an envelope, or ok=false for a plain
// record or a malformed header.
func keyIDOf(data []byte) (string, bool) {
	if !sealed(data) || len(data) < len(magic)+1 {
		return "", false
	}
	n := int(data[len(magic)])
	if len(data) < len(magic)+1+n {
		return "", false
	}
	return string(data[len(magic)+1 : len(magic)+1+n]), true
}

// seal encrypts plain under key (named id) with ad bound to it.
func seal(id string, key []byte, plain, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(magic)+1+len(id)+aead.NonceSize()+len(plain)+aead.Overhead())
	out = append(out, magic...)
	out = append(out, byte(len(id)))
	out = append(out, id...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, ad), nil
}

// open decrypts an envelope made by seal with the key it names, found by
// lookup. A key id lookup does not know is a *MissingKeyError; a record
// that does not authenticate (changed, or moved from another record: the
// associated data differs) is ErrCorrupt.
func open(data, ad []byte, lookup func(id string) ([]byte, bool)) ([]byte, error) {
	id, ok := keyIDOf(data)
	if !ok {
		return nil, fmt.Errorf("%w: malformed encryption header", store.ErrCorrupt)
	}
	key, ok := lookup(id)
	if !ok {
		return nil, &MissingKeyError{ID: id}
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	rest := data[len(magic)+1+len(id):]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: encrypted record too short", store.ErrCorrupt)
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: encrypted record does not authenticate under key %q (changed, or moved from another record)", store.ErrCorrupt, id)
	}
	return plain, nil
}

// MissingKeyError: a record is encrypted under a key id that is not
// configured. It names the id (not secret) so the operator knows which key
// to add back; it wraps store.ErrCorrupt (the record cannot be read).
type MissingKeyError struct{ ID string }

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("encrypted under key %q, which is not configured: add it to store.encryption.keys", e.ID)
}

// Unwrap returns store.ErrCorrupt.
func (e *MissingKeyError) Unwrap() error { return store.ErrCorrupt }

// docAD and logAD are the associated data: a document's ciphertext is bound
// to its collection and id, a log entry's to its log, so no ciphertext can
// be moved to another record and read there.
func docAD(collection, id string) []byte { return []byte("vigil/doc\x00" + collection + "\x00" + id) }

func logAD(log string) []byte { return []byte("vigil/log\x00" + log) }
