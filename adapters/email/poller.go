package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// TLSMode is how a mail connection is secured.
type TLSMode string

// The TLS modes. None is for tests and loopback relays only; the
// configuration refuses it for other hosts.
const (
	TLSImplicit TLSMode = "implicit"
	TLSStartTLS TLSMode = "starttls"
	TLSNone     TLSMode = "none"
)

func (m TLSMode) valid() bool { return m == TLSImplicit || m == TLSStartTLS || m == TLSNone }

// Poller defaults and bounds.
const (
	DefaultInterval  = time.Minute
	DefaultMailbox   = "INBOX"
	DefaultProcessed = "Processed"
	// maxPerPoll bounds the mails filed in one poll; a flood is worked
	// off over several polls instead of one unbounded session.
	maxPerPoll  = 100
	pollTimeout = 5 * time.Minute
	dialTimeout = 30 * time.Second
	// rejectedFlag marks a mail the sink refused as invalid (say, an
	// empty one). It stays in the mailbox for a person to look at, but is
	// not offered again every poll.
	rejectedFlag imap.Flag = "$VigilRejected"
)

// PollerOptions configure the IMAP poller.
type PollerOptions struct {
	// Addr is host:port of the IMAP server.
	Addr string
	TLS  TLSMode
	// TLSConfig overrides the TLS settings (a private CA, tests); the
	// server name defaults to Addr's host.
	TLSConfig          *tls.Config
	Username, Password string
	// Mailbox is where reports arrive; Processed is where they go once
	// filed (created when missing).
	Mailbox, Processed string
	Interval           time.Duration
	// MaxMessageBytes caps what is read of one mail; a longer one is
	// filed cut, with a note.
	MaxMessageBytes int64
	Parse           ParseOptions
	ReceiveTimeout  time.Duration

	Sink   intake.Sink
	Clock  clock.Clock
	Logger *slog.Logger
}

// Poller files the mails of an IMAP mailbox as reports, moving each to
// the processed folder only after the sink stored it.
type Poller struct {
	opts PollerOptions
	log  *slog.Logger
	// afterPoll, set by tests, is called once a poll's result is known
	// and the next poll's timer exists, so a test can advance a fake
	// clock without racing the loop.
	afterPoll func(filed int, err error)
}

// NewPoller checks o without doing any I/O.
func NewPoller(o PollerOptions) (*Poller, error) {
	var problems []string
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("addr: want host:port, got %q", o.Addr))
	}
	if o.TLS == "" {
		o.TLS = TLSImplicit
	}
	if !o.TLS.valid() {
		problems = append(problems, fmt.Sprintf("tls: want implicit, starttls or none, got %q", o.TLS))
	}
	if o.Username == "" {
		problems = append(problems, "username is required")
	}
	if o.Mailbox == "" {
		o.Mailbox = DefaultMailbox
	}
	if o.Processed == "" {
		o.Processed = DefaultProcessed
	}
	if o.Mailbox == o.Processed {
		problems = append(problems, "the processed folder must differ from the mailbox")
	}
	if o.Sink == nil {
		problems = append(problems, "a sink is required")
	}
	if o.Interval < 0 || o.MaxMessageBytes < 0 || o.ReceiveTimeout < 0 {
		problems = append(problems, "interval and limits must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("email imap poller: %s", strings.Join(problems, "; "))
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.ReceiveTimeout == 0 {
		o.ReceiveTimeout = DefaultReceiveTimeout
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Poller{opts: o, log: o.Logger.With("adapter", "email", "via", "imap", "mailbox", o.Mailbox)}, nil
}

// Run polls at once and then every interval until ctx ends. A failed
// poll is logged and tried again at the next interval: a mail server
// that is down for a while must not stop Vigil.
func (p *Poller) Run(ctx context.Context) error {
	p.log.Info("email: IMAP poller started", "addr", p.opts.Addr, "interval", p.opts.Interval.String())
	for {
		n, err := p.Poll(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			p.log.Warn("email: IMAP poll failed; will retry", "err", err, "filed", n)
		case n > 0:
			p.log.Info("email: IMAP poll filed reports", "filed", n)
		}
		t := p.opts.Clock.NewTimer(p.opts.Interval)
		if p.afterPoll != nil {
			p.afterPoll(n, err)
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// Poll connects once, files up to maxPerPoll mails and moves each filed
// one to the processed folder. It stops at the first mail the sink could
// not store, leaving it (and the rest) for the next poll. filed counts the
// mails stored and moved.
func (p *Poller) Poll(ctx context.Context) (filed int, err error) {
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	c, err := p.dial()
	if err != nil {
		return 0, fmt.Errorf("imap connect %s: %w", p.opts.Addr, err)
	}
	defer c.Close()
	// The client has no context support: closing the connection is what
	// unblocks a command when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()

	if err := c.Login(p.opts.Username, p.opts.Password).Wait(); err != nil {
		return 0, fmt.Errorf("imap login as %s: %w", p.opts.Username, ctxErr(ctx, err))
	}
	if err := p.ensureProcessed(c); err != nil {
		return 0, ctxErr(ctx, err)
	}
	if _, err := c.Select(p.opts.Mailbox, nil).Wait(); err != nil {
		return 0, fmt.Errorf("imap select %s: %w", p.opts.Mailbox, ctxErr(ctx, err))
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted, rejectedFlag}}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("imap search %s: %w", p.opts.Mailbox, ctxErr(ctx, err))
	}
	uids := data.AllUIDs()
	slices.Sort(uids) // oldest first
	if len(uids) > maxPerPoll {
		p.log.Info("email: more mail than one poll takes; the rest waits for the next poll", "waiting", len(uids), "per_poll", maxPerPoll)
		uids = uids[:maxPerPoll]
	}
	for _, uid := range uids {
		ok, err := p.fileOne(ctx, c, uid)
		if err != nil {
			return filed, err
		}
		if ok {
			filed++
		}
	}
	_ = c.Logout().Wait()
	return filed, nil
}

// fileOne files one mail and moves it; filed is false when the mail was
// gone or refused as invalid (then flagged).
func (p *Poller) fileOne(ctx context.Context, c *imapclient.Client, uid imap.UID) (filed bool, err error) {
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: p.opts.MaxMessageBytes}}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return false, fmt.Errorf("imap fetch uid %d: %w", uid, ctxErr(ctx, err))
	}
	if len(msgs) == 0 {
		return false, nil // expunged meanwhile by someone else
	}
	m := msgs[0]
	raw := m.FindBodySection(section)
	if raw == nil && len(m.BodySection) > 0 {
		raw = m.BodySection[0].Bytes
	}
	po := p.opts.Parse
	po.Received = p.opts.Clock.Now()
	in, perr := Parse(raw, po)
	if perr == nil && m.RFC822Size > p.opts.MaxMessageBytes {
		in.Notes = append(in.Notes, bot.Untrusted(fmt.Sprintf("the mail was %d bytes; only the first %d were read (the full mail is in the %s folder)", m.RFC822Size, p.opts.MaxMessageBytes, p.opts.Processed)))
	}
	if perr == nil {
		rctx, cancel := context.WithTimeout(ctx, p.opts.ReceiveTimeout)
		var res intake.Result
		res, err = p.opts.Sink.Receive(rctx, in)
		cancel()
		if err == nil {
			if _, err := c.Move(imap.UIDSetNum(uid), p.opts.Processed).Wait(); err != nil {
				// Filed but not moved: the next poll files it again and
				// the sink's Message-ID dedupe makes that a no-op.
				return false, fmt.Errorf("imap move uid %d to %s: %w", uid, p.opts.Processed, ctxErr(ctx, err))
			}
			p.log.Info("email: report received", "source_id", in.SourceID, "report", res.ReportID, "created", res.Created, "reply", res.Reply, "bytes", len(raw))
			return true, nil
		}
	} else {
		err = perr
	}
	if !errors.Is(err, intake.ErrInvalid) {
		return false, fmt.Errorf("storing mail uid %d (left in %s for the next poll): %w", uid, p.opts.Mailbox, err)
	}
	p.log.Warn("email: mail refused as a report; flagged and left in the mailbox", "uid", uint32(uid), "flag", string(rejectedFlag), "err", err)
	store := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{rejectedFlag}}, nil)
	if err := store.Close(); err != nil {
		return false, fmt.Errorf("imap flag uid %d as rejected: %w", uid, ctxErr(ctx, err))
	}
	return false, nil
}

// ensureProcessed creates the processed folder when it does not exist.
func (p *Poller) ensureProcessed(c *imapclient.Client) error {
	list, err := c.List("", p.opts.Processed, nil).Collect()
	if err != nil {
		return fmt.Errorf("imap list %s: %w", p.opts.Processed, err)
	}
	if len(list) > 0 {
		return nil
	}
	if err := c.Create(p.opts.Processed, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return fmt.Errorf("imap create %s: %w", p.opts.Processed, err)
	}
	p.log.Info("email: created the processed folder", "folder", p.opts.Processed)
	return nil
}

func (p *Poller) dial() (*imapclient.Client, error) {
	host, _, _ := net.SplitHostPort(p.opts.Addr)
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.opts.TLSConfig != nil {
		tc = p.opts.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	o := &imapclient.Options{TLSConfig: tc, Dialer: &net.Dialer{Timeout: dialTimeout}}
	switch p.opts.TLS {
	case TLSImplicit:
		return imapclient.DialTLS(p.opts.Addr, o)
	case TLSStartTLS:
		return imapclient.DialStartTLS(p.opts.Addr, o)
	default:
		return imapclient.DialInsecure(p.opts.Addr, o)
	}
}

// ctxErr prefers the context's error: a command cut off by a closed
// connection should say "deadline exceeded", not "use of closed
// connection".
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
