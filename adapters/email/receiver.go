package email

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
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

	"github.com/emersion/go-sasl"
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
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.ReceiveTimeout == 0 {
		o.ReceiveTimeout = DefaultReceiveTimeout
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.MaxConnectionsPerClient == 0 {
		o.MaxConnectionsPerClient = DefaultMaxConnectionsPerClient
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
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

func clientIP(addr net.Addr) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func (r *Receiver) clientAllowed(ip netip.Addr) bool {
	if r.anyClient {
		return true
	}
	for _, p := range r.allowed {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// guardedListener enforces allowed_clients and the connection caps at
// accept, before any SMTP is spoken: a refused client gets one line (554
// or 421) and is disconnected, and takes no slot from anyone.
type guardedListener struct {
	net.Listener
	r *Receiver
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.r.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// admit counts c in, or refuses it and returns nil.
func (r *Receiver) admit(c net.Conn) *trackedConn {
	ip, ok := clientIP(c.RemoteAddr())
	refuse := func(line, why string) *trackedConn {
		// A fresh socket's send buffer takes one line without blocking.
		_, _ = io.WriteString(c, line)
		_ = c.Close()
		r.logRefusal(why, ip)
		return nil
	}
	if !ok || !r.clientAllowed(ip) {
		return refuse("554 5.7.1 this host may not deliver mail here\r\n", "not in allowed_clients")
	}
	r.mu.Lock()
	switch {
	case r.open[ip] >= r.opts.MaxConnectionsPerClient:
		r.mu.Unlock()
		return refuse("421 4.7.0 too many connections from your address; try again later\r\n", "max_connections_per_client reached")
	case r.total >= r.opts.MaxConnections:
		r.mu.Unlock()
		return refuse("421 4.3.2 too many connections; try again later\r\n", "max_connections reached")
	}
	r.open[ip]++
	r.total++
	r.mu.Unlock()
	tc := &trackedConn{Conn: c, r: r, ip: ip, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	// The idle timer starts before go-smtp greets the client, so the
	// whole time to MAIL FROM is counted.
	tc.arm()
	go tc.watch()
	return tc
}

// logRefusal writes at most one warn line per refusalLogEvery, counting
// the refusals in between: a client hammering the port cannot flood the
// log.
func (r *Receiver) logRefusal(why string, ip netip.Addr) {
	now := r.opts.Clock.Now()
	r.mu.Lock()
	r.refused++
	if !r.refusedLogged.IsZero() && now.Sub(r.refusedLogged) < refusalLogEvery {
		r.mu.Unlock()
		return
	}
	n := r.refused
	r.refused, r.refusedLogged = 0, now
	r.mu.Unlock()
	r.log.Warn("email: SMTP connection refused", "reason", why, "remote", ip.String(), "refused_since_last_line", n)
}

func (r *Receiver) release(ip netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total--
	if r.open[ip]--; r.open[ip] <= 0 {
		delete(r.open, ip)
	}
}

// trackedConn is an admitted connection: it gives its slot back when
// closed, and a watchdog on the injected clock closes it when it stays
// idle (no MAIL FROM) for IdleTimeout.
type trackedConn struct {
	net.Conn
	r    *Receiver
	ip   netip.Addr
	once sync.Once
	done chan struct{}

	mu      sync.Mutex
	timer   clock.Timer // nil while a mail is under way
	tls     bool        // after STARTTLS: no plain-text 421 on expiry
	changed chan struct{}
}

// trackedOf finds the trackedConn under c (which is a *tls.Conn after
// STARTTLS).
func trackedOf(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, _ := c.(*trackedConn)
	return t
}

// Close gives the slot back before closing the socket, so a client that
// sees the close can connect again at once.
func (t *trackedConn) Close() error {
	t.once.Do(func() {
		close(t.done)
		t.r.release(t.ip)
	})
	return t.Conn.Close()
}

// arm starts the idle timer (at accept, and when a mail has ended).
func (t *trackedConn) arm() {
	t.mu.Lock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timer = t.r.opts.Clock.NewTimer(t.r.opts.IdleTimeout)
	t.mu.Unlock()
	t.poke()
}

// disarm stops the idle timer: MAIL FROM was given, and go-smtp's
// per-command read timeout takes over.
func (t *trackedConn) disarm() {
	t.mu.Lock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.mu.Unlock()
	t.poke()
}

func (t *trackedConn) poke() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

func (t *trackedConn) watch() {
	for {
		t.mu.Lock()
		timer := t.timer
		t.mu.Unlock()
		var fired <-chan time.Time
		if timer != nil {
			fired = timer.C()
		}
		select {
		case <-fired:
			t.mu.Lock()
			expired, isTLS := t.timer == timer, t.tls
			t.mu.Unlock()
			if expired {
				if !isTLS {
					_, _ = io.WriteString(t.Conn, "421 4.4.2 idle for too long before MAIL FROM; closing\r\n")
				}
				t.r.log.Info("email: SMTP connection closed: idle before MAIL FROM", "remote", t.ip.String(), "idle_timeout", t.r.opts.IdleTimeout.String())
				_ = t.Close()
				return
			}
		case <-t.changed:
		case <-t.done:
			return
		}
	}
}

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

// slogPrintf adapts slog to the Printf logger go-smtp wants.
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(format string, v ...any) {
	s.l.Warn("email: smtp: " + fmt.Sprintf(format, v...))
}
func (s slogPrintf) Println(v ...any) {
	s.l.Warn("email: smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
