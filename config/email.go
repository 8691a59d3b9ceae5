package config

import (
	"net"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Email configures the security mailbox: reports arriving by SMTP
// (forwarded to Vigil) or fetched by IMAP, and mail sent to reporters.
// Each part is off until its address is set. Zero sizes, durations and
// empty names mean the defaults (see WithDefaults).
type Email struct {
	// MaxMessageBytes is the largest mail accepted (10 MiB).
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxAttachmentBytes is how much of each attachment is kept (5 MiB).
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
	// PGPPrivateKey is the team's ASCII-armored private key, to decrypt
	// reports encrypted to it.
	PGPPrivateKey Secret `yaml:"pgp_private_key" env:"VIGIL_EMAIL_PGP_PRIVATE_KEY"`
	// PGPPassphrase unlocks PGPPrivateKey, if it is protected.
	PGPPassphrase Secret            `yaml:"pgp_passphrase" env:"VIGIL_EMAIL_PGP_PASSPHRASE"`
	SMTPReceiver  EmailSMTPReceiver `yaml:"smtp_receiver"`
	IMAP          EmailIMAP         `yaml:"imap"`
	Outbound      EmailOutbound     `yaml:"outbound"`
}

// EmailSMTPReceiver is an SMTP listener for mail forwarded to Vigil.
type EmailSMTPReceiver struct {
	// Listen is host:port; empty turns the receiver off.
	Listen string `yaml:"listen" env:"VIGIL_EMAIL_SMTP_LISTEN"`
	// Recipients are the only addresses accepted (others get 550).
	Recipients []string `yaml:"recipients"`
	// AllowedClients limits who may connect (CIDR prefixes or addresses).
	// Empty means loopback only (127.0.0.0/8, ::1): the usual set-up is an
	// MTA on the same host forwarding security@ to Vigil. ["any"] opens
	// the receiver to every address, which is logged at start.
	AllowedClients []string `yaml:"allowed_clients"`
	// Hostname is announced in the SMTP greeting (vigil).
	Hostname string `yaml:"hostname"`
	// MaxConnections caps open connections in total (100) and
	// MaxConnectionsPerClient per client address (10); past either a
	// client is answered 421 and disconnected, so one client's idle
	// connections cannot lock the others out.
	MaxConnections          int `yaml:"max_connections"`
	MaxConnectionsPerClient int `yaml:"max_connections_per_client"`
	// IdleTimeout is how long a connection may take from connecting (or
	// from its last mail) to MAIL FROM (30s); after that the per-command
	// read timeout applies.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// TLSCertFile and TLSKeyFile (PEM) turn on STARTTLS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// Username and Password turn on AUTH PLAIN and require it before MAIL
	// FROM. AUTH is only offered over TLS or to loopback clients.
	Username string `yaml:"username" env:"VIGIL_EMAIL_SMTP_USERNAME"`
	Password Secret `yaml:"password" env:"VIGIL_EMAIL_SMTP_PASSWORD"`
}

// AllowAnyClient is the allowed_clients entry that opens the receiver to
// every address.
const AllowAnyClient = "any"

// SMTP receiver defaults, applied by WithDefaults.
const (
	DefaultSMTPMaxConnections          = 100
	DefaultSMTPMaxConnectionsPerClient = 10
	DefaultSMTPIdleTimeout             = Duration(30 * time.Second)
)

// EmailIMAP is a mailbox polled for reports.
type EmailIMAP struct {
	// Addr is host:port of the IMAP server; empty turns polling off.
	Addr     string   `yaml:"addr" env:"VIGIL_EMAIL_IMAP_ADDR"`
	TLS      EmailTLS `yaml:"tls"`
	Username string   `yaml:"username" env:"VIGIL_EMAIL_IMAP_USERNAME"`
	Password Secret   `yaml:"password" env:"VIGIL_EMAIL_IMAP_PASSWORD"`
	Mailbox  string   `yaml:"mailbox"`
	// Processed is where filed mail is moved (created when missing).
	Processed string   `yaml:"processed"`
	Interval  Duration `yaml:"interval"`
}

// EmailOutbound is the relay for mail to reporters and operators.
type EmailOutbound struct {
	// Addr is host:port of the relay; empty turns outbound mail off.
	Addr     string   `yaml:"addr" env:"VIGIL_EMAIL_OUTBOUND_ADDR"`
	TLS      EmailTLS `yaml:"tls"`
	Username string   `yaml:"username" env:"VIGIL_EMAIL_OUTBOUND_USERNAME"`
	Password Secret   `yaml:"password" env:"VIGIL_EMAIL_OUTBOUND_PASSWORD"`
	// From is the sender, e.g. "Example Security <security@example.org>".
	From string `yaml:"from" env:"VIGIL_EMAIL_FROM"`
}

// EmailTLS is how a mail connection is secured: implicit, starttls or
// none (loopback only).
type EmailTLS string

// The mail TLS modes.
const (
	EmailTLSImplicit EmailTLS = "implicit"
	EmailTLSStartTLS EmailTLS = "starttls"
	EmailTLSNone     EmailTLS = "none"
)

// Email defaults, applied by WithDefaults.
const (
	DefaultEmailMaxMessageBytes    = 10 << 20
	DefaultEmailMaxAttachmentBytes = 5 << 20
	DefaultEmailMailbox            = "INBOX"
	DefaultEmailProcessed          = "Processed"
	DefaultEmailInterval           = Duration(time.Minute)
	minEmailInterval               = Duration(10 * time.Second)
)

// ReceiverEnabled, IMAPEnabled and OutboundEnabled report which parts are
// configured.
func (e Email) ReceiverEnabled() bool { return e.SMTPReceiver.Listen != "" }
func (e Email) IMAPEnabled() bool     { return e.IMAP.Addr != "" }
func (e Email) OutboundEnabled() bool { return e.Outbound.Addr != "" }

// WithDefaults returns e with zero values replaced by the defaults: IMAP
// over implicit TLS, outbound over STARTTLS, INBOX moved to Processed
// every minute, 10 MiB mails and 5 MiB attachments.
func (e Email) WithDefaults() Email {
	if e.MaxMessageBytes == 0 {
		e.MaxMessageBytes = DefaultEmailMaxMessageBytes
	}
	if e.MaxAttachmentBytes == 0 {
		e.MaxAttachmentBytes = DefaultEmailMaxAttachmentBytes
	}
	if e.IMAP.TLS == "" {
		e.IMAP.TLS = EmailTLSImplicit
	}
	if e.IMAP.Mailbox == "" {
		e.IMAP.Mailbox = DefaultEmailMailbox
	}
	if e.IMAP.Processed == "" {
		e.IMAP.Processed = DefaultEmailProcessed
	}
	if e.IMAP.Interval == 0 {
		e.IMAP.Interval = DefaultEmailInterval
	}
	if e.Outbound.TLS == "" {
		e.Outbound.TLS = EmailTLSStartTLS
	}
	if e.SMTPReceiver.MaxConnections == 0 {
		e.SMTPReceiver.MaxConnections = DefaultSMTPMaxConnections
	}
	if e.SMTPReceiver.MaxConnectionsPerClient == 0 {
		e.SMTPReceiver.MaxConnectionsPerClient = DefaultSMTPMaxConnectionsPerClient
	}
	if e.SMTPReceiver.IdleTimeout == 0 {
		e.SMTPReceiver.IdleTimeout = DefaultSMTPIdleTimeout
	}
	return e
}

const pgpKeyHeader = "-----BEGIN PGP PRIVATE KEY BLOCK-----"

// validateEmail checks the email section. Messages name keys and never
// quote a password, key or passphrase. The key itself is parsed by the
// email adapter at start; here only its armor is checked.
func validateEmail(c *Config, report func(key, msg string)) {
	e := c.Email.WithDefaults()
	if c.Email.MaxMessageBytes < 0 {
		report("email.max_message_bytes", msgf("must not be negative, got %d", c.Email.MaxMessageBytes))
	}
	if c.Email.MaxAttachmentBytes < 0 {
		report("email.max_attachment_bytes", msgf("must not be negative, got %d", c.Email.MaxAttachmentBytes))
	} else if e.MaxAttachmentBytes > e.MaxMessageBytes && e.MaxMessageBytes > 0 {
		report("email.max_attachment_bytes", msgf("is larger than max_message_bytes (%d): an attachment cannot be bigger than its mail", e.MaxMessageBytes))
	}
	if !e.PGPPrivateKey.IsZero() && !strings.Contains(e.PGPPrivateKey.Value(), pgpKeyHeader) {
		report("email.pgp_private_key", "want an ASCII-armored private key ("+pgpKeyHeader+"), as from gpg --export-secret-keys --armor")
	}
	if e.PGPPrivateKey.IsZero() && !e.PGPPassphrase.IsZero() {
		report("email.pgp_passphrase", "set without pgp_private_key")
	}

	r := e.SMTPReceiver
	if r.Listen != "" {
		if msg := checkListen(r.Listen); msg != "" {
			report("email.smtp_receiver.listen", msg)
		}
		if len(r.Recipients) == 0 {
			report("email.smtp_receiver.recipients", "required when listen is set: the addresses reports are sent to (others are refused)")
		}
	}
	for i, a := range r.Recipients {
		if !validAddress(a) {
			report("email.smtp_receiver.recipients["+strconv.Itoa(i)+"]", msgf("want an address such as security@example.org, got %q", a))
		}
	}
	onlyLoopback := true
	for i, s := range r.AllowedClients {
		if s == AllowAnyClient {
			onlyLoopback = false
			if len(r.AllowedClients) > 1 {
				report("email.smtp_receiver.allowed_clients", msgf("%q opens the receiver to every address; list it alone", AllowAnyClient))
			}
			continue
		}
		p, err := ParsePrefix(s)
		if err != nil {
			report("email.smtp_receiver.allowed_clients["+strconv.Itoa(i)+"]", msgf("want an IP prefix such as 10.0.0.0/8, an address, or %q, got %q", AllowAnyClient, s))
			continue
		}
		if !loopbackPrefix(p) {
			onlyLoopback = false
		}
	}
	if hasSpace(r.Hostname) {
		report("email.smtp_receiver.hostname", msgf("must not contain spaces, got %q", r.Hostname))
	}
	if r.MaxConnections < 0 || r.MaxConnections > 10_000 {
		report("email.smtp_receiver.max_connections", msgf("must be between 1 and 10000, got %d", r.MaxConnections))
	}
	if r.MaxConnectionsPerClient < 0 || r.MaxConnectionsPerClient > r.MaxConnections {
		report("email.smtp_receiver.max_connections_per_client", msgf("must be between 1 and max_connections (%d), got %d", r.MaxConnections, r.MaxConnectionsPerClient))
	}
	if r.IdleTimeout < 0 || r.IdleTimeout > Duration(10*time.Minute) {
		report("email.smtp_receiver.idle_timeout", msgf("must be between 1s and 10m, got %s", r.IdleTimeout))
	}
	if (r.TLSCertFile == "") != (r.TLSKeyFile == "") {
		report("email.smtp_receiver.tls_key_file", "tls_cert_file and tls_key_file go together (STARTTLS needs both)")
	}
	switch {
	case r.Username != "" && r.Password.IsZero():
		report("email.smtp_receiver.password", "required when username is set")
	case r.Username == "" && !r.Password.IsZero():
		report("email.smtp_receiver.username", "required when password is set")
	case r.Username != "" && r.TLSCertFile == "" && !onlyLoopback:
		report("email.smtp_receiver.password", "AUTH is only offered over TLS or to loopback clients: set tls_cert_file and tls_key_file, or allow only loopback clients")
	}

	m := e.IMAP
	if m.Addr != "" {
		checkMailServer("email.imap", m.Addr, m.TLS, report)
		if m.Username == "" {
			report("email.imap.username", "required when addr is set")
		}
		if m.Password.IsZero() {
			report("email.imap.password", "required when addr is set")
		}
		if m.Mailbox == m.Processed {
			report("email.imap.processed", msgf("must differ from mailbox (%q), or filed mail would be filed again", m.Mailbox))
		}
		if m.Interval < minEmailInterval {
			report("email.imap.interval", msgf("must be at least %s, got %s", minEmailInterval, m.Interval))
		}
	}

	o := e.Outbound
	if o.Addr != "" {
		checkMailServer("email.outbound", o.Addr, o.TLS, report)
		if o.From == "" {
			report("email.outbound.from", "required when addr is set: the address reporters see and reply to")
		}
	}
	if o.From != "" && !validAddress(o.From) {
		report("email.outbound.from", msgf("want an address such as security@example.org or \"Security <security@example.org>\", got %q", o.From))
	}
	if !o.Password.IsZero() && o.Username == "" {
		report("email.outbound.username", "required when password is set")
	}
}

// checkMailServer checks host:port and the TLS mode. Plain connections
// are refused except to a loopback host: they would carry the password
// and the reports in clear.
func checkMailServer(key, addr string, mode EmailTLS, report func(key, msg string)) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || !validPort(port) {
		report(key+".addr", msgf("want host:port such as mail.example.org:993, got %q", addr))
		return
	}
	switch mode {
	case EmailTLSImplicit, EmailTLSStartTLS:
	case EmailTLSNone:
		if !loopbackHost(host) {
			report(key+".tls", msgf("none is only allowed for a loopback host (reports and passwords would cross the network in clear), got host %q", host))
		}
	default:
		report(key+".tls", msgf("unknown mode %q (want implicit, starttls or none)", mode))
	}
}

// loopbackPrefix reports whether every address of p is a loopback one.
func loopbackPrefix(p netip.Prefix) bool {
	if p.Addr().Is4() {
		return p.Bits() >= 8 && p.Addr().IsLoopback()
	}
	return p.Bits() == 128 && p.Addr().IsLoopback()
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkListen checks a listen address (port 0 allowed, for tests).
func checkListen(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return msgf("want host:port such as 127.0.0.1:2525 or :25, got %q", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return msgf("invalid port %q", port)
	}
	return ""
}

func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && strings.Contains(a.Address, "@")
}
