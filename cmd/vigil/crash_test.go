package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// These tests hold intake to its promise under a crash, with real Vigil
// processes: a source hears "stored" only when the report is stored, and a
// failure only when nothing was; a repeat (same Idempotency-Key or
// Message-ID) gets the same report, whether the first try finished or was
// cut short by SIGKILL, and finds it in the open list.

// intakeProc is one Vigil process serving intake, run on the wall clock
// (the engine's loops in the background) with its console on a pipe.
type intakeProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	errOut *syncBuffer
	done   chan struct{}
}

func startIntakeProc(t *testing.T, config, data string, env []string, ready func() bool) *intakeProc {
	t.Helper()
	p := &intakeProc{errOut: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "--console", "--config", config, "--data", data)
	p.cmd.Env = append(os.Environ(), append(env, "VIGIL_TEST_AS_VIGIL=1", "VIGIL_LOG_LEVEL=error")...)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.errOut
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case <-p.done:
			t.Fatalf("vigil exited at start: %s", p.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil did not come up; stderr:\n%s", p.errOut.String())
		}
		time.Sleep(20 * time.Millisecond) // waiting on another process
	}
	return p
}

func (p *intakeProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop ends the process as a service manager does, and waits for it.
func (p *intakeProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("vigil did not stop on SIGTERM; stderr:\n%s", p.errOut.String())
	}
}

// reportsInStore reads every report document and the open set.
func reportsInStore(t *testing.T, st store.Store) (docs map[string]map[string]any, open map[string]bool) {
	t.Helper()
	ctx := context.Background()
	ids, err := st.List(ctx, "reports")
	if err != nil {
		t.Fatal(err)
	}
	docs = map[string]map[string]any{}
	for _, id := range ids {
		d, err := st.Get(ctx, "reports", id)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(d.Data, &m); err != nil {
			t.Fatal(err)
		}
		docs[id] = m
	}
	members, err := st.SetMembers(ctx, "reports:open")
	if err != nil {
		t.Fatal(err)
	}
	open = map[string]bool{}
	for _, m := range members {
		open[m] = true
	}
	return docs, open
}

// crashRun is one crash test's shape: n submissions, each identified by a
// key the source repeats on a retry, SIGKILL after a random number of
// answers, a restart, and the retries.
type crashRun struct {
	n, clients int
	// submit sends submission i once: the report id when the source was
	// told "stored", a *refusal when it was answered with a failure, or
	// another error when there was no answer (connection refused or cut).
	submit func(i int) (string, error)
	// key is what identifies submission i in the stored report.
	key func(i int) string
	// keyOf extracts that key from a stored report document.
	keyOf func(doc map[string]any) string
}

// refusal is an answer other than "stored": an HTTP status or SMTP code.
type refusal struct {
	code int
	text string
}

func (r *refusal) Error() string { return fmt.Sprintf("refused with %d: %s", r.code, r.text) }

type outcome struct {
	id  string
	err error
}

func (c crashRun) fire(idx []int) map[int]outcome {
	var mu sync.Mutex
	out := map[int]outcome{}
	work := make(chan int)
	var wg sync.WaitGroup
	for range c.clients {
		wg.Go(func() {
			for i := range work {
				id, err := c.submit(i)
				mu.Lock()
				out[i] = outcome{id, err}
				mu.Unlock()
			}
		})
	}
	for _, i := range idx {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// run drives the crash and checks the promise. start starts a process on
// the shared state; open reads that state once every process is stopped.
func (c crashRun) run(t *testing.T, start func() *intakeProc, open func(*testing.T) store.Store) {
	p := start()
	all := make([]int, c.n)
	for i := range all {
		all[i] = i
	}
	// SIGKILL after a random number of answers, while requests are in
	// flight from every client.
	killAfter := 20 + rand.IntN(c.n/2)
	var answered sync.WaitGroup
	answered.Add(killAfter)
	var once sync.Once
	var count sync.Mutex
	seen := 0
	inner := c.submit
	c.submit = func(i int) (string, error) {
		id, err := inner(i)
		var ref *refusal
		if err == nil || errors.As(err, &ref) {
			count.Lock()
			seen++
			if seen <= killAfter {
				answered.Done()
			}
			count.Unlock()
		}
		return id, err
	}
	go func() {
		answered.Wait()
		once.Do(p.kill)
	}()
	first := c.fire(all)
	once.Do(p.kill) // all answered before the kill point: kill now
	c.submit = inner

	var resend []int
	stored := map[int]string{}
	for _, i := range all {
		o := first[i]
		var ref *refusal
		switch {
		case o.err == nil:
			stored[i] = o.id
		case errors.As(o.err, &ref):
			// A live process has no reason to refuse a well-formed
			// submission; one killed mid-answer says nothing at all.
			t.Errorf("submission %d answered %v before the crash", i, o.err)
			resend = append(resend, i)
		default:
			resend = append(resend, i)
		}
	}
	// Plus a sample of the answered ones: a client that missed our answer
	// would send them again too.
	sample := 0
	for i := range stored {
		if sample == 30 {
			break
		}
		resend = append(resend, i)
		sample++
	}
	t.Logf("killed after %d answers: %d stored before the crash, re-sending %d", killAfter, len(stored), len(resend))

	p = start()
	second := c.fire(resend)
	for _, i := range resend {
		o := second[i]
		if o.err != nil {
			t.Errorf("submission %d after the restart: %v", i, o.err)
			continue
		}
		if before, ok := stored[i]; ok && before != o.id {
			t.Errorf("submission %d was %s before the crash and %s on its repeat", i, before, o.id)
		}
		stored[i] = o.id
	}
	p.stop(t)

	st := open(t)
	defer st.Close()
	docs, open2 := reportsInStore(t, st)
	byKey := map[string][]string{}
	for id, d := range docs {
		byKey[c.keyOf(d)] = append(byKey[c.keyOf(d)], id)
	}
	lost, doubled, notOpen, unannounced := 0, 0, 0, 0
	for _, i := range all {
		ids := byKey[c.key(i)]
		switch {
		case len(ids) == 0:
			lost++
			t.Errorf("submission %d (%s) was lost", i, c.key(i))
		case len(ids) > 1:
			doubled++
			t.Errorf("submission %d (%s) was filed %d times: %v", i, c.key(i), len(ids), ids)
		}
		if len(ids) == 1 {
			if id, ok := stored[i]; ok && id != "" && ids[0] != id {
				t.Errorf("submission %d was answered %s but stored as %s", i, id, ids[0])
			}
			if !open2[ids[0]] {
				notOpen++
				t.Errorf("report %s is missing from the open list", ids[0])
			}
			// The announcement is stored with the report: still queued, or
			// sent (a sent record) if the process got to it.
			root := "report:" + ids[0] + ":root"
			_, err := st.Get(context.Background(), "outbox", root)
			sent, serr := st.WasSeen(context.Background(), "sent:"+root, time.Now())
			if err != nil && !sent {
				unannounced++
				t.Errorf("report %s is neither announced nor queued to be: %v %v", ids[0], err, serr)
			}
		}
	}
	if len(docs) != c.n {
		t.Errorf("%d reports stored for %d submissions", len(docs), c.n)
	}
	t.Logf("%d submissions: %d lost, %d doubled, %d missing from the open list, %d not announced", c.n, lost, doubled, notOpen, unannounced)
}

func TestIntakeAPISurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			httpAddr := freeAddr(t)
			config := filepath.Join(t.TempDir(), "vigil.yaml")
			// Every submission comes from one address, 32 at a time: the
			// per-client rate limit (which exists to stop exactly that) is
			// raised out of the way.
			writeFile(t, config, fmt.Sprintf("http: {listen: %q, rate_limit: {rate: 100000/s, burst: 100000}}\nreports:\n  api_token: api-secret\n", httpAddr))
			data := t.TempDir()
			env, open := crashStore(t, backend, data)
			client := &http.Client{Timeout: 20 * time.Second}
			c := crashRun{
				n: 200, clients: 32,
				submit: func(i int) (string, error) {
					body := fmt.Sprintf(`{"title":"Crash report %d","description":"Submission %d of the crash test."}`, i, i)
					req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/reports", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer api-secret")
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("crash-%d", i))
					resp, err := client.Do(req)
					if err != nil {
						return "", err
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != 200 && resp.StatusCode != 201 {
						return "", &refusal{resp.StatusCode, string(b)}
					}
					var out struct{ ID string }
					if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
						return "", fmt.Errorf("answer %d without an id: %s", resp.StatusCode, b)
					}
					return out.ID, nil
				},
				key:   func(i int) string { return fmt.Sprintf("crash-%d", i) },
				keyOf: func(d map[string]any) string { s, _ := d["source_id"].(string); return strings.TrimPrefix(s, "key:") },
			}
			ready := func() bool {
				resp, err := http.Get("http://" + httpAddr + "/healthz")
				if err == nil {
					resp.Body.Close()
				}
				return err == nil
			}
			c.run(t, func() *intakeProc { return startIntakeProc(t, config, data, env, ready) }, open)
		})
	}
}

func TestIntakeSMTPSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			smtpAddr := freeAddr(t)
			config := filepath.Join(t.TempDir(), "vigil.yaml")
			// 48 concurrent sessions from one address: above the default
			// per-client connection cap, which is raised for this test.
			writeFile(t, config, fmt.Sprintf("email:\n  smtp_receiver: {listen: %q, recipients: [security@example.org], max_connections_per_client: 100}\n", smtpAddr))
			data := t.TempDir()
			env, open := crashStore(t, backend, data)
			c := crashRun{
				n: 200, clients: 48,
				submit: func(i int) (string, error) {
					msg := fmt.Sprintf("From: Eve <eve%d@example.org>\r\nTo: security@example.org\r\nSubject: Crash mail %d\r\n"+
						"Message-ID: <crash-%d@example.org>\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nMail %d of the crash test.\r\n", i, i, i, i)
					err := sendMail(smtpAddr, fmt.Sprintf("eve%d@example.org", i), []byte(msg))
					var tp *textproto.Error
					if errors.As(err, &tp) {
						return "", &refusal{tp.Code, tp.Msg}
					}
					if err != nil {
						return "", err
					}
					return "", nil // SMTP answers 250 without an id
				},
				key:   func(i int) string { return fmt.Sprintf("crash-%d@example.org", i) },
				keyOf: func(d map[string]any) string { s, _ := d["source_id"].(string); return strings.Trim(s, "<>") },
			}
			ready := func() bool {
				conn, err := net.DialTimeout("tcp", smtpAddr, time.Second)
				if err == nil {
					conn.Close()
				}
				return err == nil
			}
			c.run(t, func() *intakeProc { return startIntakeProc(t, config, data, env, ready) }, open)
		})
	}
}

// sendMail is smtp.SendMail with a deadline, so a session cut by SIGKILL
// fails at once rather than hanging.
func sendMail(addr, from string, msg []byte) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt("security@example.org"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bytes.NewReader(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// crashStore picks the backend: the embedded file in data, or a fresh
// prefix on a real Redis.
func crashStore(t *testing.T, backend, data string) ([]string, func(*testing.T) store.Store) {
	t.Helper()
	if backend == "embedded" {
		return nil, func(t *testing.T) store.Store {
			st, err := embedded.Open(filepath.Join(data, "vigil.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	srv := testredis.Start(t)
	prefix := srv.Prefix(t)
	return []string{"VIGIL_REDIS_URL=" + srv.URL(), "VIGIL_REDIS_PREFIX=" + prefix}, func(t *testing.T) store.Store {
		st, err := redisstore.New(redisstore.Options{URL: srv.URL(), Prefix: prefix, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
