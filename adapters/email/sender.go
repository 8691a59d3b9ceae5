package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// Outbound bounds.
const (
	maxOutboundBody   = 1 << 20
	maxSubjectLen     = 400
	smtpCommandWait   = 30 * time.Second
	smtpSubmitWait    = 2 * time.Minute
	maxReferencesSent = 20
)

// SenderOptions configure outbound mail through a relay.
type SenderOptions struct {
	// Addr is the relay's host:port.
	Addr string
	// TLS defaults to STARTTLS.
	TLS TLSMode
	// TLSConfig overrides TLS settings (a private CA, tests).
	TLSConfig *tls.Config
	// Username and Password authenticate (SASL PLAIN) when Username is
	// set.
	Username, Password string
	// From is the sender address ("security@example.org"), optionally
	// with a display name ("Example Security <security@example.org>").
	From string
	// Hostname is sent in EHLO; default From's domain.
	Hostname string
	// Signer signs the mails that ask for it (intake.Mail.Sign) as
	// PGP/MIME; nil refuses them rather than send them unsigned.
	Signer *Signer

	Clock  clock.Clock
	Logger *slog.Logger
}

// Sender delivers mail to reporters and operators through a relay. It
// implements intake.Mailer.
type Sender struct {
	opts SenderOptions
	from *netmail.Address
	log  *slog.Logger
}

var _ intake.Mailer = (*Sender)(nil)

// NewSender checks o without doing any I/O.
func NewSender(o SenderOptions) (*Sender, error) {
	var problems []string
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("addr: want host:port, got %q", o.Addr))
	}
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	if !o.TLS.valid() {
		problems = append(problems, fmt.Sprintf("tls: want starttls, implicit or none, got %q", o.TLS))
	}
	from, err := netmail.ParseAddress(o.From)
	if err != nil {
		problems = append(problems, fmt.Sprintf("from: want an address such as security@example.org, got %q", o.From))
	}
	if o.Password != "" && o.Username == "" {
		problems = append(problems, "a password without a username")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("email sender: %s", strings.Join(problems, "; "))
	}
	if o.Hostname == "" {
		_, domain, _ := strings.Cut(from.Address, "@")
		o.Hostname = domain
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{opts: o, from: from, log: o.Logger.With("adapter", "email", "via", "outbound")}, nil
}

// ErrBadMail wraps a Mail that cannot be sent as given (a bad address, a
// line break in a header); retrying will not help.
var ErrBadMail = errors.New("mail cannot be sent as given")

// Send delivers m. Failures that may pass (relay unreachable, 4xx) wrap
// intake.ErrTemporary; a 5xx answer, a bad certificate or a bad Mail are
// permanent. Errors never contain the body or the password.
func (s *Sender) Send(ctx context.Context, m intake.Mail) error {
	to, msg, err := s.build(m)
	if err != nil {
		return err
	}
	err = s.deliver(ctx, to, msg)
	if err != nil {
		s.log.Warn("email: sending failed", "message_id", m.MessageID, "temporary", errors.Is(err, intake.ErrTemporary), "err", err)
		return err
	}
	s.log.Info("email: sent", "message_id", m.MessageID)
	return nil
}

// Build renders m as an RFC 5322 message, as Send would send it; it is
// exported for previews and tests.
func (s *Sender) Build(m intake.Mail) ([]byte, error) {
	_, msg, err := s.build(m)
	return msg, err
}

func (s *Sender) build(m intake.Mail) (string, []byte, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadMail, fmt.Sprintf(format, args...))
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return "", nil, bad("recipient is not an address")
	}
	for name, v := range map[string]string{"message id": m.MessageID, "in-reply-to": m.InReplyTo} {
		if strings.ContainsAny(v, "\r\n") {
			// A line break in a header is header injection. These ids are
			// Vigil's own (or checked at intake), so one is a bug: refuse.
			return "", nil, bad("%s contains a line break", name)
		}
	}
	if !utf8.ValidString(m.Body) {
		return "", nil, bad("body is not valid UTF-8")
	}
	if len(m.Body) > maxOutboundBody {
		return "", nil, bad("body is over %d bytes", maxOutboundBody)
	}
	// The subject quotes a report's title, which is outside text: its line
	// breaks and control characters are folded into spaces (no header
	// injection, and the reporter still gets their mail), and untrusted
	// markers from chat text are dropped, as from the body.
	subject := cleanLine(bot.StripSentinels(m.Subject), maxSubjectLen)
	// The recipient's display name is written into To: by the header
	// encoder; fold it too rather than trust the parser with line breaks.
	to.Name = cleanLine(bot.StripSentinels(to.Name), maxSubjectLen)

	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: s.from.Name, Address: s.from.Address}})
	h.SetAddressList("To", []*mail.Address{{Name: to.Name, Address: to.Address}})
	h.SetSubject(subject)
	h.SetDate(s.opts.Clock.Now())
	id := bareID(m.MessageID)
	if id == "" {
		// The caller should set one for threading; a mail without any is
		// still better sent than dropped.
		id = s.newID()
	}
	if !strings.Contains(id, "@") || strings.ContainsAny(id, " <>") {
		return "", nil, bad("message id %q is not of the form left@right", id)
	}
	h.SetMessageID(id)
	if irt := bareID(m.InReplyTo); irt != "" {
		h.SetMsgIDList("In-Reply-To", []string{irt})
	}
	var refs []string
	for _, r := range m.References {
		if r = bareID(r); r != "" && !strings.ContainsAny(r, " <>\r\n") {
			refs = append(refs, r)
		}
	}
	if len(refs) > maxReferencesSent {
		// Keep the first (the thread root) and the most recent ones.
		refs = append(refs[:1], refs[len(refs)-maxReferencesSent+1:]...)
	}
	if len(refs) > 0 {
		h.SetMsgIDList("References", refs)
	}
	body := strings.ReplaceAll(bot.StripSentinels(m.Body), "\r\n", "\n")
	body = strings.ReplaceAll(body, "\n", "\r\n")
	if m.Sign {
		if s.opts.Signer == nil {
			return "", nil, bad("the mail asks to be signed but no signing key is configured")
		}
		h.Set("Auto-Submitted", "auto-generated")
		msg, err := s.signed(h, body, s.newBoundary())
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s", ErrBadMail, cleanErr(err))
		}
		return to.Address, msg, nil
	}
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", transferEncoding(m.Body))
	h.Set("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies to this

	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return "", nil, bad("%s", cleanErr(err))
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return "", nil, bad("%s", cleanErr(err))
	}
	if err := w.Close(); err != nil {
		return "", nil, bad("%s", cleanErr(err))
	}
	return to.Address, buf.Bytes(), nil
}

// transferEncoding picks quoted-printable for mostly-ASCII text (readable
// in the raw) and base64 for mostly non-ASCII text (CJK), where QP would
// triple the size.
func transferEncoding(body string) string {
	var high int
	for i := 0; i < len(body); i++ {
		if body[i] >= 0x80 {
			high++
		}
	}
	if high*3 > len(body) {
		return "base64"
	}
	return "quoted-printable"
}

func bareID(id string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
}

func (s *Sender) newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	_, domain, _ := strings.Cut(s.from.Address, "@")
	return hex.EncodeToString(b[:]) + "@" + domain
}

func (s *Sender) newBoundary() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return "vigil-" + hex.EncodeToString(b[:])
}

// deliver runs one SMTP session with the relay.
func (s *Sender) deliver(ctx context.Context, to string, msg []byte) error {
	host, _, _ := net.SplitHostPort(s.opts.Addr)
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.opts.TLSConfig != nil {
		tc = s.opts.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	d := &net.Dialer{Timeout: dialTimeout}
	var (
		conn net.Conn
		err  error
	)
	if s.opts.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", s.opts.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.opts.Addr)
	}
	if err != nil {
		return s.classify("connect", err)
	}
	defer conn.Close()
	// The client has no context support: closing the connection is what
	// stops a stuck command when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	var c *smtp.Client
	if s.opts.TLS == TLSStartTLS {
		// A relay that does not offer STARTTLS fails here (5xx, or an
		// error): mail is never sent in clear after TLS was asked for.
		if c, err = smtp.NewClientStartTLS(conn, tc); err != nil {
			var se *smtp.SMTPError
			var ne net.Error
			if !errors.As(err, &se) && !errors.As(err, &ne) && !errors.Is(err, io.EOF) && !isCertError(err) {
				// "server doesn't support STARTTLS": a configuration
				// problem, not one that passes by retrying.
				return fmt.Errorf("relay %s: starttls: %w (set email.outbound.tls)", s.opts.Addr, err)
			}
			return s.classify("starttls", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = smtpCommandWait, smtpSubmitWait
	if err := c.Hello(s.opts.Hostname); err != nil {
		return s.classify("hello", err)
	}
	if s.opts.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.opts.Username, s.opts.Password)); err != nil {
			return s.classify("authenticate as "+s.opts.Username, err)
		}
	}
	if err := c.SendMail(s.from.Address, []string{to}, bytes.NewReader(msg)); err != nil {
		return s.classify("send", err)
	}
	_ = c.Quit()
	return nil
}

// classify wraps err with the step and sorts it: 4xx and network trouble
// are temporary, 5xx and certificate problems permanent. The SMTP error
// text is the relay's, which never holds our password or body.
func (s *Sender) classify(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.Temporary() {
			return fmt.Errorf("%w: relay %s: %s: %w", intake.ErrTemporary, s.opts.Addr, step, err)
		}
		return fmt.Errorf("relay %s: %s: %w", s.opts.Addr, step, err)
	}
	if isCertError(err) {
		return fmt.Errorf("relay %s: %s: the relay's certificate is not trusted: %w", s.opts.Addr, step, err)
	}
	return fmt.Errorf("%w: relay %s: %s: %w", intake.ErrTemporary, s.opts.Addr, step, err)
}

func isCertError(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}
