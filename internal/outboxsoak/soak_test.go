// Package outboxsoak is the outbox's process-level acceptance test (issue
// 14): two real replica processes on one real Redis deliver 1,000 messages
// to 50 conversations through a fake chat service, one replica is
// SIGKILLed mid-way, and every message must be shown exactly once, in
// order per conversation.
package outboxsoak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/testredis"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

const (
	conversations = 50
	perConv       = 20 // 1,000 messages in all
	// slowEvery: one send in this many (by id) is answered after 1 s.
	slowEvery = 50
)

// TestMain lets the test binary stand in for a Vigil replica: with
// VIGIL_SOAK_REPLICA=1 it runs one (see replicaMain) instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_SOAK_REPLICA") == "1" {
		os.Exit(replicaMain())
	}
	os.Exit(m.Run())
}

func msgID(c, i int) string { return fmt.Sprintf("soak-c%02d-m%03d", c, i) }
func room(c int) string     { return fmt.Sprintf("conv-%02d", c) }

func slow(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%slowEvery == 0
}

// replicaMain is one replica: a bot.Engine on the Redis store with an
// adapter that posts to the fake chat. It runs the engine, posts every
// message (as a job on each replica would, with the same ids), and stops
// on SIGTERM.
func replicaMain() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := redisstore.New(redisstore.Options{URL: os.Getenv("SOAK_REDIS_URL"), Prefix: os.Getenv("SOAK_PREFIX"), Timeout: 2 * time.Second})
	if err != nil {
		log.Error("redis", "err", err)
		return 2
	}
	defer st.Close()
	e, err := bot.New(bot.Options{
		Store: st, Clock: clock.Real{}, Logger: log,
		Instance:    os.Getenv("SOAK_INSTANCE"),
		Tick:        200 * time.Millisecond,
		SendTimeout: 3 * time.Second,
	})
	if err != nil {
		log.Error("engine", "err", err)
		return 2
	}
	e.AddAdapter(&httpChat{base: os.Getenv("SOAK_CHAT_URL"), instance: os.Getenv("SOAK_INSTANCE"), client: &http.Client{}})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	// Posted while the engine runs, conversation by conversation in turn,
	// so new messages re-arm conversations that are being sent.
	for i := range perConv {
		for c := range conversations {
			to := bot.ToRoom(bot.RoomRef{Adapter: "soak", ID: room(c)}, bot.ThreadRef{})
			for {
				err := e.Post(ctx, msgID(c, i), to, bot.Text(fmt.Sprintf("%s %d", room(c), i)))
				if err == nil || ctx.Err() != nil {
					break
				}
				log.Warn("post failed; again", "err", err)
			}
		}
	}
	fmt.Println("posted")
	if err := <-ran; err != nil {
		log.Error("run", "err", err)
		return 1
	}
	return 0
}

// httpChat sends to the fake chat like Matrix: PUT .../send/{txnId}, with
// the delivery id as the transaction id.
type httpChat struct {
	base     string
	instance string
	client   *http.Client
}

func (h *httpChat) Name() string { return "soak" }

func (h *httpChat) Send(ctx context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	u := h.base + "/rooms/" + url.PathEscape(to.Room.ID) + "/send/" + url.PathEscape(msg.DeliveryID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, strings.NewReader(msg.Text))
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("soak chat: %w: %v", bot.ErrRejected, err)
	}
	// Which replica sends, so the fake chat can tell a resend after the
	// kill from two live replicas sending one message.
	req.Header.Set("X-Soak-Instance", h.instance)
	resp, err := h.client.Do(req)
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("soak chat: %w: %v", bot.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return bot.MessageRef{}, fmt.Errorf("soak chat: %w: %s", bot.ErrUnavailable, resp.Status)
	}
	var out struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return bot.MessageRef{}, fmt.Errorf("soak chat: %w: %v", bot.ErrUnavailable, err)
	}
	return bot.MessageRef{Room: to.Room, ID: out.EventID}, nil
}

// fakeChat models a homeserver honestly: every request it accepts is a
// receipt; a transaction id already seen in the room returns the first
// event instead of posting again (as Matrix does), so "visible" counts
// what people would see.
type fakeChat struct {
	mu       sync.Mutex
	receipts map[string]int      // by delivery id, every accepted request
	senders  map[string][]sender // by delivery id, who sent each request, in order
	killedAt time.Time           // when the victim was signalled; zero before
	visible  map[string]int      // by delivery id, messages shown
	events   map[string]string   // room/txn -> event id
	order    map[string][]int    // by room, message numbers as shown
	shown    int
	killAt   int
	kill     chan struct{}
}

func (f *fakeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /rooms/{room}/send/{txn}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if r.Method != http.MethodPut || len(parts) != 4 || parts[0] != "rooms" || parts[2] != "send" {
		http.Error(w, "no such endpoint", http.StatusNotFound)
		return
	}
	roomID, _ := url.PathUnescape(parts[1])
	txn, _ := url.PathUnescape(parts[3])
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.receipts[txn]++
	f.senders[txn] = append(f.senders[txn], sender{r.Header.Get("X-Soak-Instance"), time.Now()})
	ev, seen := f.events[roomID+"/"+txn]
	if !seen {
		ev = "$" + strconv.Itoa(len(f.events)+1)
		f.events[roomID+"/"+txn] = ev
		f.visible[txn]++
		_, n, _ := strings.Cut(string(body), " ")
		i, _ := strconv.Atoi(n)
		f.order[roomID] = append(f.order[roomID], i)
		f.shown++
		if f.shown == f.killAt {
			close(f.kill)
		}
	}
	f.mu.Unlock()
	if slow(txn) {
		// Shown, but answered late: a replica killed now leaves the
		// message in doubt.
		time.Sleep(time.Second)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"event_id":%q}`, ev)
}

// sender is one request for a message: the replica that made it and when
// it arrived.
type sender struct {
	instance string
	at       time.Time
}

// markKilled notes the moment the victim is signalled.
func (f *fakeChat) markKilled() {
	f.mu.Lock()
	f.killedAt = time.Now()
	f.mu.Unlock()
}

// twoLiveSenders returns the messages that two replicas sent while both
// were alive: a request from one replica for a message the other had
// already sent, unless the first was the victim and the request came
// after it was killed (the in-doubt resend DELIVERY.md allows). The fake
// chat's transaction-id dedup hides these from the visible count, but on
// an adapter without one (Slack) each would be shown twice.
func (f *fakeChat) twoLiveSenders(victim string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for txn, ss := range f.senders {
		first := ss[0]
		for _, s := range ss[1:] {
			if s.instance == first.instance {
				continue // a replica's own retry of a send in doubt
			}
			if first.instance != victim || f.killedAt.IsZero() || s.at.Before(f.killedAt) {
				out = append(out, fmt.Sprintf("%s: sent by %s, then by %s while both ran", txn, first.instance, s.instance))
				break
			}
		}
	}
	return out
}

func (f *fakeChat) visibleCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shown
}

// lockedBuffer collects a replica's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type replica struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

func startReplica(t *testing.T, name string, env []string) *replica {
	t.Helper()
	r := &replica{name: name, out: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(os.Args[0], "-test.run=^$")
	r.cmd.Env = append(os.Environ(), append(env, "VIGIL_SOAK_REPLICA=1", "SOAK_INSTANCE="+name)...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// Issue 14 acceptance: two replicas on one Redis deliver 1,000 messages to
// 50 conversations concurrently, one replica is SIGKILLed mid-way, and the
// chat is slow (1 s) on some sends: every message is delivered, none twice
// (counted on the fake chat), in order per conversation.
func TestTwoReplicasDeliverEveryMessageOnceThroughAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	srv := testredis.Start(t)
	seed := time.Now().UnixNano() // logged, so a failure can be replayed
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	total := conversations * perConv
	chat := &fakeChat{
		receipts: map[string]int{}, senders: map[string][]sender{}, visible: map[string]int{}, events: map[string]string{}, order: map[string][]int{},
		killAt: 100 + rng.IntN(total/2), kill: make(chan struct{}),
	}
	fake := httptest.NewServer(chat)
	defer fake.Close()
	prefix := srv.Prefix(t)
	env := []string{"SOAK_REDIS_URL=" + srv.URL(), "SOAK_PREFIX=" + prefix, "SOAK_CHAT_URL=" + fake.URL}
	replicas := []*replica{startReplica(t, "replica-a", env), startReplica(t, "replica-b", env)}
	victim := replicas[rng.IntN(2)]
	t.Logf("seed %d: %s is killed after %d messages are shown", seed, victim.name, chat.killAt)

	deadline := time.After(55 * time.Second) // bounds the test; not a speed target
	select {
	case <-chat.kill:
	case <-deadline:
		t.Fatalf("only %d messages shown before the kill point %d\n%s", chat.visibleCount(), chat.killAt, logs(replicas))
	}
	chat.markKilled()
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	var survivor *replica
	for _, r := range replicas {
		if r != victim {
			survivor = r
		}
	}
	for chat.visibleCount() < total {
		select {
		case <-survivor.done:
			t.Fatalf("the survivor exited: %v\n%s", survivor.err, logs(replicas))
		case <-deadline:
			t.Fatalf("%d of %d messages shown in time\n%s", chat.visibleCount(), total, logs(replicas))
		case <-time.After(50 * time.Millisecond): // polling the fake chat
		}
	}
	// A graceful stop of the survivor: it must exit cleanly, and whatever
	// it was still doing (a resend in doubt) lands before the count.
	_ = survivor.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-survivor.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the survivor did not stop on SIGTERM\n%s", logs(replicas))
	}
	if survivor.err != nil {
		t.Errorf("the survivor exited with %v", survivor.err)
	}

	if both := chat.twoLiveSenders(victim.name); len(both) != 0 {
		t.Errorf("%d messages were sent by both replicas while both ran (a per-message claim failed):\n%s", len(both), strings.Join(both, "\n"))
	}
	chat.mu.Lock()
	defer chat.mu.Unlock()
	lost, doubled, rawDup := 0, 0, 0
	for c := range conversations {
		for i := range perConv {
			id := msgID(c, i)
			switch n := chat.visible[id]; {
			case n == 0:
				lost++
			case n > 1:
				doubled++
			}
			if chat.receipts[id] > 1 {
				rawDup += chat.receipts[id] - 1
			}
		}
		got := chat.order[room(c)]
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("%s: shown out of order: %v", room(c), got)
				break
			}
		}
	}
	t.Logf("%d messages shown; lost %d, shown twice %d; repeated requests the chat deduplicated by transaction id: %d", chat.shown, lost, doubled, rawDup)
	if lost != 0 || doubled != 0 {
		t.Errorf("lost %d, shown twice %d; want 0 and 0\n%s", lost, doubled, logs(replicas))
	}
	st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: prefix, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if dead, err := st.List(context.Background(), "outbox.dead"); err != nil || len(dead) != 0 {
		t.Errorf("dead letters %v (%v); want none", dead, err)
	}
	if left, err := st.List(context.Background(), "outbox"); err != nil || len(left) != 0 {
		t.Errorf("messages left in the outbox: %d (%v)", len(left), err)
	}
}

func logs(rs []*replica) string {
	var b strings.Builder
	for _, r := range rs {
		out := r.out.String()
		if len(out) > 4000 {
			out = "…" + out[len(out)-4000:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", r.name, out)
	}
	return b.String()
}
