package email

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

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
	// DefaultMaxConnections and DefaultMaxConnectionsPerClient cap open
	// connections in total and per client address; past either, a client
	// is answered 421 and disconnected at once (rather than left waiting
	// in the accept queue, where it would hold up everyone behind it).
	DefaultMaxConnections          = 100
	DefaultMaxConnectionsPerClient = 10
	// DefaultIdleTimeout is how long a connection may take from connecting
	// (or from the end of its last mail) to MAIL FROM. A relay says MAIL
	// FROM within a second; a connection that does not is holding a slot.
	DefaultIdleTimeout = 30 * time.Second
	// maxAuthFailures ends a connection that keeps guessing passwords.
	maxAuthFailures = 3
	// Idle limits per SMTP command once a mail is under way; RFC 5321
	// suggests minutes, but the receiver sits behind a relay on a fast link.
	smtpReadTimeout  = 2 * time.Minute
	smtpWriteTimeout = time.Minute
	// refusalLogEvery bounds the warn lines about refused connections.
	refusalLogEvery = 10 * time.Second
)

// AllowAnyClient in AllowedClients opens the receiver to every address.
const AllowAnyClient = "any"

// ReceiverOptions configure an SMTP receiver for mail forwarded to Vigil.
type ReceiverOptions struct {
	// Listen is host:port (port 0 picks a free port, for tests).
	Listen string
	// Recipients are the only addresses accepted in RCPT TO; any other
	// is refused with 550, so the receiver is no open relay.
	Recipients []string
	// AllowedClients limits who may connect: IP prefixes ("10.0.0.0/8")
	// or single addresses; others get 554 and are disconnected. Empty
	// means loopback only (127.0.0.0/8, ::1); AllowAnyClient alone means
	// every address.
	AllowedClients []string
	// MaxConnections and MaxConnectionsPerClient cap open connections
	// (defaults DefaultMaxConnections, DefaultMaxConnectionsPerClient).
	MaxConnections          int
	MaxConnectionsPerClient int
	// IdleTimeout is the time allowed from connecting, or from the end of
	// a mail, to MAIL FROM (DefaultIdleTimeout), on Clock.
	IdleTimeout time.Duration
	// TLSCertFile and TLSKeyFile (PEM) turn on STARTTLS; they are read by
	// Listen.
	TLSCertFile, TLSKeyFile string
	// Username and Password turn on AUTH PLAIN and require it before MAIL
	// FROM. AUTH is offered only over TLS or to a loopback client, so the
	// password never crosses a network in clear.
	Username, Password string
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
	anyClient  bool
	log        *slog.Logger

	mu  sync.Mutex
	ln  net.Listener
	tls *tls.Config
	srv *smtp.Server
	// open counts connections per client address; total is their sum.
	open  map[netip.Addr]int
	total int
	// Refusals since the last warn line about them (bounded logging).
	refusedLogged time.Time
	refused       int
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
	var allowed []netip.Prefix
	anyClient := len(o.AllowedClients) == 1 && o.AllowedClients[0] == AllowAnyClient
	switch {
	case anyClient:
	case len(o.AllowedClients) == 0:
		allowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	default:
		var err error
		if allowed, err = parsePrefixes(o.AllowedClients); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if o.Sink == nil {
		problems = append(problems, "a sink is required")
	}
	if o.MaxMessageBytes < 0 || o.ReceiveTimeout < 0 || o.MaxConnections < 0 || o.MaxConnectionsPerClient < 0 || o.IdleTimeout < 0 {
		problems = append(problems, "limits must not be negative")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		problems = append(problems, "STARTTLS needs both a certificate and a key file")
	}
	if (o.Username == "") != (o.Password == "") {
		problems = append(problems, "AUTH needs both a username and a password")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("email receiver: %s", strings.Join(problems, "; "))
	}
	o.MaxMessageBytes = cmp.Or(o.MaxMessageBytes, DefaultMaxMessageBytes)
	o.ReceiveTimeout = cmp.Or(o.ReceiveTimeout, DefaultReceiveTimeout)
	o.MaxConnections = cmp.Or(o.MaxConnections, DefaultMaxConnections)
	o.MaxConnectionsPerClient = cmp.Or(o.MaxConnectionsPerClient, DefaultMaxConnectionsPerClient)
	o.IdleTimeout = cmp.Or(o.IdleTimeout, DefaultIdleTimeout)
	o.Hostname = cmp.Or(o.Hostname, "vigil")
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{
		opts: o, recipients: rcpts, allowed: allowed, anyClient: anyClient,
		log:  o.Logger.With("adapter", "email", "via", "smtp"),
		open: map[netip.Addr]int{},
	}, nil
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

// Listen binds the address and reads the TLS certificate, so a port in
// use or a bad certificate is an error at start.
func (r *Receiver) Listen() error {
	var tlsConf *tls.Config
	if r.opts.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(r.opts.TLSCertFile, r.opts.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("email smtp_receiver.tls_cert_file: failed to load the certificate and key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", r.opts.Listen)
	if err != nil {
		return fmt.Errorf("email smtp_receiver.listen %s: %w", r.opts.Listen, err)
	}
	r.mu.Lock()
	r.ln = &guardedListener{Listener: ln, r: r}
	r.tls = tlsConf
	r.mu.Unlock()
	return nil
}

// Close releases the listener of a receiver that was bound but will not
// be served (start-up failed after Listen). Once Serve has started, Serve
// owns the listener and Close does nothing.
func (r *Receiver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil || r.srv != nil {
		return nil
	}
	return r.ln.Close()
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
	s.TLSConfig = r.tls
	r.srv, r.base = s, ctx
	ln := r.ln
	r.mu.Unlock()
	// Whether AUTH may be offered is decided per connection (TLS, or a
	// loopback client) in session.AuthMechanisms.
	s.AllowInsecureAuth = true
	r.logStart(ln.Addr().String())

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

// logStart says at start who may deliver mail, loudly when that is more
// than this host.
func (r *Receiver) logStart(addr string) {
	limits := []any{"addr", addr, "max_connections", r.opts.MaxConnections,
		"max_connections_per_client", r.opts.MaxConnectionsPerClient, "idle_timeout", r.opts.IdleTimeout.String(),
		"starttls", r.tls != nil, "auth", r.opts.Username != ""}
	switch {
	case r.anyClient:
		r.log.Warn("email: SMTP receiver listening and open to ANY address (allowed_clients: any); anyone who can reach it can file reports", limits...)
	case len(r.opts.AllowedClients) == 0:
		r.log.Info("email: SMTP receiver listening for loopback clients only (allowed_clients is empty)", limits...)
	default:
		r.log.Warn("email: SMTP receiver listening and open beyond loopback", append(limits, "allowed_clients", strings.Join(r.opts.AllowedClients, ","))...)
	}
}

// newSession refuses clients outside AllowedClients (the listener already
// did; this is the second lock on the door).
func (r *Receiver) newSession(c *smtp.Conn) (smtp.Session, error) {
	ip, ok := clientIP(c.Conn().RemoteAddr())
	if !ok || !r.clientAllowed(ip) {
		r.log.Warn("email: SMTP client not in allowed_clients", "remote", c.Conn().RemoteAddr().String())
		return nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "this host may not deliver mail here"}
	}
	_, isTLS := c.TLSConnectionState()
	tc := trackedOf(c.Conn())
	if tc != nil && isTLS {
		tc.mu.Lock()
		tc.tls = true
		tc.mu.Unlock()
	}
	return &session{r: r, conn: tc, tls: isTLS, loopback: ip.IsLoopback()}, nil
}

// slogPrintf adapts slog to the Printf logger go-smtp wants.
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(format string, v ...any) {
	s.l.Warn("email: smtp: " + fmt.Sprintf(format, v...))
}
func (s slogPrintf) Println(v ...any) {
	s.l.Warn("email: smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
