package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/netutil"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// Receiver defaults and bounds.
const (
	DefaultMaxMessageBytes = 10 << 20
	// DefaultReceiveTimeout bounds how long one mail waits on the sink
	// before the sender is told to retry (451).
	DefaultReceiveTimeout = 30 * time.Second
	maxRecipients         = 50
	maxConnections        = 64
	// Idle limits per SMTP command; RFC 5321 suggests minutes, but the
	// receiver sits behind a relay on a fast link.
	smtpReadTimeout  = 2 * time.Minute
	smtpWriteTimeout = time.Minute
)

// ReceiverOptions configure an SMTP receiver for mail forwarded to Vigil.
type ReceiverOptions struct {
	// Listen is host:port (port 0 picks a free port, for tests).
	Listen string
	// Recipients are the only addresses accepted in RCPT TO; any other
	// is refused with 550, so the receiver is no open relay.
	Recipients []string
	// AllowedClients, when set, limits who may connect: IP prefixes
	// ("10.0.0.0/8") or single addresses. Others get 554 after HELO.
	AllowedClients []string
	// MaxMessageBytes is the largest message accepted (552 beyond it).
	MaxMessageBytes int64
	// Hostname is announced in the greeting; default "vigil".
	Hostname string
	// Parse bounds the parsing of each mail; Received is set per mail.
	Parse ParseOptions
	// ReceiveTimeout bounds Sink.Receive per mail.
	ReceiveTimeout time.Duration

	Sink   intake.Sink
	Clock  clock.Clock
	Logger *slog.Logger
}

// Receiver is an SMTP server that files every accepted mail as a report
// and answers 250 only once the sink has stored it.
type Receiver struct {
	opts       ReceiverOptions
	recipients map[string]bool
	allowed    []netip.Prefix
	log        *slog.Logger

	mu  sync.Mutex
	ln  net.Listener
	srv *smtp.Server
	// base is the context of Serve; sink calls derive from it so a
	// shutdown cancels a stuck Receive (and the sender retries).
	base context.Context
}

// NewReceiver checks o without doing any I/O.
func NewReceiver(o ReceiverOptions) (*Receiver, error) {
	var problems []string
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		problems = append(problems, fmt.Sprintf("listen: want host:port, got %q", o.Listen))
	}
	if len(o.Recipients) == 0 {
		problems = append(problems, "recipients: at least one address is required (the receiver must not accept mail for anyone)")
	}
	rcpts := map[string]bool{}
	for _, r := range o.Recipients {
		a, err := netmail.ParseAddress(r)
		if err != nil {
			problems = append(problems, fmt.Sprintf("recipients: %q is not an address", r))
			continue
		}
		rcpts[strings.ToLower(a.Address)] = true
	}
	allowed, err := parsePrefixes(o.AllowedClients)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if o.Sink == nil {
		problems = append(problems, "a sink is required")
	}
	if o.MaxMessageBytes < 0 || o.ReceiveTimeout < 0 {
		problems = append(problems, "limits must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("email receiver: %s", strings.Join(problems, "; "))
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.ReceiveTimeout == 0 {
		o.ReceiveTimeout = DefaultReceiveTimeout
	}
	if o.Hostname == "" {
		o.Hostname = "vigil"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{opts: o, recipients: rcpts, allowed: allowed, log: o.Logger.With("adapter", "email", "via", "smtp")}, nil
}

// parsePrefixes reads CIDR prefixes or single addresses.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("allowed_clients: %q is not an IP prefix or address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Listen binds the address, so a port in use is an error at start.
func (r *Receiver) Listen() error {
	ln, err := net.Listen("tcp", r.opts.Listen)
	if err != nil {
		return fmt.Errorf("email smtp_receiver.listen %s: %w", r.opts.Listen, err)
	}
	r.mu.Lock()
	r.ln = netutil.LimitListener(ln, maxConnections)
	r.mu.Unlock()
	return nil
}

// Addr is the bound address, after Listen.
func (r *Receiver) Addr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil {
		return nil
	}
	return r.ln.Addr()
}

// Serve accepts mail until ctx ends, then closes the listener and waits
// for sessions in flight (bounded by the SMTP timeouts). It calls Listen
// itself if that was not done.
func (r *Receiver) Serve(ctx context.Context) error {
	if r.Addr() == nil {
		if err := r.Listen(); err != nil {
			return err
		}
	}
	s := smtp.NewServer(smtp.BackendFunc(r.newSession))
	s.Domain = r.opts.Hostname
	s.MaxMessageBytes = r.opts.MaxMessageBytes
	s.MaxRecipients = maxRecipients
	s.ReadTimeout = smtpReadTimeout
	s.WriteTimeout = smtpWriteTimeout
	s.ErrorLog = slogPrintf{r.log}
	r.mu.Lock()
	r.srv, r.base = s, ctx
	ln := r.ln
	r.mu.Unlock()
	r.log.Info("email: SMTP receiver listening", "addr", ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("email smtp receiver: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		_ = s.Close()
	}
	// Shutdown closes only the listeners Serve has registered; if ctx
	// ended before Serve got that far, closing ours is what stops it.
	_ = ln.Close()
	<-errc
	return nil
}

// newSession refuses clients outside AllowedClients.
func (r *Receiver) newSession(c *smtp.Conn) (smtp.Session, error) {
	if len(r.allowed) > 0 && !r.clientAllowed(c.Conn().RemoteAddr()) {
		r.log.Warn("email: SMTP client not in allowed_clients", "remote", c.Conn().RemoteAddr().String())
		return nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "this host may not deliver mail here"}
	}
	return &session{r: r}, nil
}

func (r *Receiver) clientAllowed(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range r.allowed {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// session is one SMTP transaction at a time.
type session struct {
	r     *Receiver
	rcpts int
}

func (s *session) Reset()        { s.rcpts = 0 }
func (s *session) Logout() error { return nil }

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }

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

// slogPrintf adapts slog to the Printf logger go-smtp wants.
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(format string, v ...any) {
	s.l.Warn("email: smtp: " + fmt.Sprintf(format, v...))
}
func (s slogPrintf) Println(v ...any) {
	s.l.Warn("email: smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
