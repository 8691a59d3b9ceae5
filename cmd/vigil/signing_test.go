package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/config"
)

// lockedSigningKey is an armored Ed25519 private key protected by
// passphrase, and its fingerprint as gpg shows it.
func lockedSigningKey(t *testing.T, passphrase string) (armored, fingerprint string) {
	t.Helper()
	e, err := openpgp.NewEntity("Release Team", "", "release@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.String(), fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// A wrong passphrase for releases.signing_key stops the start with an
// error naming the key, and neither the key nor the passphrase is shown;
// the right one starts, and the mailer reports the key's fingerprint.
func TestSigningKeyAtStart(t *testing.T) {
	key, fpr := lockedSigningKey(t, "correct horse")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "release.asc")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	yaml := "email:\n  outbound: {addr: \"127.0.0.1:1\", from: security@example.org, tls: none}\n" +
		"releases:\n  signing_key_file: " + keyFile + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	code, _, errOut := vigil(t, "", map[string]string{"VIGIL_RELEASES_SIGNING_PASSPHRASE": "battery staple"},
		"--console", "--config", cfg, "--data", t.TempDir(), "--clock", "2026-01-05T09:00:00Z")
	if code != 1 || !strings.Contains(errOut, "releases.signing_key") || !strings.Contains(errOut, "passphrase does not unlock") {
		t.Errorf("wrong passphrase: exit %d, stderr %q; want a start error naming releases.signing_key", code, errOut)
	}
	body := strings.Split(key, "\n")[3]
	if strings.Contains(errOut, "battery staple") || strings.Contains(errOut, body) {
		t.Errorf("the start error shows key material: %q", errOut)
	}

	code, out, errOut := vigil(t, "/sec release show X\n", map[string]string{"VIGIL_RELEASES_SIGNING_PASSPHRASE": "correct horse"},
		"--console", "--config", cfg, "--data", t.TempDir(), "--clock", "2026-01-05T09:00:00Z")
	if code != 0 {
		t.Fatalf("right passphrase: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(out+errOut, "correct horse") || strings.Contains(out+errOut, body) {
		t.Errorf("output shows key material:\n%s\n%s", out, errOut)
	}

	var c config.Config
	c.Email.Outbound = config.EmailOutbound{Addr: "127.0.0.1:1", From: "security@example.org", TLS: "none"}
	c.Releases.SigningKey, c.Releases.SigningPassphrase = config.NewSecret(key), config.NewSecret("correct horse")
	m, signedBy, err := newMailer(&c, clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), nil)
	if err != nil || m == nil || signedBy != fpr {
		t.Errorf("newMailer: %v, %v, fingerprint %q, want %q", m, err, signedBy, fpr)
	}
}
