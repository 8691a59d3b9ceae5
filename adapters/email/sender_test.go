package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// smtpSink is a go-smtp server that keeps what it is sent, or answers
// with rcptErr.
type smtpSink struct {
	mu      sync.Mutex
	from    string
	to      []string
	data    []byte
	authed  string
	rcptErr error
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *smtpSink }

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "vigil" || pass != "relay-pass" {
			return errors.New("bad credentials")
		}
		ss.s.mu.Lock()
		ss.s.authed = user
		ss.s.mu.Unlock()
		return nil
	}), nil
}
func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.from = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.rcptErr != nil {
		return ss.s.rcptErr
	}
	ss.s.to = append(ss.s.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.data = b
	return err
}

func startSMTPSink(t *testing.T, sink *smtpSink, tlsConfig *tls.Config) string {
	t.Helper()
	srv := smtp.NewServer(sink)
	srv.Domain = "relay.test"
	srv.TLSConfig = tlsConfig
	srv.ErrorLog = testSMTPLogger{t}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("SMTP sink did not stop")
		}
	})
	return ln.Addr().String()
}

type testSMTPLogger struct{ t *testing.T }

func (l testSMTPLogger) Printf(f string, v ...any) { l.t.Logf("smtp sink: "+f, v...) }
func (l testSMTPLogger) Println(v ...any)          { l.t.Log(v...) }

var ackMail = intake.Mail{
	To:         "Zoë Reporter <zoe@example.net>",
	Subject:    "[VIG-2026-7] Reçu : votre rapport",
	Body:       "Bonjour Zoë,\n\nnous avons bien reçu votre rapport. Merci !\n— l'équipe sécurité",
	MessageID:  "<vig-2026-7-ack@vigil.example.org>",
	InReplyTo:  "orig-1@example.net",
	References: []string{"orig-1@example.net"},
}

func newTestSender(t *testing.T, o SenderOptions) *Sender {
	t.Helper()
	if o.From == "" {
		o.From = "Example Security <security@example.org>"
	}
	if o.TLS == "" {
		o.TLS = TLSNone
	}
	o.Clock = clock.NewFake(received)
	s, err := NewSender(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSenderHeadersAndUTF8(t *testing.T) {
	sink := &smtpSink{}
	addr := startSMTPSink(t, sink, nil)
	s := newTestSender(t, SenderOptions{Addr: addr})
	if err := s.Send(context.Background(), ackMail); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.from != "security@example.org" || strings.Join(sink.to, ",") != "zoe@example.net" {
		t.Errorf("envelope from %q to %q", sink.from, sink.to)
	}
	r, err := mail.CreateReader(bytes.NewReader(sink.data))
	if err != nil {
		t.Fatalf("the sent mail does not parse: %v\n%s", err, sink.data)
	}
	h := r.Header
	if id, _ := h.MessageID(); id != "vig-2026-7-ack@vigil.example.org" {
		t.Errorf("Message-ID %q", id)
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); strings.Join(irt, ",") != "orig-1@example.net" {
		t.Errorf("In-Reply-To %q", irt)
	}
	if refs, _ := h.MsgIDList("References"); strings.Join(refs, ",") != "orig-1@example.net" {
		t.Errorf("References %q", refs)
	}
	if subj, _ := h.Subject(); subj != ackMail.Subject {
		t.Errorf("Subject %q", subj)
	}
	if d, _ := h.Date(); !d.Equal(received) {
		t.Errorf("Date %v, want the clock's %v", d, received)
	}
	if ct := h.Get("Content-Type"); !strings.Contains(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "charset=utf-8") {
		t.Errorf("Content-Type %q", ct)
	}
	if !isASCII(string(sink.data)) {
		t.Error("raw message has 8-bit bytes; headers and body must be encoded")
	}
	p, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(p.Body)
	// SMTP ends the data with a line break.
	if got := strings.TrimSuffix(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n"); got != ackMail.Body {
		t.Errorf("body %q", got)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestSenderErrorKinds(t *testing.T) {
	tests := []struct {
		name      string
		rcptErr   error
		temporary bool
	}{
		{"4xx is temporary", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}, true},
		{"5xx is permanent", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startSMTPSink(t, &smtpSink{rcptErr: tt.rcptErr}, nil)
			s := newTestSender(t, SenderOptions{Addr: addr})
			err := s.Send(context.Background(), ackMail)
			if err == nil || errors.Is(err, intake.ErrTemporary) != tt.temporary {
				t.Fatalf("err = %v, temporary want %v", err, tt.temporary)
			}
			if strings.Contains(err.Error(), "nous avons bien") {
				t.Errorf("error holds the body: %v", err)
			}
		})
	}

	// Nobody listening: temporary.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s := newTestSender(t, SenderOptions{Addr: addr})
	if err := s.Send(context.Background(), ackMail); !errors.Is(err, intake.ErrTemporary) {
		t.Errorf("relay down: err = %v, want ErrTemporary", err)
	}
}

func TestSenderRefusesBadMail(t *testing.T) {
	s := newTestSender(t, SenderOptions{Addr: "127.0.0.1:1"})
	for name, m := range map[string]intake.Mail{
		"header injection in a message id": {To: "a@example.net", Subject: "hi", Body: "x", MessageID: "a@b\r\nBcc: victim@example.com"},
		"header injection in in-reply-to":  {To: "a@example.net", Subject: "hi", Body: "x", MessageID: "a@b", InReplyTo: "<c@d>\nBcc: victim@example.com"},
		"bad address":                      {To: "not an address", Subject: "hi", Body: "x", MessageID: "a@b"},
	} {
		err := s.Send(context.Background(), m)
		if !errors.Is(err, ErrBadMail) || errors.Is(err, intake.ErrTemporary) {
			t.Errorf("%s: err = %v, want a permanent ErrBadMail", name, err)
		}
	}
}

func TestSenderStartTLSWithAuth(t *testing.T) {
	cert, pool := selfSigned(t)
	sink := &smtpSink{}
	addr := startSMTPSink(t, sink, &tls.Config{Certificates: []tls.Certificate{cert}})
	s := newTestSender(t, SenderOptions{Addr: addr, TLS: TLSStartTLS, TLSConfig: &tls.Config{RootCAs: pool}, Username: "vigil", Password: "relay-pass"})
	if err := s.Send(context.Background(), ackMail); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	authed, n := sink.authed, len(sink.data)
	sink.mu.Unlock()
	if authed != "vigil" || n == 0 {
		t.Errorf("authed %q, %d bytes", authed, n)
	}

	// An untrusted certificate is a permanent, clear failure.
	s = newTestSender(t, SenderOptions{Addr: addr, TLS: TLSStartTLS})
	err := s.Send(context.Background(), ackMail)
	if err == nil || errors.Is(err, intake.ErrTemporary) || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("untrusted cert: err = %v", err)
	}

	// A relay without STARTTLS is refused rather than used in clear.
	plain := startSMTPSink(t, &smtpSink{}, nil)
	s = newTestSender(t, SenderOptions{Addr: plain, TLS: TLSStartTLS, Username: "vigil", Password: "relay-pass"})
	err = s.Send(context.Background(), ackMail)
	if err == nil || errors.Is(err, intake.ErrTemporary) || strings.Contains(err.Error(), "relay-pass") {
		t.Errorf("no STARTTLS: err = %v, want a permanent error without the password", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// A subject quotes a report's title, which an attacker writes: its line
// breaks are folded (the reporter still gets the mail) and nothing it holds
// becomes a header; untrusted markers from chat text never reach the mail.
func TestSenderFoldsHostileSubjectsAndStripsMarkers(t *testing.T) {
	s := newTestSender(t, SenderOptions{Addr: "127.0.0.1:1"})
	for _, subject := range []string{
		"hi\r\nBcc: victim@example.com",
		"hi\nBcc: victim@example.com",
		"hi\rBcc: victim@example.com",
		"Re: \ue000x\r\n\r\n<html>body</html>\ue001",
		"hi\u0085Bcc: victim@example.com",
	} {
		raw, err := s.Build(intake.Mail{To: "Eve <eve@example.net>", Subject: subject, Body: "see \ue000<b>x</b>\ue001\n", MessageID: "a@b"})
		if err != nil {
			t.Fatalf("subject %q: %v", subject, err)
		}
		head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "bcc:") || strings.HasPrefix(line, "<html>") {
				t.Errorf("subject %q injected a header line %q:\n%s", subject, line, head)
			}
		}
		if strings.ContainsAny(string(raw), "\ue000\ue001") || !strings.Contains(body, "<b>x</b>") {
			t.Errorf("subject %q: markers leaked or body lost:\n%s", subject, raw)
		}
	}
}
