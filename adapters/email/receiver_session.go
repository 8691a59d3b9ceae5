package email

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-sec/vigil/bot/intake"
)

// session is one SMTP transaction at a time.
type session struct {
	r        *Receiver
	conn     *trackedConn // nil only if the listener was not ours
	tls      bool
	loopback bool
	rcpts    int
	inMail   bool
	authed   bool
	authFail int
}

var _ smtp.AuthSession = (*session)(nil)

// Reset ends a transaction (after DATA, or RSET). If a mail was under
// way, the connection is idle again and its timer restarts; a Reset
// without a mail (go-smtp resets on EHLO too) does not, so EHLO every
// few seconds cannot keep a connection open.
func (s *session) Reset() {
	s.rcpts = 0
	if s.inMail && s.conn != nil {
		s.conn.arm()
	}
	s.inMail = false
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(string, *smtp.MailOptions) error {
	if s.r.opts.Username != "" && !s.authed {
		if !s.authOffered() {
			return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first (authentication is required)"}
		}
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.inMail = true
	if s.conn != nil {
		s.conn.disarm()
	}
	return nil
}

// authOffered: AUTH only over TLS or from a loopback client, so the
// password never crosses a network in clear.
func (s *session) authOffered() bool {
	return s.r.opts.Username != "" && (s.tls || s.loopback)
}

// AuthMechanisms implements smtp.AuthSession.
func (s *session) AuthMechanisms() []string {
	if !s.authOffered() {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth implements smtp.AuthSession: AUTH PLAIN against the configured
// username and password, compared in constant time. A connection that
// fails maxAuthFailures times is closed. Neither the password tried nor
// the username is logged.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !s.authOffered() || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	if s.authFail >= maxAuthFailures {
		// Three 535s were answered; a fourth try ends the connection.
		if s.conn != nil {
			_ = s.conn.Close()
		}
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "too many failed authentications; closing"}
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		userOK := subtle.ConstantTimeCompare([]byte(username), []byte(s.r.opts.Username)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(password), []byte(s.r.opts.Password)) == 1
		if userOK && passOK {
			s.authed = true
			return nil
		}
		s.authFail++
		remote := ""
		if s.conn != nil {
			remote = s.conn.ip.String()
		}
		s.r.log.Warn("email: SMTP authentication failed", "remote", remote, "failures_on_connection", s.authFail)
		return smtp.ErrAuthFailed
	}), nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.r.recipients[strings.ToLower(strings.TrimSpace(to))] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such recipient here; this server only takes security reports"}
	}
	s.rcpts++
	return nil
}

// Data reads the whole message, files it, and returns nil (250) only
// after the sink stored it.
func (s *session) Data(body io.Reader) error {
	r := s.r
	raw, err := io.ReadAll(body)
	if errors.Is(err, smtp.ErrDataTooLarge) {
		r.log.Warn("email: message over the size limit refused", "limit", r.opts.MaxMessageBytes)
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("message too big: the limit is %d bytes; please send large files as links", r.opts.MaxMessageBytes)}
	}
	if errors.Is(err, smtp.ErrTooLongLine) {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "a line of the message is too long (RFC 5321 allows 1000 characters)"}
	}
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "message not fully received; please retry"}
	}
	po := r.opts.Parse
	po.Received = r.opts.Clock.Now()
	in, err := Parse(raw, po)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "empty message refused"}
	}
	r.mu.Lock()
	base := r.base
	r.mu.Unlock()
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, r.opts.ReceiveTimeout)
	defer cancel()
	res, err := r.opts.Sink.Receive(ctx, in)
	switch {
	case errors.Is(err, intake.ErrInvalid):
		r.log.Warn("email: report refused by intake", "source_id", in.SourceID, "err", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "report refused: " + cleanErr(err)}
	case err != nil:
		// Nothing was stored: a temporary failure makes the sending
		// server keep the mail and try again.
		r.log.Warn("email: could not store report; sender told to retry", "source_id", in.SourceID, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "could not store the report right now; please retry later"}
	}
	r.log.Info("email: report received", "source_id", in.SourceID, "report", res.ReportID, "created", res.Created, "reply", res.Reply, "bytes", len(raw))
	return nil
}
