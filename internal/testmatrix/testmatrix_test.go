package testmatrix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestVersionMatchesTools keeps DendriteVersion in step with the version
// tools/go.mod pins (which scripts/build-dendrite.sh builds).
func TestVersionMatchesTools(t *testing.T) {
	data, err := os.ReadFile("../../tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := "github.com/element-hq/dendrite " + DendriteVersion
	if !strings.Contains(string(data), want) {
		t.Errorf("tools/go.mod does not pin %q; update DendriteVersion", want)
	}
}

// TestRegisterAndLogin starts (or reuses) a homeserver, registers a user
// with the shared secret and checks the token works.
func TestRegisterAndLogin(t *testing.T) {
	s := Start(t)
	a := s.Register(t, "Alice")
	if !strings.HasPrefix(a.UserID, "@alice-") || !strings.HasSuffix(a.UserID, ":"+s.ServerName) || a.AccessToken == "" {
		t.Fatalf("account = %+v", a)
	}
	b := s.Register(t, "alice")
	if b.UserID == a.UserID {
		t.Fatal("two registrations got the same user id")
	}
}

// requirePostgres returns the PostgreSQL binaries, or skips (fails under
// VIGIL_REQUIRE_INTEGRATION=1) saying how to install them.
func requirePostgres(t *testing.T) string {
	t.Helper()
	bin, err := PostgresBinDir()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	return bin
}

// TestPostgresStartsAndLeavesNothing starts a cluster, checks it serves
// on loopback and that Stop ends the server and removes its directory.
func TestPostgresStartsAndLeavesNothing(t *testing.T) {
	bin := requirePostgres(t)
	p, err := StartPostgres(context.Background(), bin, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	want := "postgres://dendrite@127.0.0.1:" + strconv.Itoa(p.port) + "/dendrite?sslmode=disable"
	if p.ConnString() != want {
		t.Errorf("ConnString = %q, want %q", p.ConnString(), want)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
	if err != nil {
		t.Fatalf("the server does not listen on its port: %v", err)
	}
	c.Close()
	if _, err := os.Stat(filepath.Join(p.dir, ".s.PGSQL."+strconv.Itoa(p.port))); err != nil {
		t.Errorf("no unix socket in the cluster's directory: %v", err)
	}
	pid := p.cmd.Process.Pid
	if os.Geteuid() == 0 {
		if uid := processUID(t, pid); uid == 0 {
			t.Error("postgres runs as root")
		}
	}
	p.Stop()
	if alive(pid) {
		t.Errorf("postgres (pid %d) still runs after Stop", pid)
	}
	if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cluster directory %s left behind (%v)", p.dir, err)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port)); err == nil {
		c.Close()
		t.Error("something still listens on the cluster's port after Stop")
	}
}

// TestKilledParentLeavesNoServer kills (SIGKILL, no cleanup) a process
// that started a cluster and checks the server goes with it.
func TestKilledParentLeavesNoServer(t *testing.T) {
	if os.Getenv("TESTMATRIX_POSTGRES_CHILD") == "1" {
		p, err := StartPostgres(context.Background(), requirePostgres(t), "")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("pid=%d dir=%s\n", p.cmd.Process.Pid, p.dir)
		select {} // until killed
	}
	requirePostgres(t)
	child := exec.Command(os.Args[0], "-test.run=^TestKilledParentLeavesNoServer$", "-test.count=1")
	child.Env = append(os.Environ(), "TESTMATRIX_POSTGRES_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("child did not report its server: %v", err)
	}
	var pid int
	var dir string
	if _, err := fmt.Sscanf(line, "pid=%d dir=%s", &pid, &dir); err != nil || !strings.Contains(dir, "vigil-postgres-") {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("child said %q", line)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // the killed child could not
	if !alive(pid) {
		t.Fatalf("postgres (pid %d) is not running before the kill", pid)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	// A bound on waiting for the kernel and the server, not a speed test.
	deadline := time.Now().Add(stopTimeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postgres (pid %d) outlived the process that started it by %s", pid, stopTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// TestConfigUsesOnlyPostgres checks the written configuration: one global
// PostgreSQL database and no component left on its own SQLite file.
func TestConfigUsesOnlyPostgres(t *testing.T) {
	bin, ok := binary()
	if !ok {
		skipOrFail(t, "no cached Dendrite: run scripts/build-dendrite.sh")
	}
	dir := t.TempDir()
	url := "postgres://dendrite@127.0.0.1:1/dendrite?sslmode=disable"
	if err := writeConfig(context.Background(), bin, dir, "s3cret", url); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dendrite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	global, _ := cfg["global"].(map[string]any)
	db, _ := global["database"].(map[string]any)
	if db["connection_string"] != url {
		t.Errorf("global.database.connection_string = %v, want %s", db["connection_string"], url)
	}
	if n, _ := db["max_open_conns"].(int); n <= 0 || n >= postgresMaxConns {
		t.Errorf("global.database.max_open_conns = %v, want 1..%d", db["max_open_conns"], postgresMaxConns-1)
	}
	for name, v := range cfg {
		m, ok := v.(map[string]any)
		if !ok || name == "global" {
			continue
		}
		for _, key := range []string{"database", "account_database"} {
			if _, ok := m[key]; ok {
				t.Errorf("%s.%s is still set; it would override the global database", name, key)
			}
		}
	}
	if strings.Contains(string(raw), "file:") {
		t.Errorf("configuration still names an SQLite file:\n%s", raw)
	}
}

// TestStorageChoice: without PostgreSQL, SQLite only when integration
// tests may skip, and an error saying what to install when they may not.
func TestStorageChoice(t *testing.T) {
	t.Setenv("VIGIL_POSTGRES_BIN", t.TempDir()) // no binaries there
	t.Setenv("VIGIL_REQUIRE_INTEGRATION", "")
	pg, storage, err := startStorage(context.Background(), t.TempDir())
	if err != nil || pg != nil || !strings.HasPrefix(storage, "SQLite") {
		t.Errorf("without PostgreSQL, integration optional: %v, %q, %v; want SQLite", pg, storage, err)
	}
	t.Setenv("VIGIL_REQUIRE_INTEGRATION", "1")
	pg, _, err = startStorage(context.Background(), t.TempDir())
	if !errors.Is(err, ErrNoPostgres) || pg != nil {
		t.Fatalf("without PostgreSQL under VIGIL_REQUIRE_INTEGRATION=1: err = %v, want ErrNoPostgres", err)
	}
	if !strings.Contains(err.Error(), "scripts/ensure-postgres.sh") {
		t.Errorf("error does not say how to install PostgreSQL: %v", err)
	}
}

// TestDendriteOnPostgres starts a Dendrite of its own, registers a user
// and checks nothing went to SQLite and Stop removes both directories.
func TestDendriteOnPostgres(t *testing.T) {
	bin, ok := binary()
	if !ok {
		skipOrFail(t, "no cached Dendrite: run scripts/build-dendrite.sh")
	}
	requirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	d, err := StartDendrite(ctx, bin, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	if d.pg == nil || !strings.HasPrefix(d.Storage, "PostgreSQL") {
		t.Fatalf("storage = %q, want PostgreSQL", d.Storage)
	}
	if _, err := Register(ctx, d.URL, d.SharedSecret, "pg-"+randomHex(3), "pw-"+randomHex(8), false); err != nil {
		t.Fatalf("%v\n%s", err, tail(d.Logs(), 4000))
	}
	if dbs, _ := filepath.Glob(filepath.Join(d.dir, "*.db")); len(dbs) > 0 {
		t.Errorf("Dendrite wrote SQLite files: %v", dbs)
	}
	pgDir, pgPid := d.pg.dir, d.pg.cmd.Process.Pid
	d.Stop()
	for _, dir := range []string{d.dir, pgDir} {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind after Stop (%v)", dir, err)
		}
	}
	if alive(pgPid) {
		t.Errorf("postgres (pid %d) still runs after Stop", pgPid)
	}
}
