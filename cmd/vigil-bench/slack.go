package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/adapters/slack"
	"github.com/vigil-sec/vigil/bot"
)

// benchSigningSecret signs the scenario's Slack requests (v0 HMAC, as Slack
// signs them); the adapter checks every one.
const benchSigningSecret = "vigil-bench-signing-secret"

// fakeSlackAPI answers the Web API calls the adapter makes (auth.test, the
// channel check, the replies) at once, and counts the replies.
func fakeSlackAPI() (*httptest.Server, *atomic.Int64) {
	var replies atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(r.URL.Path, "/") {
		case "auth.test":
			_, _ = io.WriteString(w, `{"ok":true,"team":"Bench","team_id":"T1","user":"vigil","user_id":"UBOT","bot_id":"B1"}`)
		case "conversations.info":
			_, _ = io.WriteString(w, `{"ok":true,"channel":{"id":"C1","is_private":true,"is_member":true}}`)
		case "chat.postMessage", "chat.postEphemeral":
			n := replies.Add(1)
			fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"1700000000.%06d","message_ts":"1700000000.%06d"}`, n, n)
		default:
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}))
	return srv, &replies
}

// signedEvent builds an Events API request (an app_mention asking
// `whoami`) signed like Slack signs it: v0=HMAC-SHA256 of
// "v0:<timestamp>:<body>" with the signing secret.
func signedEvent(ctx context.Context, url string, i int) (*http.Request, error) {
	body := fmt.Sprintf(`{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"EvBench%d","event_time":%d,"event":{"type":"app_mention","user":"U2","text":"<@UBOT> whoami","ts":"1700000001.%06d","channel":"C1","event_ts":"1700000001.%06d"}}`, i, time.Now().Unix(), i, i)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(benchSigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+slack.PathEvents, bytes.NewReader([]byte(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req, nil
}

// runSlack adds the Slack adapter (Events API over HTTP, its Web API a
// local fake) to e and measures the time from sending a signed event to
// reading Slack's 200, while other goroutines run `whoami` through e at
// o.rate commands a second.
func runSlack(ctx context.Context, o options, e *bot.Engine, event func(int, string) bot.Event, out io.Writer) error {
	api, replies := fakeSlackAPI()
	defer api.Close()
	a, err := slack.New(slack.Options{Engine: e, Mode: slack.ModeHTTP, BotToken: "xoxb-bench", SigningSecret: benchSigningSecret, APIURL: api.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	e.AddAdapter(a)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	runDone := make(chan error, 1)
	go func() { runDone <- a.Run(ctx) }()
	select {
	case <-a.Started():
	case err := <-runDone:
		return fmt.Errorf("slack adapter: %v", err)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the Slack adapter did not start within 10s")
	}
	base, err := serveEngine(ctx, e)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()

	// The load: o.rate commands a second, paced, four in flight at most.
	var ran atomic.Int64
	loadDone := make(chan struct{})
	var load sync.WaitGroup
	loadStart := time.Now()
	if o.rate > 0 {
		const workers = 4
		interval := time.Duration(float64(time.Second) * workers / float64(o.rate))
		for w := range workers {
			load.Go(func() {
				next := loadStart.Add(time.Duration(w) * interval / workers)
				for i := w; ; i += workers {
					select {
					case <-loadDone:
						return
					default:
					}
					if d := time.Until(next); d > 0 {
						time.Sleep(d) // pacing the load generator, not a deadline under test
					}
					e.HandleEvent(ctx, event(1_000_000+i, "whoami"))
					ran.Add(1)
					next = next.Add(interval)
				}
			})
		}
	}
	time.Sleep(200 * time.Millisecond) // let the load reach its pace before measuring

	lat := make([]time.Duration, o.slackN)
	var idx atomic.Int64
	var senders sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	ranBefore := ran.Load()
	for range 2 {
		senders.Go(func() {
			for {
				i := int(idx.Add(1)) - 1
				if i >= o.slackN {
					return
				}
				req, err := signedEvent(ctx, base, i)
				if err == nil {
					t0 := time.Now()
					var resp *http.Response
					if resp, err = hc.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						lat[i] = time.Since(t0)
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("event %d: HTTP %d", i, resp.StatusCode)
						}
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					idx.Store(int64(o.slackN))
					return
				}
				time.Sleep(time.Millisecond) // events arrive spread out, as from Slack
			}
		})
	}
	senders.Wait()
	elapsed := time.Since(start)
	achieved := float64(ran.Load()-ranBefore) / elapsed.Seconds()
	close(loadDone)
	load.Wait()
	if firstErr != nil {
		return firstErr
	}
	res := summarize(lat, elapsed)
	fmt.Fprintf(out, "\nSlack acknowledgement: %d signed Events API requests (app_mention), engine running %.0f commands/s (asked %d)\n", o.slackN, achieved, o.rate)
	fmt.Fprintf(out, "%-28s %9s %9s %9s %12s\n", "", "p50", "p99", "max", "replies")
	fmt.Fprintf(out, "%-28s %9s %9s %9s %12d\n", "event to HTTP 200", round(res.p50), round(res.p99), round(res.max), replies.Load())
	return nil
}
