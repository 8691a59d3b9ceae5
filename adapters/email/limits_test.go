package email

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// dialFrom opens a connection to addr from a given loopback address
// (Linux routes all of 127/8 to lo) and returns it with the first line
// the server said.
func dialFrom(t *testing.T, from, addr string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: wait}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(wait)) // bounds a hang, not a timing assertion
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting to %s: %v", from, err)
	}
	return c, line
}

// sendFrom runs one SMTP session from a given loopback address.
func sendFrom(t *testing.T, from, addr, msg string) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: wait}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		return err
	}
	defer c.Close()
	for _, step := range []func() error{
		func() error { return c.Hello("relay.example.org") },
		func() error { return c.Mail("reporter@example.net") },
		func() error { return c.Rcpt("security@example.org") },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// The acceptance case: 100 silent connections from one client take its
// ten slots and are refused past them; a mail from another allowed client
// is accepted meanwhile.
func TestIdleConnectionsFromOneClientDoNotBlockAnother(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, nil) // defaults: loopback only, 10 per client, 100 in all
	greeted, refused := 0, 0
	for range 100 {
		_, line := dialFrom(t, "127.0.0.2", addr)
		switch {
		case strings.HasPrefix(line, "220 "):
			greeted++
		case strings.HasPrefix(line, "421 4.7.0 too many connections from your address"):
			refused++
		default:
			t.Fatalf("unexpected greeting %q", line)
		}
	}
	if greeted != DefaultMaxConnectionsPerClient || refused != 100-DefaultMaxConnectionsPerClient {
		t.Errorf("greeted %d, refused %d; want %d and %d", greeted, refused, DefaultMaxConnectionsPerClient, 100-DefaultMaxConnectionsPerClient)
	}
	// The ten idle connections are still open; another client delivers.
	if err := sendFrom(t, "127.0.0.3", addr, report); err != nil {
		t.Fatalf("mail from another client while 127.0.0.2 holds its connections: %v", err)
	}
	if got := sink.stored(); len(got) != 1 || got[0].SourceID != "r1@example.net" {
		t.Fatalf("stored %+v", got)
	}
}

func TestTotalConnectionCap(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, func(o *ReceiverOptions) { o.MaxConnections = 4; o.MaxConnectionsPerClient = 2 })
	for _, from := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"} {
		if _, line := dialFrom(t, from, addr); !strings.HasPrefix(line, "220 ") {
			t.Fatalf("within the caps, %s got %q", from, line)
		}
	}
	if _, line := dialFrom(t, "127.0.0.4", addr); !strings.HasPrefix(line, "421 4.3.2") {
		t.Errorf("past the total cap: %q, want 421", line)
	}
	// (A closed connection giving its slot back is shown by
	// TestIdleTimeoutBeforeMailFrom.)
}

// A connection that does not reach MAIL FROM within the idle timeout is
// closed with 421, on the injected clock; one with a mail under way is not.
func TestIdleTimeoutBeforeMailFrom(t *testing.T) {
	fake := clock.NewFake(received)
	sink := newSink()
	addr := startReceiver(t, sink, func(o *ReceiverOptions) { o.Clock = fake; o.MaxConnectionsPerClient = 2; o.MaxConnections = 2 })

	idle, _ := dialFrom(t, "127.0.0.2", addr)
	busy, _ := dialFrom(t, "127.0.0.3", addr)
	rb := bufio.NewReader(busy)
	for _, cmd := range []string{"EHLO relay.example.org\r\n", "MAIL FROM:<r@example.net>\r\n"} {
		if _, err := busy.Write([]byte(cmd)); err != nil {
			t.Fatal(err)
		}
		for {
			line, err := rb.ReadString('\n')
			if err != nil {
				t.Fatalf("%q: %v", cmd, err)
			}
			if line[3] == ' ' {
				break
			}
		}
	}
	// Just before the limit nothing happens; EHLO does not restart it.
	if _, err := idle.Write([]byte("EHLO x\r\n")); err != nil {
		t.Fatal(err)
	}
	fake.Advance(DefaultIdleTimeout)
	ri := bufio.NewReader(idle)
	var lines []string
	for {
		line, err := ri.ReadString('\n')
		if err != nil {
			break // closed by the server
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "421 4.4.2 idle") {
		t.Errorf("idle connection got %q, want a 421 and the close", lines)
	}
	// The busy one goes on.
	if _, err := busy.Write([]byte("RCPT TO:<security@example.org>\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := rb.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250") {
		t.Errorf("connection with a mail under way: %q %v", line, err)
	}
	// The idle client's slot is free again.
	if _, line := dialFrom(t, "127.0.0.2", addr); !strings.HasPrefix(line, "220 ") {
		t.Errorf("after the idle close: %q", line)
	}
}

func TestAllowedClientsDefaultToLoopback(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		ip      string
		ok      bool
	}{
		{nil, "127.0.0.9", true},
		{nil, "::1", true},
		{nil, "10.1.2.3", false},
		{nil, "192.0.2.1", false},
		{[]string{"any"}, "192.0.2.1", true},
		{[]string{"10.0.0.0/8"}, "127.0.0.1", false},
		{[]string{"10.0.0.0/8"}, "10.9.9.9", true},
	} {
		r, err := NewReceiver(ReceiverOptions{Listen: ":25", Recipients: []string{"a@b.c"}, Sink: newSink(), AllowedClients: tc.allowed})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.clientAllowed(netip.MustParseAddr(tc.ip)); got != tc.ok {
			t.Errorf("allowed %v, client %s: %v, want %v", tc.allowed, tc.ip, got, tc.ok)
		}
	}
}

func TestAuthPlainRequiredAndOnlyOverTLSOrLoopback(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, func(o *ReceiverOptions) { o.Username, o.Password = "relay", "correct horse" })
	// Without AUTH, MAIL FROM is refused.
	if err := send(addr, "security@example.org", report); smtpCode(err) != 530 {
		t.Fatalf("mail without AUTH: %v, want 530", err)
	}
	try := func(user, pass string) error {
		c, err := smtp.Dial(addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Hello("relay.example.org"); err != nil {
			return err
		}
		if err := c.Auth(smtp.PlainAuth("", user, pass, "127.0.0.1")); err != nil {
			return err
		}
		if err := c.Mail("r@example.net"); err != nil {
			return err
		}
		if err := c.Rcpt("security@example.org"); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		_, _ = w.Write([]byte(report))
		return w.Close()
	}
	if err := try("relay", "wrong"); smtpCode(err) != 535 {
		t.Fatalf("wrong password: %v, want 535", err)
	}
	if err := try("relay", "correct horse"); err != nil {
		t.Fatalf("right password from loopback: %v", err)
	}
	if len(sink.stored()) != 1 {
		t.Fatalf("stored %d", len(sink.stored()))
	}
	// Whether AUTH is offered: over TLS or to loopback, never in clear to
	// another host.
	r := &Receiver{opts: ReceiverOptions{Username: "relay"}}
	for _, tc := range []struct{ tls, loopback, want bool }{{false, false, false}, {true, false, true}, {false, true, true}} {
		s := &session{r: r, tls: tc.tls, loopback: tc.loopback}
		if got := len(s.AuthMechanisms()) > 0; got != tc.want {
			t.Errorf("tls %v loopback %v: AUTH offered %v", tc.tls, tc.loopback, got)
		}
	}
}

func TestStartTLS(t *testing.T) {
	certFile, keyFile := selfSignedFiles(t)
	sink := newSink()
	addr := startReceiver(t, sink, func(o *ReceiverOptions) {
		o.TLSCertFile, o.TLSKeyFile = certFile, keyFile
		o.Username, o.Password = "relay", "pw"
	})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil { //nolint:gosec // a throwaway self-signed test certificate
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.Auth(smtp.PlainAuth("", "relay", "pw", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH over TLS: %v", err)
	}
	if err := c.Mail("r@example.net"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("security@example.org"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(report))
	if err := w.Close(); err != nil {
		t.Fatalf("DATA over TLS: %v", err)
	}
	if len(sink.stored()) != 1 {
		t.Fatalf("stored %d", len(sink.stored()))
	}
	// A missing certificate is an error at Listen, naming the setting.
	r, err := NewReceiver(ReceiverOptions{Listen: "127.0.0.1:0", Recipients: []string{"a@b.c"}, Sink: sink, TLSCertFile: "/nonexistent.pem", TLSKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err == nil || !strings.Contains(err.Error(), "tls_cert_file") {
		t.Errorf("Listen with a missing certificate: %v", err)
	}
}

func selfSignedFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
