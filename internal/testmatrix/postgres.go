package testmatrix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoPostgres means no PostgreSQL server binaries were found;
// scripts/ensure-postgres.sh installs them.
var ErrNoPostgres = errors.New("PostgreSQL is not installed (run scripts/ensure-postgres.sh, or set VIGIL_POSTGRES_BIN to the directory holding initdb and postgres)")

// postgresDB is the database (and superuser) a cluster started here
// creates for Dendrite.
const postgresDB = "dendrite"

// postgresMaxConns bounds the server's connections; Dendrite's one shared
// pool (postgresPoolSize) stays well below it so createdb and a human with
// psql still get in.
const (
	postgresMaxConns = 60
	postgresPoolSize = 40
)

// PostgresBinDir finds the PostgreSQL server binaries: VIGIL_POSTGRES_BIN,
// else the newest Debian /usr/lib/postgresql/*/bin, else the directory of
// an initdb on PATH that has postgres beside it. It returns ErrNoPostgres
// when there are none.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("VIGIL_POSTGRES_BIN"); d != "" {
		if !hasPostgresTools(d) {
			return "", fmt.Errorf("VIGIL_POSTGRES_BIN=%s has no initdb, postgres and createdb: %w", d, ErrNoPostgres)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first: "15" before "9.6" needs a numeric sort.
	sort.Slice(dirs, func(i, j int) bool {
		return majorOf(dirs[i]) > majorOf(dirs[j])
	})
	for _, d := range dirs {
		if hasPostgresTools(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if d := filepath.Dir(p); hasPostgresTools(d) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func majorOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func hasPostgresTools(dir string) bool {
	for _, tool := range []string{"initdb", "postgres", "createdb"} {
		if fi, err := os.Stat(filepath.Join(dir, tool)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// Postgres is a throwaway PostgreSQL cluster: its own directory, a free
// loopback port, its unix socket in that directory, no durability (fsync,
// synchronous commit and full page writes off: the data is thrown away)
// and trust authentication, which initdb limits to the socket and
// loopback. Stop ends it and removes the directory.
type Postgres struct {
	dir  string // holds data/ and the socket
	port int
	// Version is what `postgres --version` says, for logs.
	Version string

	cmd  *exec.Cmd
	done chan struct{}
	logs *lockedBuffer
	once sync.Once
}

// ConnString is the URL Dendrite connects with (TCP on loopback, no TLS).
func (p *Postgres) ConnString() string {
	return "postgres://" + postgresDB + "@127.0.0.1:" + strconv.Itoa(p.port) + "/" + postgresDB + "?sslmode=disable"
}

// Logs returns what the server printed.
func (p *Postgres) Logs() string { return p.logs.String() }

// StartPostgres creates a cluster in a fresh directory under parent (""
// for the system's temporary directory) with the binaries in binDir,
// starts it, waits until it accepts connections and creates Dendrite's
// database. PostgreSQL refuses to run as root, so as root the server runs
// as the "postgres" system user (which Debian's package creates) and the
// directory is handed to it.
func StartPostgres(ctx context.Context, binDir, parent string) (*Postgres, error) {
	if !hasPostgresTools(binDir) {
		return nil, fmt.Errorf("postgres: no initdb, postgres and createdb in %s: %w", binDir, ErrNoPostgres)
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "vigil-postgres-")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres: hand %s to the postgres user: %w", dir, err)
		}
	}
	version, _ := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--version").Output()
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", filepath.Join(dir, "data"),
		"-U", postgresDB, "--auth=trust",
		"-E", "UTF8", "--locale=C",
		// The cluster lives for one run: nothing needs to reach the disk.
		"--no-sync",
	)
	prepare(initdb, dir, cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres initdb in %s: %w: %s", dir, err, tail(string(out), 2000))
	}
	var lastErr error
	// The free port can be taken between probing and the server binding it.
	for range 3 {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres: find a free port: %w", err)
		}
		p := &Postgres{
			dir:     dir,
			port:    port,
			Version: strings.TrimSpace(string(version)),
			done:    make(chan struct{}),
			logs:    &lockedBuffer{},
		}
		if lastErr = p.launch(ctx, binDir, cred); lastErr == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// postgresCredential is who the server runs as: nil (the caller) unless
// the caller is root, then the postgres system user.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("postgres: running as root and there is no postgres user to run the server as (Debian's postgresql package creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres: user postgres has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepare sets what every PostgreSQL process started here shares: the
// user, the working directory (one the postgres user can enter), an
// environment without PG* variables (which would point the tools at some
// other server), and death with the parent.
func prepare(cmd *exec.Cmd, dir string, cred *syscall.Credential) {
	cmd.Dir = dir
	env := []string{"LC_ALL=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// A killed test binary must not leave a server behind. (Linux
		// delivers this when the OS thread that started the process
		// exits; Go keeps its threads unless one is locked and its
		// goroutine ends, which this package never does.)
		Pdeathsig: syscall.SIGQUIT,
	}
}

func (p *Postgres) launch(ctx context.Context, binDir string, cred *syscall.Credential) error {
	data := filepath.Join(p.dir, "data")
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.port),
		"-c", "unix_socket_directories="+p.dir,
		"-c", "max_connections="+strconv.Itoa(postgresMaxConns),
		"-c", "shared_buffers=32MB",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "log_min_messages=warning",
	)
	prepare(cmd, p.dir, cred)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for !postmasterReady(data) {
		select {
		case <-p.done:
			return fmt.Errorf("postgres exited at start:\n%s", tail(p.Logs(), 4000))
		case <-ctx.Done():
			p.stopServer()
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			p.stopServer()
			return fmt.Errorf("postgres was not ready within %s:\n%s", startTimeout, tail(p.Logs(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Over the socket: the one way in that does not depend on the port.
	createdb := exec.CommandContext(ctx, filepath.Join(binDir, "createdb"),
		"-h", p.dir, "-p", strconv.Itoa(p.port), "-U", postgresDB,
		"-E", "UTF8", "--locale=C", "-T", "template0", postgresDB)
	prepare(createdb, p.dir, cred)
	if out, err := createdb.CombinedOutput(); err != nil {
		p.stopServer()
		return fmt.Errorf("postgres createdb: %w: %s\n%s", err, out, tail(p.Logs(), 2000))
	}
	return nil
}

// postmasterReady reports whether the server says it accepts connections:
// the eighth line of postmaster.pid is "ready" from then on (PostgreSQL
// 10 and later), which saves polling with a client.
func postmasterReady(data string) bool {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready"
}

// stopServer ends the server: an immediate shutdown (SIGQUIT; the data
// is thrown away, so there is nothing to flush), then SIGKILL after a
// bound. Its children notice the postmaster is gone and exit.
func (p *Postgres) stopServer() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Stop ends the server and removes its directory.
func (p *Postgres) Stop() {
	p.once.Do(func() {
		p.stopServer()
		os.RemoveAll(p.dir)
	})
}
