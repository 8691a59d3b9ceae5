package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/vigil-sec/vigil/adapters/email"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
)

// startEmail builds the email side from cfg.Email: the SMTP receiver and
// IMAP poller that hand reports to sink, and the outbound mailer.
//
//   - mailer is nil when email.outbound.addr is empty (no mail to
//     reporters).
//   - run is nil when neither email.smtp_receiver.listen nor
//     email.imap.addr is set; otherwise it serves both until ctx ends.
//
// Everything is checked here, including the PGP key, and the SMTP port is
// bound now, so a bad key or a port in use is an error at start. Nothing
// else connects until run. ctx bounds only that start-up work.
// Its timers (the IMAP poll) run on clk, the engine's clock.
func startEmail(ctx context.Context, cfg *config.Config, sink intake.Sink, clk clock.Clock, logger *slog.Logger) (intake.Mailer, func(ctx context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	e := cfg.Email.WithDefaults()
	var mailer intake.Mailer
	if e.OutboundEnabled() {
		s, err := email.NewSender(email.SenderOptions{
			Addr:     e.Outbound.Addr,
			TLS:      email.TLSMode(e.Outbound.TLS),
			Username: e.Outbound.Username,
			Password: e.Outbound.Password.Value(),
			From:     e.Outbound.From,
			Clock:    clk,
			Logger:   logger,
		})
		if err != nil {
			return nil, nil, err
		}
		mailer = s
	}
	if !e.ReceiverEnabled() && !e.IMAPEnabled() {
		return mailer, nil, nil
	}
	if sink == nil {
		return nil, nil, errors.New("email intake is configured but no report sink was given")
	}

	parse := email.ParseOptions{MaxAttachmentBytes: e.MaxAttachmentBytes}
	if !e.PGPPrivateKey.IsZero() {
		kr, err := email.NewKeyring(e.PGPPrivateKey.Value(), e.PGPPassphrase.Value())
		if err != nil {
			// NewKeyring's errors never quote the key or passphrase.
			return nil, nil, fmt.Errorf("email.pgp_private_key: %w", err)
		}
		parse.Keyring = kr
	}

	var runs []func(context.Context) error
	if e.ReceiverEnabled() {
		r, err := email.NewReceiver(email.ReceiverOptions{
			Listen:         e.SMTPReceiver.Listen,
			Recipients:     e.SMTPReceiver.Recipients,
			AllowedClients: e.SMTPReceiver.AllowedClients,
			Hostname:       e.SMTPReceiver.Hostname,

			MaxConnections:          e.SMTPReceiver.MaxConnections,
			MaxConnectionsPerClient: e.SMTPReceiver.MaxConnectionsPerClient,
			IdleTimeout:             e.SMTPReceiver.IdleTimeout.Std(),
			TLSCertFile:             e.SMTPReceiver.TLSCertFile,
			TLSKeyFile:              e.SMTPReceiver.TLSKeyFile,
			Username:                e.SMTPReceiver.Username,
			Password:                e.SMTPReceiver.Password.Value(),
			MaxMessageBytes:         e.MaxMessageBytes,
			Parse:                   parse,
			Sink:                    sink,
			Clock:                   clk,
			Logger:                  logger,
		})
		if err != nil {
			return nil, nil, err
		}
		if err := r.Listen(); err != nil {
			return nil, nil, err
		}
		runs = append(runs, r.Serve)
	}
	if e.IMAPEnabled() {
		p, err := email.NewPoller(email.PollerOptions{
			Addr:            e.IMAP.Addr,
			TLS:             email.TLSMode(e.IMAP.TLS),
			Username:        e.IMAP.Username,
			Password:        e.IMAP.Password.Value(),
			Mailbox:         e.IMAP.Mailbox,
			Processed:       e.IMAP.Processed,
			Interval:        e.IMAP.Interval.Std(),
			MaxMessageBytes: e.MaxMessageBytes,
			Parse:           parse,
			Sink:            sink,
			Clock:           clk,
			Logger:          logger,
		})
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, p.Run)
	}
	run := func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for _, f := range runs {
			wg.Go(func() {
				if err := f(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel() // one part failing stops the other, so the caller sees it
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return mailer, run, nil
}
