package email

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Signer signs outgoing mail as PGP/MIME (RFC 3156) with the release
// team's key. It is built once at start, so a bad key or passphrase is a
// start-up error rather than a failure of every signed notice.
type Signer struct {
	entity *openpgp.Entity
}

// NewSigner reads an ASCII-armored private key and unlocks it with
// passphrase (empty for an unprotected key). Errors describe the problem
// without quoting the key or the passphrase.
func NewSigner(armoredKey, passphrase string) (*Signer, error) {
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armoredKey))
	if err != nil {
		return nil, fmt.Errorf("reading the PGP signing key: %s", keyErr(err))
	}
	var signer *openpgp.Entity
	for _, e := range el {
		if e.PrivateKey == nil {
			continue
		}
		if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			if passphrase == "" {
				return nil, errors.New("the PGP signing key is protected by a passphrase; set its passphrase")
			}
			return nil, errors.New("the passphrase does not unlock the PGP signing key")
		}
		if signer == nil {
			signer = e
		}
	}
	if signer == nil {
		return nil, errors.New("the PGP signing key has no private part (export it with gpg --export-secret-keys --armor)")
	}
	// go-crypto stamps signatures with the wall clock (not Vigil's clock,
	// which a rehearsal may set back before the key existed), so the key
	// must be valid now by the wall clock too.
	if _, ok := signer.SigningKey(time.Now()); !ok {
		// Expired, revoked, or without a key flagged for signing.
		return nil, errors.New("the PGP signing key has no valid key usable for signing (expired or revoked?)")
	}
	return &Signer{entity: signer}, nil
}

// Fingerprint is the primary key's fingerprint in upper-case hex, as gpg
// shows it, for the notice that says which key signs.
func (s *Signer) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", s.entity.PrimaryKey.Fingerprint))
}

// signConfig fixes the hash to SHA-256, which micalg=pgp-sha256 names.
var signConfig = &packet.Config{DefaultHash: crypto.SHA256}

// signed writes h and body as a multipart/signed message: the first part
// is the text part (its own Content-Type and Content-Transfer-Encoding,
// canonical CRLF line endings, exactly the bytes signed), the second the
// armored detached signature over it.
func (s *Sender) signed(h mail.Header, body string, boundary string) ([]byte, error) {
	var part textproto.Header
	part.Set("Content-Type", "text/plain; charset=utf-8")
	// Quoted-printable or base64 only: RFC 3156 wants the signed part in
	// 7 bits, so that no relay re-encodes it and breaks the signature.
	enc := transferEncoding(body)
	part.Set("Content-Transfer-Encoding", enc)
	var inner bytes.Buffer
	if err := textproto.WriteHeader(&inner, part); err != nil {
		return nil, err
	}
	if enc == "base64" {
		b64 := base64.StdEncoding.EncodeToString([]byte(body))
		for len(b64) > 76 {
			inner.WriteString(b64[:76] + "\r\n")
			b64 = b64[76:]
		}
		inner.WriteString(b64 + "\r\n")
	} else {
		w := quotedprintable.NewWriter(&inner)
		if _, err := w.Write([]byte(body)); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	signedPart := canonicalCRLF(inner.Bytes())

	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, s.opts.Signer.entity, bytes.NewReader(signedPart), signConfig); err != nil {
		return nil, fmt.Errorf("signing: %s", cleanErr(err))
	}

	h.SetContentType("multipart/signed", map[string]string{
		"boundary": boundary,
		"micalg":   "pgp-sha256",
		"protocol": "application/pgp-signature",
	})
	h.Set("MIME-Version", "1.0")
	var buf bytes.Buffer
	if err := textproto.WriteHeader(&buf, h.Header.Header); err != nil {
		return nil, err
	}
	buf.WriteString("This is an OpenPGP/MIME signed message (RFC 4880 and 3156).\r\n")
	buf.WriteString("--" + boundary + "\r\n")
	buf.Write(signedPart)
	buf.WriteString("\r\n--" + boundary + "\r\n")
	buf.WriteString("Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n")
	buf.WriteString("Content-Description: OpenPGP digital signature\r\n")
	buf.WriteString("Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n")
	buf.Write(canonicalCRLF(sig.Bytes()))
	buf.WriteString("\r\n--" + boundary + "--\r\n")
	return buf.Bytes(), nil
}

// canonicalCRLF ends every line with CRLF (RFC 3156 section 5: the
// signature is over the canonical form, as the receiver will see it).
func canonicalCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}
