package config

import (
	"strings"
	"testing"
	"time"
)

func TestEmailOffByDefault(t *testing.T) {
	c, err := Load("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Email.ReceiverEnabled() || c.Email.IMAPEnabled() || c.Email.OutboundEnabled() {
		t.Errorf("email parts on without configuration: %+v", c.Email)
	}
	d := c.Email.WithDefaults()
	if d.MaxMessageBytes != 10<<20 || d.MaxAttachmentBytes != 5<<20 || d.IMAP.TLS != EmailTLSImplicit ||
		d.IMAP.Mailbox != "INBOX" || d.IMAP.Processed != "Processed" || d.IMAP.Interval.Std() != time.Minute ||
		d.Outbound.TLS != EmailTLSStartTLS {
		t.Errorf("defaults = %+v", d)
	}
}

func TestEmailLoads(t *testing.T) {
	key := secretFile(t, "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxyz\n-----END PGP PRIVATE KEY BLOCK-----\n")
	c, _, err := loadYAML(t, `
email:
  max_message_bytes: 2000000
  max_attachment_bytes: 1000000
  pgp_private_key_file: `+key+`
  smtp_receiver:
    listen: 127.0.0.1:2525
    recipients: [security@example.org]
    allowed_clients: [10.0.0.0/8, 127.0.0.1]
  imap:
    addr: imap.example.org:993
    username: security@example.org
    password: imap-pw
    interval: 30s
  outbound:
    addr: smtp.example.org:587
    username: vigil
    from: "Example Security <security@example.org>"
`, map[string]string{"VIGIL_EMAIL_OUTBOUND_PASSWORD": "relay-pw", "VIGIL_EMAIL_PGP_PASSPHRASE": "pass"})
	if err != nil {
		t.Fatal(err)
	}
	e := c.Email.WithDefaults()
	if !e.ReceiverEnabled() || !e.IMAPEnabled() || !e.OutboundEnabled() {
		t.Fatalf("parts not enabled: %+v", e)
	}
	if !strings.Contains(e.PGPPrivateKey.Value(), "BEGIN PGP PRIVATE KEY BLOCK") || e.PGPPassphrase.Value() != "pass" {
		t.Error("PGP secrets not read from file and env")
	}
	if e.IMAP.Password.Value() != "imap-pw" || e.Outbound.Password.Value() != "relay-pw" || e.IMAP.Interval.Std() != 30*time.Second {
		t.Errorf("imap/outbound = %+v / %+v", e.IMAP, e.Outbound)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"imap-pw", "relay-pw", "xyz", "pass\n"} {
		if strings.Contains(string(out), s) {
			t.Errorf("--print shows a secret %q", s)
		}
	}
}

func TestEmailValidation(t *testing.T) {
	tests := []struct {
		name, src string
		key       string
		line      int
		msg       string
	}{
		{"receiver needs recipients", "email:\n  smtp_receiver:\n    listen: ':2525'\n", "email.smtp_receiver.recipients", 2, "required when listen is set"},
		{"receiver listen", "email:\n  smtp_receiver:\n    listen: '2525'\n    recipients: [a@b.c]\n", "email.smtp_receiver.listen", 3, "want host:port"},
		{"recipient address", "email:\n  smtp_receiver:\n    recipients: [a@b.c, 'not an address']\n", "email.smtp_receiver.recipients[1]", 3, "want an address"},
		{"allowed clients", "email:\n  smtp_receiver:\n    allowed_clients: [10.0.0/8]\n", "email.smtp_receiver.allowed_clients[0]", 3, "want an IP prefix"},
		{"imap needs password", "email:\n  imap:\n    addr: imap.example.org:993\n    username: u\n", "email.imap.password", 2, "required when addr is set"},
		{"imap plain off loopback", "email:\n  imap:\n    addr: imap.example.org:143\n    tls: none\n    username: u\n    password: SECRET-PW\n", "email.imap.tls", 4, "only allowed for a loopback host"},
		{"imap tls mode", "email:\n  imap:\n    addr: imap.example.org:993\n    tls: ssl\n    username: u\n    password: SECRET-PW\n", "email.imap.tls", 4, `unknown mode "ssl"`},
		{"imap folders", "email:\n  imap:\n    addr: 127.0.0.1:143\n    tls: none\n    username: u\n    password: SECRET-PW\n    processed: INBOX\n", "email.imap.processed", 7, "must differ from mailbox"},
		{"imap interval", "email:\n  imap:\n    addr: 127.0.0.1:143\n    tls: none\n    username: u\n    password: SECRET-PW\n    interval: 1s\n", "email.imap.interval", 7, "at least 10s"},
		{"outbound needs from", "email:\n  outbound:\n    addr: smtp.example.org:587\n", "email.outbound.from", 2, "required when addr is set"},
		{"outbound addr", "email:\n  outbound:\n    addr: smtp.example.org\n    from: a@b.c\n", "email.outbound.addr", 3, "want host:port"},
		{"password without user", "email:\n  outbound:\n    password: SECRET-PW\n", "email.outbound.username", 2, "required when password is set"},
		{"pgp armor", "email:\n  pgp_private_key: SECRET-KEY-MATERIAL\n", "email.pgp_private_key", 2, "ASCII-armored private key"},
		{"passphrase alone", "email:\n  pgp_passphrase: SECRET-PASS\n", "email.pgp_passphrase", 2, "without pgp_private_key"},
		{"negative size", "email:\n  max_message_bytes: -1\n", "email.max_message_bytes", 2, "must not be negative"},
		{"attachment over message", "email:\n  max_message_bytes: 1000\n  max_attachment_bytes: 2000\n", "email.max_attachment_bytes", 3, "larger than max_message_bytes"},
	}
	// A missing key is reported at its section's line, as everywhere in
	// this package.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestEmailEnvProblemNamesVariable(t *testing.T) {
	_, err := Load("", envMap(map[string]string{"VIGIL_EMAIL_SMTP_LISTEN": "nope"}))
	ps := problemsOf(t, err)
	found := false
	for _, p := range ps {
		if p.Key == "email.smtp_receiver.listen" && p.Env == "VIGIL_EMAIL_SMTP_LISTEN" {
			found = true
		}
	}
	if !found {
		t.Errorf("problems %v: want one at env VIGIL_EMAIL_SMTP_LISTEN", err)
	}
}
