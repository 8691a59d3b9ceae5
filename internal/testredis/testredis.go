// Package testredis gives tests a real Redis: the one named by REDIS_URL, or
// a throwaway redis-server on a free loopback port.
//
// Without either the test is skipped, with a hint on how to get one; when
// VIGIL_REQUIRE_INTEGRATION=1 (the Makefile sets it) it fails instead, so CI
// cannot go green by quietly skipping the integration tests.
//
// This package reads the wall clock, but only to bound how long it waits for
// a server to come up or go down.
package testredis

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	startTimeout = 5 * time.Second
	stopTimeout  = 5 * time.Second
)

// Config tunes a server started by StartServer.
type Config struct {
	// AppendOnly turns on the append-only file (fsync every second), so
	// data written before Stop is there again after Restart.
	AppendOnly bool
	// Password sets requirepass; URL() then carries it.
	Password string
	// UnixSocket also listens on a unix socket; see SocketPath.
	UnixSocket bool
}

// Server is a Redis for one test.
type Server struct {
	tb   testing.TB
	url  string
	addr string // host:port
	cfg  Config
	dir  string // "" for REDIS_URL servers

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logs *lockedWriter
}

func skipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("VIGIL_REQUIRE_INTEGRATION") == "1" {
		tb.Fatal(msg + " (VIGIL_REQUIRE_INTEGRATION=1)")
		return
	}
	tb.Skip(msg)
}

// Start returns a Redis for tb: REDIS_URL when set, else a fresh
// redis-server stopped at cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			tb.Fatalf("REDIS_URL is not a URL: %v", redactErr(err, u))
		}
		return &Server{tb: tb, url: u, addr: pu.Host}
	}
	return StartServer(tb, Config{})
}

// StartServer starts a dedicated redis-server, whatever REDIS_URL says, for
// tests that stop and restart it. It is stopped at cleanup.
func StartServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(tb, "redis-server not found: install it (apt-get install -y redis-server) or set REDIS_URL")
	}
	// A short private directory: unix socket paths are limited to ~100
	// bytes and t.TempDir names can be long.
	dir, err := os.MkdirTemp("", "vigil-redis-")
	if err != nil {
		tb.Fatalf("testredis: %v", err)
	}
	s := &Server{tb: tb, cfg: cfg, dir: dir}
	tb.Cleanup(func() {
		s.Stop()
		os.RemoveAll(dir)
	})
	// The free port can be taken between probing and redis binding it;
	// try a few.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("testredis: find a free port: %v", err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		u := url.URL{Scheme: "redis", Host: s.addr}
		if cfg.Password != "" {
			u.User = url.UserPassword("", cfg.Password)
		}
		s.url = u.String()
		if lastErr = s.launch(bin); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("testredis: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) args() []string {
	_, port, _ := net.SplitHostPort(s.addr)
	a := []string{
		"--port", port,
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--daemonize", "no",
		"--logfile", "",
		"--appendonly", "no",
	}
	if s.cfg.AppendOnly {
		a[len(a)-1] = "yes"
		a = append(a, "--appendfsync", "everysec")
	}
	if s.cfg.Password != "" {
		a = append(a, "--requirepass", s.cfg.Password)
	}
	if s.cfg.UnixSocket {
		a = append(a, "--unixsocket", s.SocketPath(), "--unixsocketperm", "700")
	}
	return a
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch(bin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(bin, s.args()...)
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.logs = cmd, done, logs
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.ping()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("redis-server exited at start: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			s.cmd = nil
			return fmt.Errorf("redis-server did not answer PING within %v: %v\n%s", startTimeout, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping speaks just enough RESP to see the server is up, so the harness
// needs no client library.
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	cmd := "PING\r\n"
	if s.cfg.Password != "" {
		cmd = fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(s.cfg.Password), s.cfg.Password) + cmd
	}
	if _, err := c.Write([]byte(cmd)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	if s.cfg.Password != "" {
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("AUTH: %q %v", strings.TrimSpace(line), err)
		}
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// URL is the server's redis:// URL (with the password, if any).
func (s *Server) URL() string { return s.url }

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// SocketPath is the unix socket when Config.UnixSocket is set.
func (s *Server) SocketPath() string { return filepath.Join(s.dir, "redis.sock") }

// Prefix returns a key prefix unique to this call, so tests sharing a
// server (or a REDIS_URL shared with other runs) never see each other's
// keys.
func (s *Server) Prefix(tb testing.TB) string {
	prefix := uniquePrefix(tb)
	if s.dir == "" {
		// A REDIS_URL server outlives the test: leave it as we found it.
		// Every key the store writes is "{prefix}:..." (store/redis).
		tb.Cleanup(func() { s.deleteKeys("{" + prefix + "}:*") })
	}
	return prefix
}

// uniquePrefix names the test and adds random bytes.
func uniquePrefix(tb testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	name := nonWord.ReplaceAllString(tb.Name(), "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return "vigiltest:" + name + ":" + hex.EncodeToString(b[:])
}

// deleteKeys removes keys matching pattern, best effort.
func (s *Server) deleteKeys(pattern string) {
	opts, err := redis.ParseURL(s.url)
	if err != nil {
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, pattern, 500).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Stop shuts the server down gracefully (SIGTERM: it flushes the AOF) and
// waits for it. Stopping a stopped server does nothing.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill stops the server abruptly (SIGKILL), like a crash.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

func (s *Server) stop(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart stops the server if it runs and starts it again on the same port
// and directory; with AppendOnly the data survives.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.dir == "" {
		s.tb.Fatal("testredis: Restart needs a server from StartServer, not REDIS_URL")
	}
	s.Stop()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		s.tb.Fatalf("testredis: %v", err)
	}
	if err := s.launch(bin); err != nil {
		s.tb.Fatalf("testredis: restart: %v", err)
	}
}

// Logs returns what the server printed, for failure messages.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil || s.cmd == nil {
		return ""
	}
	return s.logs.String()
}

// lockedWriter lets the server's output be read while it is still being
// written.
type lockedWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// redactErr drops the URL (which may hold a password) from a parse error.
func redactErr(err error, raw string) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), raw, "<REDIS_URL>"))
}
