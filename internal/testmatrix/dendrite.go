// Package testmatrix gives tests a real Matrix homeserver: the one named by
// MATRIX_HOMESERVER_URL (with MATRIX_SHARED_SECRET, as `make test` exports
// them), or a Dendrite started from the binary scripts/build-dendrite.sh
// keeps in the cache, on a free loopback port with a fresh database: a
// throwaway PostgreSQL cluster of its own (postgres.go), because Dendrite's
// SQLite storage crashes under load (element-hq/dendrite#1348, "cannot
// start a transaction within a transaction"). SQLite is the fallback only
// when PostgreSQL is not installed and integration tests may skip.
//
// Without either the test is skipped with a hint; when
// VIGIL_REQUIRE_INTEGRATION=1 (the Makefile sets it) it fails instead.
//
// This package reads the wall clock, but only to bound how long it waits
// for the homeserver to come up or go down.
package testmatrix

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// DendriteVersion is the version tools/go.mod pins (a test keeps them in
// step); the cache directory is named after it.
const DendriteVersion = "v0.15.2"

// ServerName is the Matrix server name of a Dendrite started here: user
// ids are @name:localhost.
const ServerName = "localhost"

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
)

// BinDir is where scripts/build-dendrite.sh puts the binaries:
// VIGIL_DENDRITE_CACHE, else $XDG_CACHE_HOME/vigil/dendrite-VERSION, else
// ~/.cache/vigil/dendrite-VERSION.
func BinDir() (string, error) {
	if d := os.Getenv("VIGIL_DENDRITE_CACHE"); d != "" {
		return d, nil
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the cache directory: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "vigil", "dendrite-"+DendriteVersion), nil
}

// Dendrite is a running homeserver process.
type Dendrite struct {
	URL          string
	SharedSecret string
	// Storage says which database Dendrite runs on, for logs.
	Storage string
	dir     string
	pg      *Postgres // nil on SQLite

	cmd  *exec.Cmd
	done chan struct{}
	logs *lockedBuffer
	once sync.Once
}

// StartDendrite writes a configuration into a fresh directory under
// parent, starts Dendrite from binDir on a free loopback port and waits
// until it answers. Every listener is on 127.0.0.1, federation is off and
// nothing reaches outside (no key perspectives, no stats, no presence).
func StartDendrite(ctx context.Context, binDir, parent string) (*Dendrite, error) {
	for _, tool := range []string{"dendrite", "generate-config", "generate-keys"} {
		if _, err := os.Stat(filepath.Join(binDir, tool)); err != nil {
			return nil, fmt.Errorf("dendrite binaries not found in %s (run scripts/build-dendrite.sh): %w", binDir, err)
		}
	}
	pg, storage, err := startStorage(ctx, parent)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "vigil-dendrite-")
	if err != nil {
		pg.stop()
		return nil, fmt.Errorf("dendrite: %w", err)
	}
	cleanup := func() {
		os.RemoveAll(dir)
		pg.stop()
	}
	secret := randomHex(16)
	if err := writeConfig(ctx, binDir, dir, secret, pg.connString()); err != nil {
		cleanup()
		return nil, err
	}
	var lastErr error
	// The free port can be taken between probing and Dendrite binding it.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("dendrite: find a free port: %w", err)
		}
		d := &Dendrite{
			URL:          "http://127.0.0.1:" + strconv.Itoa(port),
			SharedSecret: secret,
			Storage:      storage,
			dir:          dir,
			pg:           pg,
			done:         make(chan struct{}),
			logs:         &lockedBuffer{},
		}
		if lastErr = d.launch(ctx, binDir, port); lastErr == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	cleanup()
	return nil, lastErr
}

// startStorage starts the PostgreSQL cluster Dendrite will use, or, when
// PostgreSQL is not installed and VIGIL_REQUIRE_INTEGRATION is not 1,
// returns a nil cluster (SQLite). The string says which, for logs.
func startStorage(ctx context.Context, parent string) (*Postgres, string, error) {
	pgBin, err := PostgresBinDir()
	if errors.Is(err, ErrNoPostgres) && os.Getenv("VIGIL_REQUIRE_INTEGRATION") != "1" {
		return nil, "SQLite (PostgreSQL is not installed; run scripts/ensure-postgres.sh, since Dendrite's SQLite storage is flaky under load)", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("dendrite needs PostgreSQL: %w", err)
	}
	pg, err := StartPostgres(ctx, pgBin, parent)
	if err != nil {
		return nil, "", fmt.Errorf("dendrite's database: %w", err)
	}
	return pg, "PostgreSQL on 127.0.0.1:" + strconv.Itoa(pg.port) + " (" + pg.Version + ")", nil
}

// connString is "" for no cluster (SQLite).
func (p *Postgres) connString() string {
	if p == nil {
		return ""
	}
	return p.ConnString()
}

// stop is Stop that does nothing for no cluster.
func (p *Postgres) stop() {
	if p != nil {
		p.Stop()
	}
}

// writeConfig generates Dendrite's CI configuration and tightens it. With
// a PostgreSQL connection string every component uses that one database:
// Dendrite falls back to global.database for a component without its own,
// so the per-component (SQLite) sections are removed.
func writeConfig(ctx context.Context, binDir, dir, secret, postgresURL string) error {
	key := filepath.Join(dir, "matrix_key.pem")
	if out, err := exec.CommandContext(ctx, filepath.Join(binDir, "generate-keys"), "--private-key", key).CombinedOutput(); err != nil {
		return fmt.Errorf("dendrite generate-keys: %w: %s", err, out)
	}
	raw, err := exec.CommandContext(ctx, filepath.Join(binDir, "generate-config"), "-ci", "-dir", dir, "-server", ServerName).Output()
	if err != nil {
		return fmt.Errorf("dendrite generate-config: %w", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("dendrite config: %w", err)
	}
	set := func(path string, v any) {
		m := cfg
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	set("global.private_key", key)
	set("global.disable_federation", true)
	set("global.presence.enable_inbound", false)
	set("global.presence.enable_outbound", false)
	set("global.report_stats.enabled", false)
	set("global.trusted_third_party_id_servers", []string{})
	set("global.metrics.enabled", false)
	set("global.sentry.enabled", false)
	set("federation_api.key_perspectives", []any{})
	set("client_api.registration_disabled", true)
	set("client_api.open_registration_without_verification_enabled", false)
	set("client_api.registration_shared_secret", secret)
	// Rate limits would make the tests' bursts flaky; the adapter's
	// handling of M_LIMIT_EXCEEDED is tested against a fake.
	set("client_api.rate_limiting.enabled", false)
	set("mscs.mscs", []string{})
	set("sync_api.search.enabled", false)
	set("logging", []any{map[string]any{"type": "std", "level": "warn"}})
	if postgresURL != "" {
		for section, v := range cfg {
			if m, ok := v.(map[string]any); ok && section != "global" {
				delete(m, "database")
				delete(m, "account_database") // user_api's
			}
		}
		set("global.database", map[string]any{
			"connection_string": postgresURL,
			// One pool shared by every component, below the server's
			// max_connections.
			"max_open_conns":    postgresPoolSize,
			"max_idle_conns":    5,
			"conn_max_lifetime": -1,
		})
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("dendrite config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dendrite.yaml"), out, 0o600); err != nil {
		return fmt.Errorf("dendrite config: %w", err)
	}
	return nil
}

func (d *Dendrite) launch(ctx context.Context, binDir string, port int) error {
	cmd := exec.Command(filepath.Join(binDir, "dendrite"),
		"-config", filepath.Join(d.dir, "dendrite.yaml"),
		"-http-bind-address", "127.0.0.1:"+strconv.Itoa(port),
		// Not served without -tls-cert, but parsed: keep it on loopback.
		"-https-bind-address", "127.0.0.1:0",
	)
	cmd.Dir = d.dir
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	// No profiler listener, whatever the caller's environment says.
	cmd.Env = append(os.Environ(), "PPROFLISTEN=")
	// Killed with the process that started it, so a killed test run
	// leaves no homeserver holding its database.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dendrite: %w", err)
	}
	d.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(d.done)
	}()
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-d.done:
			return fmt.Errorf("dendrite exited at start:\n%s", d.Logs())
		case <-ctx.Done():
			d.stopProcess()
			return ctx.Err()
		default:
		}
		resp, err := client.Get(d.URL + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			d.stopProcess()
			return fmt.Errorf("dendrite did not answer within %s:\n%s", startTimeout, d.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Logs returns what Dendrite printed, then what its PostgreSQL printed
// (warnings and errors only), if anything.
func (d *Dendrite) Logs() string {
	s := d.logs.String()
	if d.pg != nil {
		if pl := d.pg.Logs(); pl != "" {
			s += "\n--- postgres ---\n" + tail(pl, 4000)
		}
	}
	return s
}

// Stop ends the process (SIGTERM, then SIGKILL after a bound), then its
// PostgreSQL cluster, and removes their directories.
func (d *Dendrite) Stop() {
	d.once.Do(func() {
		d.stopProcess()
		os.RemoveAll(d.dir)
		d.pg.stop()
	})
}

// stopProcess ends Dendrite alone: a failed start on one port leaves the
// directory and the database for the next try.
func (d *Dendrite) stopProcess() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(stopTimeout):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
}

// Account is a registered user.
type Account struct {
	UserID      string `json:"user_id"`
	AccessToken string `json:"access_token"`
	DeviceID    string `json:"device_id"`
	Password    string `json:"-"`
}

// Register creates a user with shared-secret registration
// (/_synapse/admin/v1/register, which Dendrite implements): the way to
// make accounts when public registration is off.
func Register(ctx context.Context, hsURL, secret, localpart, password string, admin bool) (Account, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	endpoint := strings.TrimRight(hsURL, "/") + "/_synapse/admin/v1/register"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return Account{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Account{}, fmt.Errorf("register %s: nonce: %w", localpart, err)
	}
	var nonce struct {
		Nonce string `json:"nonce"`
	}
	err = json.NewDecoder(resp.Body).Decode(&nonce)
	resp.Body.Close()
	if err != nil || nonce.Nonce == "" {
		return Account{}, fmt.Errorf("register %s: no nonce (%v)", localpart, err)
	}
	kind := "notadmin"
	if admin {
		kind = "admin"
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(strings.Join([]string{nonce.Nonce, localpart, password, kind}, "\x00")))
	body, _ := json.Marshal(map[string]any{
		"nonce": nonce.Nonce, "username": localpart, "password": password,
		"admin": admin, "mac": hex.EncodeToString(mac.Sum(nil)),
	})
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Account{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		return Account{}, fmt.Errorf("register %s: %w", localpart, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return Account{}, fmt.Errorf("register %s: HTTP %d: %s", localpart, resp.StatusCode, data)
	}
	var a Account
	if err := json.Unmarshal(data, &a); err != nil {
		return Account{}, fmt.Errorf("register %s: %w", localpart, err)
	}
	if a.UserID == "" {
		return Account{}, errors.New("register " + localpart + ": no user id in the answer")
	}
	a.Password = password
	return a, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Keep the tail: a long run's logs should not grow without bound.
	if w.buf.Len() > 4<<20 {
		rest := w.buf.Bytes()[w.buf.Len()-(1<<20):]
		w.buf = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return w.buf.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
