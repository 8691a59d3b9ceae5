package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vigil-sec/vigil/adapters/email"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
)

// newMailer builds outbound mail (replies to reporters, forwards, release
// announcements) from cfg.Email; it is nil when email.outbound.addr is
// empty. It is checked here and connects only to send. Its timers run on
// clk, the engine's clock. With releases.signing_key the key is unlocked
// here, so a bad key or passphrase stops the start, and signedBy is its
// fingerprint.
func newMailer(cfg *config.Config, clk clock.Clock, logger *slog.Logger) (m intake.Mailer, signedBy string, err error) {
	e := cfg.Email.WithDefaults()
	if !e.OutboundEnabled() {
		return nil, "", nil
	}
	o := email.SenderOptions{
		Addr:     e.Outbound.Addr,
		TLS:      email.TLSMode(e.Outbound.TLS),
		Username: e.Outbound.Username,
		Password: e.Outbound.Password.Value(),
		From:     e.Outbound.From,
		Clock:    clk,
		Logger:   logger,
	}
	if r := cfg.Releases; !r.SigningKey.IsZero() {
		signer, err := email.NewSigner(r.SigningKey.Value(), r.SigningPassphrase.Value())
		if err != nil {
			// NewSigner's errors never quote the key or passphrase.
			return nil, "", fmt.Errorf("releases.signing_key: %w", err)
		}
		o.Signer, signedBy = signer, signer.Fingerprint()
	}
	s, err := email.NewSender(o)
	if err != nil {
		return nil, "", err
	}
	return s, signedBy, nil
}

// startEmailIntake builds the mail report sources from cfg.Email, the SMTP
// receiver and the IMAP poller, which hand reports to sink. run is nil
// when neither email.smtp_receiver.listen nor email.imap.addr is set;
// otherwise it serves both until ctx ends.
//
// Everything is checked here, including the PGP key, and the SMTP port is
// bound now, so a bad key or a port in use is an error at start; release
// gives the port back when run will not be called (it is never nil).
// Nothing else connects until run. ctx bounds only that start-up work.
// Its timers (the IMAP poll) run on clk, the engine's clock.
func startEmailIntake(ctx context.Context, cfg *config.Config, sink intake.Sink, clk clock.Clock, logger *slog.Logger) (run func(ctx context.Context) error, release func(), err error) {
	release = func() {}
	if err := ctx.Err(); err != nil {
		return nil, release, err
	}
	e := cfg.Email.WithDefaults()
	if !e.ReceiverEnabled() && !e.IMAPEnabled() {
		return nil, release, nil
	}
	if sink == nil {
		return nil, release, errors.New("email intake is configured but no report sink was given")
	}
	src := mailSource{maxBytes: e.MaxMessageBytes, parse: email.ParseOptions{MaxAttachmentBytes: e.MaxAttachmentBytes}, sink: sink, clk: clk, logger: logger}
	if !e.PGPPrivateKey.IsZero() {
		kr, err := email.NewKeyring(e.PGPPrivateKey.Value(), e.PGPPassphrase.Value())
		if err != nil {
			// NewKeyring's errors never quote the key or passphrase.
			return nil, release, fmt.Errorf("email.pgp_private_key: %w", err)
		}
		src.parse.Keyring = kr
	}

	var runs []func(context.Context) error
	if e.ReceiverEnabled() {
		r, err := src.receiver(e.SMTPReceiver)
		if err != nil {
			return nil, release, err
		}
		if err := r.Listen(); err != nil {
			return nil, release, err
		}
		release = func() { _ = r.Close() }
		runs = append(runs, r.Serve)
	}
	if e.IMAPEnabled() {
		p, err := src.poller(e.IMAP)
		if err != nil {
			release()
			return nil, func() {}, err
		}
		runs = append(runs, p.Run)
	}
	run = func(ctx context.Context) error {
		// One part failing stops the other, so the caller sees it.
		g := newRunGroup(ctx)
		for _, r := range runs {
			g.Go(r)
		}
		return g.Wait()
	}
	return run, release, nil
}

// mailSource is what both mail sources, the SMTP receiver and the IMAP
// poller, are given alike: how a mail is read and where its report goes.
type mailSource struct {
	maxBytes int64
	parse    email.ParseOptions
	sink     intake.Sink
	clk      clock.Clock
	logger   *slog.Logger
}

func (m mailSource) receiver(c config.EmailSMTPReceiver) (*email.Receiver, error) {
	o := email.ReceiverOptions{
		Listen:                  c.Listen,
		Recipients:              c.Recipients,
		AllowedClients:          c.AllowedClients,
		Hostname:                c.Hostname,
		MaxConnections:          c.MaxConnections,
		MaxConnectionsPerClient: c.MaxConnectionsPerClient,
		IdleTimeout:             c.IdleTimeout.Std(),
		TLSCertFile:             c.TLSCertFile,
		TLSKeyFile:              c.TLSKeyFile,
		Username:                c.Username,
		Password:                c.Password.Value(),
	}
	o.MaxMessageBytes, o.Parse, o.Sink, o.Clock, o.Logger = m.maxBytes, m.parse, m.sink, m.clk, m.logger
	return email.NewReceiver(o)
}

func (m mailSource) poller(c config.EmailIMAP) (*email.Poller, error) {
	o := email.PollerOptions{
		Addr:      c.Addr,
		TLS:       email.TLSMode(c.TLS),
		Username:  c.Username,
		Password:  c.Password.Value(),
		Mailbox:   c.Mailbox,
		Processed: c.Processed,
		Interval:  c.Interval.Std(),
	}
	o.MaxMessageBytes, o.Parse, o.Sink, o.Clock, o.Logger = m.maxBytes, m.parse, m.sink, m.clk, m.logger
	return email.NewPoller(o)
}
