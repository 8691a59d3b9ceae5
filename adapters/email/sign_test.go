package email

import (
	"bytes"
	"crypto"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message"
)

// signedParts parses a multipart/signed mail as a receiver would: the
// first part's raw bytes (what was signed) and the armored signature.
func signedParts(t *testing.T, raw []byte) (signedPart, sig []byte) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ct, params, err := e.Header.ContentType()
	if err != nil {
		t.Fatal(err)
	}
	if ct != "multipart/signed" || params["micalg"] != "pgp-sha256" || params["protocol"] != "application/pgp-signature" {
		t.Fatalf("Content-Type %s %v: want multipart/signed; micalg=pgp-sha256; protocol=application/pgp-signature", ct, params)
	}
	body, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	delim := []byte("\r\n--" + params["boundary"])
	parts := bytes.Split(append([]byte("\r\n"), body...), delim)
	if len(parts) != 4 || !bytes.HasPrefix(parts[3], []byte("--")) {
		t.Fatalf("want a preamble, two parts and the close delimiter, got %d pieces:\n%s", len(parts), body)
	}
	// Each part starts after the CRLF that ends its delimiter line.
	signedPart = bytes.TrimPrefix(parts[1], []byte("\r\n"))
	sigPart, err := message.Read(bytes.NewReader(bytes.TrimPrefix(parts[2], []byte("\r\n"))))
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := sigPart.Header.ContentType(); st != "application/pgp-signature" {
		t.Fatalf("second part is %s, want application/pgp-signature", st)
	}
	sig, err = io.ReadAll(sigPart.Body)
	if err != nil {
		t.Fatal(err)
	}
	return signedPart, sig
}

func TestSignedMailVerifies(t *testing.T) {
	key := newTestKey(t, "correct horse")
	signer, err := NewSigner(key.armoredKey, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ToUpper(strings.ReplaceAll(key.entity.PrimaryKey.KeyIdString(), " ", "")); !strings.HasSuffix(signer.Fingerprint(), want) || len(signer.Fingerprint()) < 40 {
		t.Errorf("fingerprint %q does not end in the key id %s", signer.Fingerprint(), want)
	}
	public := openpgp.EntityList{key.entity}
	s := newTestSender(t, SenderOptions{Addr: "relay.example.org:25", Signer: signer})

	for name, body := range map[string]string{
		"ascii":         "Embargoed until 4 Dec.\nTrailing space \nFrom the team\n",
		"non-ascii/b64": "日本語のお知らせ。日本語のお知らせ。日本語のお知らせ。\n二行目",
		"bare CR LF":    "one\r\ntwo\nthree",
	} {
		t.Run(name, func(t *testing.T) {
			m := ackMail
			m.Body, m.Sign = body, true
			raw, err := s.Build(m)
			if err != nil {
				t.Fatal(err)
			}
			signedPart, sig := signedParts(t, raw)
			if _, err := openpgp.CheckArmoredDetachedSignature(public, bytes.NewReader(canonicalCRLF(signedPart)), bytes.NewReader(sig), nil); err != nil {
				t.Fatalf("signature does not verify: %v\n%s", err, raw)
			}
			if h := sigHash(t, sig); h != crypto.SHA256 {
				t.Errorf("signature hash %v, want SHA-256 as micalg=pgp-sha256 says", h)
			}
			inner, err := message.Read(bytes.NewReader(signedPart))
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(inner.Body)
			want := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
			if string(text) != want {
				t.Errorf("signed text = %q, want %q", text, want)
			}

			// One byte of the body changed (the last one of the text
			// before the closing CRLF): the signature fails.
			i := bytes.Index(raw, signedPart) + len(signedPart) - 3
			tampered := bytes.Clone(raw)
			tampered[i] ^= 0x01
			signedPart, sig = signedParts(t, tampered)
			if _, err := openpgp.CheckArmoredDetachedSignature(public, bytes.NewReader(canonicalCRLF(signedPart)), bytes.NewReader(sig), nil); err == nil {
				t.Error("a body with one byte changed still verifies")
			}
		})
	}
}

// sigHash is the hash an armored detached signature was made with.
func sigHash(t *testing.T, armored []byte) crypto.Hash {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		t.Fatalf("signature part holds a %T", p)
	}
	return sig.Hash
}

func TestSignedMailHeaders(t *testing.T) {
	key := newTestKey(t, "")
	signer, err := NewSigner(key.armoredKey, "")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSender(t, SenderOptions{Addr: "relay.example.org:25", Signer: signer})
	m := ackMail
	m.Sign = true
	raw, err := s.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"From", "To", "Subject", "Message-Id", "In-Reply-To", "References", "Date", "Auto-Submitted", "Mime-Version"} {
		if e.Header.Get(f) == "" {
			t.Errorf("signed mail has no %s header", f)
		}
	}
	if e.Header.Get("Content-Transfer-Encoding") != "" {
		t.Error("a multipart/signed mail has a top-level Content-Transfer-Encoding")
	}
}

func TestSignRequiresSigner(t *testing.T) {
	s := newTestSender(t, SenderOptions{Addr: "relay.example.org:25"})
	m := ackMail
	m.Sign = true
	if _, err := s.Build(m); err == nil || !strings.Contains(err.Error(), "no signing key") {
		t.Errorf("signed mail without a signer: err = %v, want a refusal (never sent unsigned)", err)
	}
}

func TestNewSigner(t *testing.T) {
	locked := newTestKey(t, "correct horse")
	for name, tt := range map[string]struct{ key, pass, want string }{
		"wrong passphrase": {locked.armoredKey, "battery staple", "passphrase does not unlock"},
		"no passphrase":    {locked.armoredKey, "", "protected by a passphrase"},
		"garbage":          {"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nSECRETSTUFF\n-----END PGP PRIVATE KEY BLOCK-----\n", "", "reading the PGP signing key"},
		"empty":            {"", "", "reading the PGP signing key"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewSigner(tt.key, tt.pass)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRETSTUFF") || strings.Contains(err.Error(), "PRIVATE KEY") || (tt.pass != "" && strings.Contains(err.Error(), tt.pass)) {
				t.Errorf("error leaks key material: %v", err)
			}
		})
	}
	var pub bytes.Buffer
	if err := locked.entity.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(armorPublic(t, pub.Bytes()), ""); err == nil || !strings.Contains(err.Error(), "no private part") {
		t.Errorf("public key: err = %v", err)
	}
}

// The unsigned path is unchanged by the signing code: Sign false with a
// signer configured builds the same bytes as a sender without one.
func TestUnsignedUnchangedWithSigner(t *testing.T) {
	key := newTestKey(t, "")
	signer, err := NewSigner(key.armoredKey, "")
	if err != nil {
		t.Fatal(err)
	}
	plain := newTestSender(t, SenderOptions{Addr: "relay.example.org:25"})
	withKey := newTestSender(t, SenderOptions{Addr: "relay.example.org:25", Signer: signer})
	a, err := plain.Build(ackMail)
	if err != nil {
		t.Fatal(err)
	}
	b, err := withKey.Build(ackMail)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("unsigned mail differs when a signer is configured:\n%s\n---\n%s", a, b)
	}
}
