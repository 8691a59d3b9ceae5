package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/emersion/go-message"
)

const (
	pgpBegin = "-----BEGIN PGP MESSAGE-----"
	pgpEnd   = "-----END PGP MESSAGE-----"
	// maxInlineBlocks bounds the armored blocks decrypted in one text part.
	maxInlineBlocks = 8
)

// Keyring holds the team's private key for decrypting reports. It is
// built once at start, so a bad key or passphrase is a start-up error
// rather than a note on every encrypted report.
type Keyring struct {
	entities openpgp.EntityList
}

// NewKeyring reads an ASCII-armored private key and unlocks it with
// passphrase (empty for an unprotected key). Errors describe the problem
// without quoting the key or the passphrase.
func NewKeyring(armoredKey, passphrase string) (*Keyring, error) {
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armoredKey))
	if err != nil {
		return nil, fmt.Errorf("reading the PGP private key: %s", keyErr(err))
	}
	var private int
	for _, e := range el {
		if e.PrivateKey == nil {
			continue
		}
		private++
		if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			if passphrase == "" {
				return nil, errors.New("the PGP private key is protected by a passphrase; set email.pgp_passphrase")
			}
			return nil, errors.New("the PGP passphrase does not unlock the private key")
		}
	}
	if private == 0 {
		return nil, errors.New("the PGP key has no private part (export it with gpg --export-secret-keys --armor)")
	}
	if len(el.DecryptionKeys()) == 0 {
		return nil, errors.New("the PGP private key has no key usable for decryption")
	}
	return &Keyring{entities: el}, nil
}

// keyErr names an OpenPGP error kind; the library's messages may include
// packet details, never key material, but a fixed wording is simpler to
// trust.
func keyErr(err error) string {
	var se pgperrors.StructuralError
	var ue pgperrors.UnsupportedError
	switch {
	case errors.As(err, &se):
		return "malformed key"
	case errors.As(err, &ue):
		return "unsupported key: " + string(ue)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "no armored key found (want -----BEGIN PGP PRIVATE KEY BLOCK-----)"
	}
	return "not a usable armored key"
}

// decrypt reads one armored OpenPGP message and returns its plaintext,
// capped at limit bytes (a compressed packet can inflate far beyond the
// mail's size).
func (k *Keyring) decrypt(armored []byte, limit int64) (plain []byte, cut bool, err error) {
	if k == nil {
		return nil, false, errors.New("no team PGP key is configured")
	}
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, false, fmt.Errorf("bad ASCII armor: %s", cleanErr(err))
	}
	if block.Type != "PGP MESSAGE" {
		return nil, false, fmt.Errorf("armor holds a %q, not a PGP MESSAGE", cleanLine(block.Type, 40))
	}
	md, err := openpgp.ReadMessage(block.Body, k.entities, nil, nil)
	if err != nil {
		if errors.Is(err, pgperrors.ErrKeyIncorrect) {
			return nil, false, errors.New("it is not encrypted to the team key")
		}
		return nil, false, fmt.Errorf("%s", cleanErr(err))
	}
	plain, cut, err = readCapped(md.UnverifiedBody, limit)
	if err != nil {
		// Plaintext that failed to decrypt to the end is unverified: it
		// is not shown, and the note says why.
		return nil, false, fmt.Errorf("decryption failed part way: %s", cleanErr(err))
	}
	if !cut {
		// Draining to EOF checks the integrity tag (MDC or AEAD); a
		// tampered or truncated message fails here.
		if _, err := io.Copy(io.Discard, md.UnverifiedBody); err != nil {
			return nil, false, fmt.Errorf("integrity check failed: %s", cleanErr(err))
		}
	}
	return plain, cut, nil
}

// pgpMIME handles multipart/encrypted (RFC 3156): the second part holds
// the armored message, whose plaintext is itself a MIME entity.
func (p *parser) pgpMIME(e *message.Entity, params map[string]string, depth int) {
	mr := e.MultipartReader()
	var armored []byte
	if mr != nil {
		for i := 0; i < 4; i++ {
			part, err := mr.NextPart()
			if part == nil || err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				if err != nil && !errors.Is(err, io.EOF) {
					p.note("a part of the encrypted message could not be read (%s); parts after it were not read", cleanErr(err))
				}
				break
			}
			t, _, _ := part.Header.ContentType()
			data, _, rerr := readCapped(part.Body, p.opts.MaxAttachmentBytes+int64(p.opts.MaxBodyBytes))
			if rerr != nil {
				p.note("%s of the encrypted message could not be read to the end (%s); the %d bytes before the error are kept", describe(part, t, i+1), cleanErr(rerr), len(data))
			}
			if t == "application/octet-stream" || bytes.Contains(data, []byte(pgpBegin)) {
				armored = data
				break
			}
		}
	}
	if armored == nil {
		p.note("encrypted report could not be decrypted: the multipart/encrypted message has no encrypted part")
		return
	}
	if proto := strings.ToLower(params["protocol"]); proto != "" && proto != "application/pgp-encrypted" {
		p.note("encrypted report could not be decrypted: unsupported protocol %q", cleanLine(proto, 60))
		p.plain = append(p.plain, toText(armored))
		return
	}
	plain, cut, err := p.opts.Keyring.decrypt(armored, p.opts.MaxAttachmentBytes+int64(p.opts.MaxBodyBytes))
	if err != nil {
		p.note("encrypted report could not be decrypted: %s", err)
		p.plain = append(p.plain, toText(armored))
		return
	}
	if cut {
		p.note("the decrypted report was too large and was cut")
	}
	p.note("the report was encrypted to the team key and has been decrypted")
	inner, err := message.ReadWithOptions(bytes.NewReader(plain), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	if inner == nil {
		p.note("the decrypted content is not MIME (%s); it is shown as text", cleanErr(err))
		p.plain = append(p.plain, toText(plain))
		return
	}
	if err != nil {
		p.note("%s", encodingNote("the decrypted message", err))
	}
	h := inner.Header
	p.innerHeader = &h
	p.walk(inner, depth+1)
}

// inlinePGP replaces each armored block in text by its plaintext; a block
// that cannot be decrypted stays as it was, with a note.
func (p *parser) inlinePGP(text string) string {
	var out strings.Builder
	rest := text
	for i := 0; i < maxInlineBlocks; i++ {
		start := strings.Index(rest, pgpBegin)
		if start < 0 {
			break
		}
		end := strings.Index(rest[start:], pgpEnd)
		if end < 0 {
			p.note("encrypted report could not be decrypted: the PGP block has no end line")
			break
		}
		end += start + len(pgpEnd)
		out.WriteString(rest[:start])
		block := rest[start:end]
		plain, cut, err := p.opts.Keyring.decrypt([]byte(block), int64(p.opts.MaxBodyBytes))
		if err != nil {
			p.note("encrypted report could not be decrypted: %s", err)
			out.WriteString(block)
		} else {
			if cut {
				p.note("the decrypted report was too large and was cut")
			}
			p.note("the report was encrypted to the team key and has been decrypted")
			out.WriteString(toText(plain))
		}
		rest = rest[end:]
	}
	out.WriteString(rest)
	return out.String()
}
