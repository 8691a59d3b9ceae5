// Command vigil-bench drives commands through Vigil's real engine, with an
// in-memory chat adapter, against a real Redis, and prints throughput,
// latency percentiles, allocations and Redis round trips per command, next
// to the raw Redis round-trip time measured in the same run (the floor).
// With --vigil it also starts a vigil binary and measures how long it takes
// to be ready and how much memory it holds when idle.
//
//	go run ./cmd/vigil-bench --redis redis://127.0.0.1:6379/0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/core"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/report"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

const usage = `Usage: vigil-bench [--redis URL] [--scenarios LIST] [--n N] [--concurrency C]
                   [--intake-n N] [--embedded-n N] [--clients C] [--slack-n N] [--rate R]
                   [--vigil PATH] [--cpuprofile FILE]

Runs Vigil's engine against a real Redis and prints the raw Redis round-trip
time (PING) measured in the same run, then each scenario's figures:

  commands   per kind of command (/sec whoami, duty, help, report list,
             help duty) at 1 and C in flight: throughput, p50/p99/p99.9
             latency, allocations and Redis round trips per command, p50 as
             a multiple of the raw round trip, CPU per command (Vigil, Redis)
  intake     POST /api/v1/reports through the real listener and handler from
             concurrent clients: reports/s, p50/p99, on Redis and on the
             embedded store (fsync per commit, and batched commits)
  slack      signed Events API requests to the Slack adapter while the engine
             runs commands at --rate: the time to Slack's HTTP acknowledgement

  --redis URL        Redis to use (default $REDIS_URL); keys go under a fresh prefix
  --scenarios LIST   comma-separated, from commands,intake,slack (default all)
  --n N              commands per kind (default 20000)
  --concurrency C    commands in flight (default 4); each kind also runs at 1
  --intake-n N       reports filed on Redis (default 20000)
  --embedded-n N     reports filed on the embedded store (default 2000)
  --clients C        concurrent intake API clients (default 16)
  --slack-n N        Slack events sent (default 2000)
  --rate R           commands per second run beside them (default 10000)
  --vigil PATH       also start this vigil binary: time to ready, idle memory
  --cpuprofile FILE  write a CPU profile of the whole run (go tool pprof FILE)
`

type options struct {
	redisURL    string
	scenarios   map[string]bool
	n           int
	concurrency int
	intakeN     int
	embeddedN   int
	clients     int
	slackN      int
	rate        int
	vigilBin    string
	cpuProfile  string
}

func main() {
	o, err := parse(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(usage)
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vigil-bench: %v\n\n%s", err, usage)
		os.Exit(2)
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "vigil-bench: %v\n", err)
		os.Exit(1)
	}
}

func parse(args []string) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("vigil-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.redisURL, "redis", os.Getenv("REDIS_URL"), "")
	fs.IntVar(&o.n, "n", 20000, "")
	fs.IntVar(&o.concurrency, "concurrency", 4, "")
	fs.StringVar(&o.vigilBin, "vigil", "", "")
	list := fs.String("scenarios", "commands,intake,slack", "")
	fs.IntVar(&o.intakeN, "intake-n", 20000, "")
	fs.IntVar(&o.embeddedN, "embedded-n", 2000, "")
	fs.IntVar(&o.clients, "clients", 16, "")
	fs.IntVar(&o.slackN, "slack-n", 2000, "")
	fs.IntVar(&o.rate, "rate", 10000, "")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.scenarios = map[string]bool{}
	for _, sc := range strings.Split(*list, ",") {
		switch sc = strings.TrimSpace(sc); sc {
		case "commands", "intake", "slack":
			o.scenarios[sc] = true
		case "":
		default:
			return o, fmt.Errorf("--scenarios: unknown scenario %q (commands, intake, slack)", sc)
		}
	}
	switch {
	case o.redisURL == "":
		return o, errors.New("no Redis: give --redis URL or set REDIS_URL")
	case o.n < 100 || o.n > 10_000_000:
		return o, errors.New("--n must be from 100 to 10000000")
	case o.concurrency < 1 || o.concurrency > 1024:
		return o, errors.New("--concurrency must be from 1 to 1024")
	case o.intakeN < 100 || o.intakeN > 10_000_000 || o.embeddedN < 100 || o.embeddedN > 10_000_000:
		return o, errors.New("--intake-n and --embedded-n must be from 100 to 10000000")
	case o.clients < 1 || o.clients > 1024:
		return o, errors.New("--clients must be from 1 to 1024")
	case o.slackN < 100 || o.slackN > 10_000_000:
		return o, errors.New("--slack-n must be from 100 to 10000000")
	case o.rate < 0 || o.rate > 1_000_000:
		return o, errors.New("--rate must be from 0 to 1000000")
	}
	return o, nil
}

// counter is a go-redis hook counting round trips as the client sees them
// (a Lua script is one round trip, whatever it does inside the server; a
// pipeline is one).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// sink is the in-memory chat adapter: it takes every message at once and
// keeps the last one (for the tests).
type sink struct {
	n    atomic.Int64
	last atomic.Pointer[bot.Message]
}

func (s *sink) Name() string { return "bench" }
func (s *sink) Send(_ context.Context, _ bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	s.last.Store(&msg)
	return bot.MessageRef{ID: strconv.FormatInt(s.n.Add(1), 10)}, nil
}

// benchRoom is the private security room the commands are typed in.
var benchRoom = bot.RoomRef{Adapter: "bench", ID: "security"}

// event is command text typed by bob (a responder) in the room, with a
// distinct event id per i.
func event(i int, text string) bot.Event { return eventAs("bob", i, text) }

func eventAs(user string, i int, text string) bot.Event {
	return bot.Event{Kind: bot.EventCommand, ID: fmt.Sprintf("%s-%d", text, i), Room: benchRoom, User: bot.UserRef{Adapter: "bench", ID: user}, Text: text}
}

// newEngine builds the engine the benchmark drives: core, duty and report
// registered, a rotation and one open report in st (written once, by the
// first replica on a prefix; a second one finds them there).
func newEngine(ctx context.Context, st *redisstore.Store) (*bot.Engine, *sink, error) {
	people := []bot.Person{
		{Name: "alice", Chat: map[string]string{"bench": "alice"}, Roles: []bot.Role{bot.RoleAdmin, bot.RoleResponder}},
		{Name: "bob", Chat: map[string]string{"bench": "bob"}, Roles: []bot.Role{bot.RoleResponder}},
	}
	e, err := bot.New(bot.Options{Store: st, Clock: clock.Real{}, People: people, PrivateRooms: []bot.RoomRef{benchRoom}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	out := &sink{}
	e.AddAdapter(out)
	if err := core.Register(e); err != nil {
		return nil, nil, err
	}
	d, err := duty.Register(e, duty.Options{})
	if err != nil {
		return nil, nil, err
	}
	reports, err := report.Register(e, report.Options{Duty: d})
	if err != nil {
		return nil, nil, err
	}
	if ids, err := st.List(ctx, "duty.rotations"); err != nil || len(ids) > 0 {
		return e, out, err
	}
	e.HandleEvent(ctx, eventAs("alice", 0, `duty rotation create triage --members @alice,@bob --shift 1w --handoff "Mon 09:00 UTC"`))
	_, err = reports.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: "bench-1", Title: "Heap overflow in the parser",
		Description: "A crafted file overflows the parser's buffer.", Reporter: intake.Reporter{Name: "Mallory", Email: "mallory@example.org"}, Received: time.Now()})
	return e, out, err
}

// Result is one kind of command's numbers.
type Result struct {
	Kind                string
	N                   int
	PerSecond           float64
	P50, P99, P999      time.Duration
	AllocsPerCmd        float64
	RoundTripsPerCmd    float64
	RawRTTP50, RawRTT99 time.Duration
	// CPU time per command of this process (engine and client) and of
	// redis-server (from INFO cpu): on a machine of C cores, C divided by
	// their sum bounds commands/s whatever the concurrency.
	CPUPerCmd, RedisCPUPerCmd time.Duration
}

// processCPU is the CPU time (user and system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time redis-server used so far (0 if INFO cannot
// say, as on a managed Redis).
func redisCPU(ctx context.Context, raw *redis.Client) time.Duration {
	info, err := raw.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	prefix := fmt.Sprintf("vigilbench:%d", time.Now().UnixNano())
	st, err := redisstore.New(redisstore.Options{URL: o.redisURL, Prefix: prefix})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	trips := &counter{}
	st.AddHook(trips)
	opts, err := redis.ParseURL(o.redisURL)
	if err != nil {
		return fmt.Errorf("--redis: %v", err)
	}
	raw := redis.NewClient(opts)
	defer raw.Close()
	defer cleanup(ctx, raw, prefix)

	e, _, err := newEngine(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "vigil-bench: %d commands per kind, at 1 and %d in flight, Go %s, %d CPUs\n", o.n, o.concurrency, runtime.Version(), runtime.NumCPU())
	cpu0, rcpu0 := processCPU(), redisCPU(ctx, raw)
	p50, p99, err := rawRTT(ctx, raw, 2000)
	if err != nil {
		return err
	}
	cpu, rcpu := (processCPU()-cpu0)/2000, (redisCPU(ctx, raw)-rcpu0)/2000
	fmt.Fprintf(out, "raw Redis round trip (PING, one client): p50 %s, p99 %s; CPU per PING: client %s, redis-server %s\n\n", p50, p99, round(cpu), round(rcpu))
	if o.scenarios["commands"] {
		fmt.Fprintf(out, "%-28s %9s %10s %9s %9s %9s %12s %14s %10s %10s %10s\n", "command", "in flight", "cmds/s", "p50", "p99", "p99.9", "allocs/cmd", "round trips", "p50/raw", "cpu/cmd", "redis cpu")
		levels := []int{1}
		if o.concurrency > 1 {
			levels = append(levels, o.concurrency)
		}
		for _, inFlight := range levels {
			for _, kind := range []string{"whoami", "duty", "help", "report list", "help duty"} {
				res, err := measure(ctx, e, trips, raw, kind, o.n, inFlight)
				if err != nil {
					return err
				}
				res.RawRTTP50, res.RawRTT99 = p50, p99
				fmt.Fprintf(out, "%-28s %9d %10.0f %9s %9s %9s %12.1f %14.2f %10.1f %10s %10s\n", "/sec "+kind, inFlight, res.PerSecond, round(res.P50), round(res.P99), round(res.P999),
					res.AllocsPerCmd, res.RoundTripsPerCmd, float64(res.P50)/float64(p50), round(res.CPUPerCmd), round(res.RedisCPUPerCmd))
			}
		}
	}
	if o.scenarios["intake"] {
		if err := runIntake(ctx, o, st, trips, out); err != nil {
			return err
		}
	}
	if o.scenarios["slack"] {
		if err := runSlack(ctx, o, e, event, out); err != nil {
			return err
		}
	}
	if o.vigilBin != "" {
		ready, rss, err := startVigil(ctx, o.vigilBin, o.redisURL, prefix+":proc")
		if err != nil {
			return err
		}
		mb := func(kb int64) float64 { return float64(kb) / 1024 }
		fmt.Fprintf(out, "\nvigil process: ready %s after start, idle RSS %.1f MB (anonymous %.1f MB, file-backed %.1f MB: the binary's pages)\n",
			round(ready), mb(rss["VmRSS"]), mb(rss["RssAnon"]), mb(rss["RssFile"]))
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d > time.Microsecond:
		return d.Round(time.Microsecond / 10)
	}
	return d
}

// timeEach runs do(0) … do(n-1) from workers goroutines, timing each call,
// and returns the latencies (by i) and the wall time of the whole run. The
// first error stops every worker and is returned.
func timeEach(n, workers int, do func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := do(i); err != nil {
					errOnce.Do(func() { firstErr = err })
					next.Store(int64(n))
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}

// measure runs n commands of one kind, inFlight at a time.
func measure(ctx context.Context, e *bot.Engine, trips *counter, raw *redis.Client, kind string, n, inFlight int) (Result, error) {
	warm := min(500, n/10)
	for i := range warm {
		e.HandleEvent(ctx, event(-1-i-inFlight*n, kind))
	}
	before := trips.n.Load()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0, rcpu0 := processCPU(), redisCPU(ctx, raw)
	lat, elapsed, _ := timeEach(n, inFlight, func(i int) error {
		e.HandleEvent(ctx, event(i+inFlight*n, kind))
		return nil
	})
	cpu, rcpu := processCPU()-cpu0, redisCPU(ctx, raw)-rcpu0
	runtime.ReadMemStats(&ms1)
	after := trips.n.Load()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return Result{
		Kind: kind, N: n,
		PerSecond:        float64(n) / elapsed.Seconds(),
		P50:              pct(0.50),
		P99:              pct(0.99),
		P999:             pct(0.999),
		AllocsPerCmd:     float64(ms1.Mallocs-ms0.Mallocs) / float64(n),
		RoundTripsPerCmd: float64(after-before) / float64(n),
		CPUPerCmd:        cpu / time.Duration(n),
		RedisCPUPerCmd:   rcpu / time.Duration(n),
	}, nil
}

func rawRTT(ctx context.Context, raw *redis.Client, n int) (time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if err := raw.Ping(ctx).Err(); err != nil {
			return 0, 0, err
		}
		lat[i] = time.Since(t0)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[n/2], lat[n*99/100], nil
}

// cleanup deletes the run's keys: store/redis writes "{prefix}:...", and
// the pattern also covers the child process's "{prefix:proc}:..." keys.
func cleanup(ctx context.Context, raw *redis.Client, prefix string) {
	iter := raw.Scan(ctx, 0, "{"+prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		raw.Del(ctx, iter.Val())
	}
}

// startVigil starts the binary with an HTTP listener on Redis, times it to
// /readyz, lets it idle, reads its resident memory (kB: VmRSS, and its
// RssAnon and RssFile parts), and stops it. The file-backed part is the
// executable's pages, shared with the page cache; the kernel may map all of
// them at once, so it is most of VmRSS and varies with the kernel and the
// cache, not with what Vigil does.
func startVigil(ctx context.Context, bin, redisURL, prefix string) (time.Duration, map[string]int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "vigil-bench")
	if err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, bin, "--data", dir)
	cmd.Env = append(os.Environ(), "VIGIL_REDIS_URL="+redisURL, "VIGIL_REDIS_PREFIX="+prefix, "VIGIL_HTTP_LISTEN="+addr, "VIGIL_LOG_LEVEL=error")
	// Standard input is /dev/null and there is no chat adapter: Vigil runs
	// headless (intake, scheduler, HTTP) until signalled, as a service.
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	var ready time.Duration
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = time.Since(start)
				break
			}
		}
		if time.Since(start) > 10*time.Second {
			return 0, nil, errors.New("vigil was not ready within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // idle
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return ready, nil, err
	}
	kb := map[string]int64{}
	for _, line := range strings.Split(string(status), "\n") {
		for _, f := range []string{"VmRSS", "RssAnon", "RssFile"} {
			if v, ok := strings.CutPrefix(line, f+":"); ok {
				kb[f], _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
	}
	if _, ok := kb["VmRSS"]; !ok {
		return ready, nil, errors.New("no VmRSS in /proc status")
	}
	return ready, kb, nil
}
