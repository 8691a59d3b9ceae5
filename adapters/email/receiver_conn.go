package email

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// This file is the receiver's door: which clients may connect, how many at
// once, and how long a connection may idle or take.

// clientIP is the address a connection comes from (an IPv4-mapped IPv6
// address as IPv4).
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
