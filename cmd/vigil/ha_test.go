package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/testredis"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// TestMain lets the test binary stand in for the vigil binary: with
// VIGIL_TEST_AS_VIGIL=1 it runs Main instead of the tests, so the HA test
// runs real, separate Vigil processes without a build step.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_AS_VIGIL") == "1" {
		s := streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
		os.Exit(Main(os.Args[1:], s, os.LookupEnv))
	}
	os.Exit(m.Run())
}

// replica is one Vigil process driven through its console.
type replica struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *syncBuffer
	errOut *syncBuffer
	alive  bool
	steps  int
}

func startReplica(t *testing.T, name, config string, env []string) *replica {
	t.Helper()
	r := &replica{name: name, out: &syncBuffer{}, errOut: &syncBuffer{}, alive: true}
	r.cmd = exec.Command(os.Args[0], "--console", "--config", config, "--data", t.TempDir(), "--clock", "2026-01-05T08:00:00Z")
	r.cmd.Env = append(os.Environ(), append(env, "VIGIL_TEST_AS_VIGIL=1", "VIGIL_INSTANCE="+name, "VIGIL_LOG_LEVEL=error")...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.errOut
	var err error
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.alive {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

var stepDone = regexp.MustCompile(`(?m)^(⏱ |advance stopped at )`)

// advance moves the replica's fake clock to t and waits until it has run
// everything that fell due (the console prints a line when it is done).
func (r *replica) advance(t *testing.T, to time.Time) {
	t.Helper()
	if _, err := fmt.Fprintf(r.stdin, ":advance %s\n", to.Format(time.RFC3339)); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	r.steps++
	deadline := time.Now().Add(20 * time.Second)
	for len(stepDone.FindAllStringIndex(r.out.String(), -1)) < r.steps {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not finish advancing to %s; stderr:\n%s", r.name, to, r.errOut.String())
		}
		time.Sleep(2 * time.Millisecond) // waiting on another process
	}
}

// High availability with real processes: two Vigil replicas on one Redis,
// stepping their clocks together through a simulated week of daily
// hand-offs. The leader is killed (SIGKILL) on day two and the other takes
// over; on day four Redis is stopped and restarted from its append-only
// file while the survivor keeps going. Every hand-off is delivered exactly
// once across both processes, none is lost.
func TestHAReplicasOverASimulatedWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	srv := testredis.StartServer(t, testredis.Config{AppendOnly: true})
	prefix := srv.Prefix(t)
	config := filepath.Join(t.TempDir(), "vigil.yaml")
	err := os.WriteFile(config, []byte(`
people:
  - {name: alice, roles: [responder, admin]}
  - {name: bob, roles: [responder]}
duty:
  rotations:
    - {name: triage, members: [alice, bob], shift: 1d, handoff: "09:00 UTC"}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"VIGIL_REDIS_URL=" + srv.URL(), "VIGIL_REDIS_PREFIX=" + prefix}
	a := startReplica(t, "replica-a", config, env)
	b := startReplica(t, "replica-b", config, env)
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: prefix, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	end := start.Add(7*24*time.Hour + 2*time.Hour)
	killAt := start.Add(24*time.Hour + 6*time.Hour) // Tue 14:00, between hand-offs
	outageAt := start.Add(3 * 24 * time.Hour)       // Thu 08:00: the 09:00 hand-off falls in the outage
	var killed string
	for now := start.Add(30 * time.Minute); !now.After(end); now = now.Add(30 * time.Minute) {
		for _, r := range []*replica{a, b} {
			if r.alive {
				r.advance(t, now)
			}
		}
		switch {
		case now.Equal(killAt):
			holder, err := st.LeaseHolder(context.Background(), "scheduler", now)
			if err != nil || holder == "" {
				t.Fatalf("no scheduler leader at %s: %q %v", now, holder, err)
			}
			leader := a
			if holder == b.name {
				leader = b
			}
			_ = leader.cmd.Process.Signal(syscall.SIGKILL)
			_ = leader.cmd.Wait()
			leader.alive, killed = false, leader.name
		case now.Equal(outageAt):
			srv.Stop()
		case now.Equal(outageAt.Add(2 * time.Hour)):
			srv.Restart()
		}
	}
	var survivor *replica
	for _, r := range []*replica{a, b} {
		if r.alive {
			survivor = r
		}
	}
	if survivor == nil || killed == "" {
		t.Fatal("setup: want one replica killed and one alive")
	}
	_ = survivor.stdin.Close()
	if err := survivor.cmd.Wait(); err != nil {
		t.Errorf("%s exited with %v; stderr:\n%s", survivor.name, err, survivor.errOut.String())
	}
	survivor.alive = false

	t.Logf("killed %s; %s stopped %d times during the Redis outage", killed, survivor.name, strings.Count(survivor.out.String(), "advance stopped at"))
	// Every hand-off from Monday 5 to Monday 12 January, 09:00, once.
	var want []string
	for d := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC); !d.After(end); d = d.Add(24 * time.Hour) {
		want = append(want, d.Add(24*time.Hour).Format(bot.ReaderTimeLayout))
	}
	until := map[string]int{}
	dms := 0
	for _, r := range []*replica{a, b} {
		sc := bufio.NewScanner(strings.NewReader(r.out.String()))
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "  Until: "); ok {
				until[v]++
			}
			if strings.Contains(line, "handed duty for triage to you") {
				dms++
			}
		}
	}
	for _, w := range want {
		if until[w] != 1 {
			t.Errorf("the hand-off before %s was announced %d times, want exactly once", w, until[w])
		}
	}
	if len(until) != len(want) {
		t.Errorf("announced hand-offs %v, want %v", until, want)
	}
	if dms != len(want) {
		t.Errorf("%d hand-over DMs, want %d (one per hand-off)", dms, len(want))
	}
	// The survivor did the work after the kill, including through the
	// Redis outage (whose hand-off went out after the restart).
	var late []string
	for _, w := range want[2:] {
		late = append(late, "Until: "+w)
	}
	for _, w := range late {
		if !strings.Contains(survivor.out.String(), w) {
			t.Errorf("%s (the survivor) did not announce %q", survivor.name, w)
		}
	}
}
