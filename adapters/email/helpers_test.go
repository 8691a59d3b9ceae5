package email

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vigil-sec/vigil/bot/intake"
)

// wait bounds every wait on a channel in these tests.
const wait = 10 * time.Second

var received = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// fakeSink records what it received. Calls pop errors from fail first, so
// a test can make the n-th Receive fail.
type fakeSink struct {
	mu   sync.Mutex
	got  []intake.Incoming
	fail []error
	// calls gets every Incoming offered, stored or not.
	calls chan intake.Incoming
}

func newSink(fail ...error) *fakeSink {
	return &fakeSink{fail: fail, calls: make(chan intake.Incoming, 100)}
}

func (s *fakeSink) Receive(_ context.Context, in intake.Incoming) (intake.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls <- in
	if len(s.fail) > 0 {
		err := s.fail[0]
		s.fail = s.fail[1:]
		if err != nil {
			return intake.Result{}, err
		}
	}
	s.got = append(s.got, in)
	return intake.Result{ReportID: "VIG-2026-1", Created: true}, nil
}

func (s *fakeSink) stored() []intake.Incoming {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]intake.Incoming(nil), s.got...)
}

// testKey is a team key made for the test (X25519, fast to generate).
type testKey struct {
	entity     *openpgp.Entity
	armoredKey string
}

func newTestKey(t *testing.T, passphrase string) testKey {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	e, err := openpgp.NewEntity("Security Team", "", "security@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if passphrase != "" {
		// Serialize without re-signing: the keys are locked.
		err = e.SerializePrivateWithoutSigning(w, nil)
	} else {
		err = e.SerializePrivate(w, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return testKey{entity: e, armoredKey: b.String()}
}

func (k testKey) keyring(t *testing.T) *Keyring {
	t.Helper()
	kr, err := NewKeyring(k.armoredKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// encrypt armors plaintext encrypted to k.
func (k testKey) encrypt(t *testing.T, plaintext string) string {
	t.Helper()
	var b bytes.Buffer
	aw, err := armor.Encode(&b, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := openpgp.Encrypt(aw, []*openpgp.Entity{k.entity}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write([]byte(plaintext)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	aw.Close()
	return b.String()
}

// crlf turns a readable test message into wire form.
func crlf(s string) string {
	return strings.ReplaceAll(strings.TrimPrefix(s, "\n"), "\n", "\r\n")
}

func armorPublic(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	w.Close()
	return b.String()
}
