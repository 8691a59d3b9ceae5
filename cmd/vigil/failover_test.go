package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/testredis"
)

// Failover with real processes (issue 24): a Vigil process on Redis
// Cluster or Sentinel steps its clock through three days of daily duty
// hand-offs while reports arrive over the intake API. On Tuesday at 08:30,
// half an hour before a hand-off, the master holding Vigil's slot (every
// key shares the {prefix} hash tag, so the scheduler's and the outbox's
// keys are all there) is SIGKILLed, and its replica is promoted. During the
// failover a command gets the "store unavailable, nothing was changed"
// answer, then works again without a restart; reports sent meanwhile are
// stored once their source retries; every hand-off and every report's
// announcement is delivered, at most once more than due (the one repeat per
// crash that docs/DELIVERY.md allows).

func TestFailoverCluster(t *testing.T) {
	topo := startFailoverTopology(t, testredis.Cluster, "REDIS_CLUSTER_NODE_TIMEOUT=1000")
	runFailover(t, topo)
}

func TestFailoverSentinel(t *testing.T) {
	topo := startFailoverTopology(t, testredis.Sentinel, "REDIS_SENTINEL_DOWN_AFTER=1000", "REDIS_SENTINEL_FAILOVER_TIMEOUT=3000")
	runFailover(t, topo)
}

func startFailoverTopology(t *testing.T, kind testredis.Kind, env ...string) *testredis.Topology {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Redis topology and a Vigil process; skipped with -short")
	}
	return testredis.StartTopology(t, kind, env...)
}

var announced = regexp.MustCompile(`(?m)^== (VIG-\d+-\d+): (Failover report \d+) ==`)

func runFailover(t *testing.T, topo *testredis.Topology) {
	prefix := topo.Prefix(t)
	httpAddr := freeAddr(t)
	config := filepath.Join(t.TempDir(), "vigil.yaml")
	// The rate limit is raised: every report comes from one address and
	// the fake clock refills no tokens. A short wait timeout: after the failover the new master has no
	// replica, and every batch waits for one in vain.
	writeFile(t, config, fmt.Sprintf(`
redis: {timeout: 500ms, wait_timeout: 50ms}
http: {listen: %q, rate_limit: {rate: 100000/s, burst: 100000}}
reports: {api_token: api-secret}
people:
  - {name: alice, roles: [responder, admin]}
  - {name: bob, roles: [responder]}
duty:
  rotations:
    - {name: triage, members: [alice, bob], shift: 1d, handoff: "09:00 UTC"}
`, httpAddr))
	v := startReplica(t, "vigil", config, []string{"VIGIL_REDIS_URL=" + topo.URL(), "VIGIL_REDIS_PREFIX=" + prefix})
	waitHealthy(t, httpAddr, v)

	client := &http.Client{Timeout: 5 * time.Second}
	reports := 0
	// fileReport sends report n like a source that retries until it
	// hears "stored" (same Idempotency-Key), and returns how many tries
	// were refused.
	fileReport := func(n int) (int, error) {
		refused := 0
		deadline := time.Now().Add(60 * time.Second)
		last := ""
		for {
			body := fmt.Sprintf(`{"title":"Failover report %d","description":"Report %d of the failover test."}`, n, n)
			req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/reports", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer api-secret")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("failover-%d", n))
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 || resp.StatusCode == 201 {
					return refused, nil
				}
				last = resp.Status
			} else {
				last = err.Error()
			}
			refused++
			if time.Now().After(deadline) {
				return refused, fmt.Errorf("report %d not stored within 60s of retries (last: %s)", n, last)
			}
			time.Sleep(100 * time.Millisecond) // a source's retry pause, on the wall clock
		}
	}

	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	end := start.Add(3*24*time.Hour + 2*time.Hour) // Thu 10:00
	killAt := start.Add(24*time.Hour + 30*time.Minute)
	var failover time.Duration
	unavailableAnswers, refusedDuring := 0, 0
	for now := start.Add(30 * time.Minute); !now.After(end); now = now.Add(30 * time.Minute) {
		v.advance(t, now)
		if now.Hour()%6 == 0 && now.Minute() == 0 {
			reports++
			if _, err := fileReport(reports); err != nil {
				t.Fatalf("%v; stderr:\n%s", err, v.errOut.String())
			}
		}
		if !now.Equal(killAt) {
			continue
		}
		master := topo.MasterFor(t, "{"+prefix+"}")
		killed := time.Now()
		topo.Kill(t, master)
		// Reports keep arriving while the replica is promoted, and people
		// keep typing commands.
		intake := make(chan error, 1)
		go func() {
			var errs []error
			for i := range 3 {
				n, err := fileReport(reports + 1 + i)
				refusedDuring += n
				errs = append(errs, err)
			}
			intake <- errors.Join(errs...)
		}()
		// The 09:00 hand-off falls due while the slot has no master.
		now = now.Add(30 * time.Minute)
		v.advance(t, now)
		unavailableAnswers, failover = commandsThroughFailover(t, v, killed)
		if err := <-intake; err != nil {
			t.Fatalf("%v; stderr:\n%s", err, v.errOut.String())
		}
		reports += 3
		t.Logf("killed master %s at %s; commands answered again %v later (%d store-unavailable answers, %d intake refusals before the source's retry got through; the clock step to %s stopped %d times)",
			master, killAt.Format(time.RFC3339), failover.Round(time.Millisecond), unavailableAnswers, refusedDuring,
			now.Format("15:04"), strings.Count(v.out.String(), "advance stopped at"))
	}
	_ = v.stdin.Close()
	if err := v.cmd.Wait(); err != nil {
		t.Errorf("vigil exited with %v; stderr:\n%s", err, v.errOut.String())
	}
	v.alive = false
	out := v.out.String()

	if unavailableAnswers == 0 {
		t.Error("no command got the store-unavailable answer during the failover")
	}
	// Hand-offs: Monday to Thursday 09:00, each announced with the end of
	// the new shift.
	due := map[string]int{}
	for d := start.Add(time.Hour); !d.After(end); d = d.Add(24 * time.Hour) {
		due[d.Add(24*time.Hour).Format(bot.ReaderTimeLayout)] = 0
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "  Until: "); ok {
			if _, want := due[u]; !want {
				t.Errorf("a hand-off until %s was announced, which is not due", u)
			}
			due[u]++
		}
	}
	delivered, dup := countOnce(t, "hand-off", due)
	t.Logf("hand-offs: %d due, %d delivered, %d duplicates", len(due), delivered, dup)

	// Reports: every one announced.
	shown := map[string]int{}
	for i := 1; i <= reports; i++ {
		shown[fmt.Sprintf("Failover report %d", i)] = 0
	}
	for _, m := range announced.FindAllStringSubmatch(out, -1) {
		shown[m[2]]++
	}
	delivered, dup = countOnce(t, "report announcement", shown)
	t.Logf("report announcements: %d due, %d delivered, %d duplicates", len(shown), delivered, dup)
}

// countOnce checks each item was delivered once, or twice at most (one
// repeat for the one crash), and returns how many were delivered and the
// repeats.
func countOnce(t *testing.T, what string, got map[string]int) (delivered, dup int) {
	t.Helper()
	for k, n := range got {
		switch {
		case n == 0:
			t.Errorf("%s %q was never delivered", what, k)
		case n > 2:
			t.Errorf("%s %q was delivered %d times; at most one repeat per crash", what, k, n)
		}
		if n > 0 {
			delivered++
			dup += n - 1
		}
	}
	if dup > 1 {
		t.Errorf("%d %s repeats for one crash; at most one", dup, what)
	}
	return delivered, dup
}

// commandsThroughFailover sends /sec duty until it is answered normally
// again, and returns how many answers said the store was unavailable and
// when the first normal answer came, counted from the kill.
func commandsThroughFailover(t *testing.T, v *replica, killed time.Time) (int, time.Duration) {
	t.Helper()
	const (
		down = "store is unavailable right now, so nothing was changed"
		up   = "is on duty since"
	)
	unavailable := 0
	// The topologies fail over in about 3 s; go-redis' own timed slot
	// reload alone took a minute (store/redis/cluster.go).
	deadline := killed.Add(30 * time.Second)
	for {
		from := len(v.out.String())
		if _, err := fmt.Fprintln(v.stdin, "/sec duty"); err != nil {
			t.Fatal(err)
		}
		for {
			got := v.out.String()[from:]
			if strings.Contains(got, down) {
				unavailable++
				break
			}
			if strings.Contains(got, up) {
				return unavailable, time.Since(killed)
			}
			if time.Now().After(deadline) {
				t.Fatalf("commands did not work again within 30s of the kill; output:\n%s\nstderr:\n%s", got, v.errOut.String())
			}
			time.Sleep(10 * time.Millisecond) // waiting on another process
		}
		time.Sleep(200 * time.Millisecond) // a person typing again
	}
}

// waitHealthy waits for the process's HTTP listener.
func waitHealthy(t *testing.T, addr string, v *replica) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil did not come up: %v; stderr:\n%s", err, v.errOut.String())
		}
		time.Sleep(20 * time.Millisecond) // waiting on another process
	}
}
