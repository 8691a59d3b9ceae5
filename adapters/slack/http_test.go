package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// httpRig runs the adapter in HTTP mode behind a test listener. Its fake
// clock starts at the wall clock's time, because slack-go's verifier also
// checks timestamps against the wall clock.
func httpRig(t *testing.T) (*rig, *httptest.Server, *commands) {
	t.Helper()
	cmds := newCommands()
	r := newRig(t, rigOptions{mode: ModeHTTP, setup: cmds.register, start: time.Now().Truncate(time.Second)})
	srv := httptest.NewServer(r.engine.HTTP())
	t.Cleanup(srv.Close)
	r.ready()
	return r, srv, cmds
}

// sign returns Slack's headers for body at time ts with secret.
func sign(secret string, ts int64, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts, body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

func post(t *testing.T, srv *httptest.Server, path, contentType, body string, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const formType = "application/x-www-form-urlencoded"

func commandBody(text, trigger string) string {
	return url.Values{"command": {"/sec"}, "text": {text}, "channel_id": {chanSecurity}, "user_id": {userAlice},
		"trigger_id": {trigger}, "team_id": {"T1"}, "token": {"x"}}.Encode()
}

func eventBody(t *testing.T, eventID, text string) string {
	t.Helper()
	b, err := json.Marshal(eventsEnvelope("", eventID, map[string]any{"type": "app_mention", "user": userAlice,
		"text": "<@" + botUser + "> " + text, "ts": "1767603700.000200", "channel": chanSecurity})["payload"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHTTPURLVerification(t *testing.T) {
	r, srv, _ := httpRig(t)
	body := `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	code, got := post(t, srv, PathEvents, "application/json", body, sign(signingSecret, r.clock.Now().Unix(), body))
	if code != http.StatusOK || got != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification = %d %q, want the challenge", code, got)
	}
}

func TestHTTPRejectsForgedAndStale(t *testing.T) {
	r, srv, _ := httpRig(t)
	now := r.clock.Now().Unix()
	body := commandBody("echo forged", "trig-f")
	cases := []struct {
		name string
		h    http.Header
	}{
		{"wrong secret", sign("not-the-secret", now, body)},
		{"body changed", sign(signingSecret, now, commandBody("echo other", "trig-f"))},
		{"stale", sign(signingSecret, now-6*60, body)},
		{"future", sign(signingSecret, now+6*60, body)},
		{"unsigned", http.Header{}},
		{"garbage signature", http.Header{"X-Slack-Request-Timestamp": {strconv.FormatInt(now, 10)}, "X-Slack-Signature": {"v0=zz"}}},
	}
	for _, c := range cases {
		for _, path := range []string{PathCommands, PathEvents, PathInteractions} {
			if code, _ := post(t, srv, path, formType, body, c.h); code != http.StatusUnauthorized {
				t.Errorf("%s to %s: %d, want 401", c.name, path, code)
			}
		}
	}
	// Nothing ran: the next message Slack sees is the answer to a genuine
	// command sent afterwards.
	good := commandBody("echo genuine", "trig-g")
	if code, _ := post(t, srv, PathCommands, formType, good, sign(signingSecret, now, good)); code != http.StatusOK {
		t.Fatalf("genuine command: %d", code)
	}
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: genuine") {
		t.Errorf("first post = %q: a refused request ran", p.Text)
	}
	r.slack.noPost(t)
}

func TestHTTPSlashCommandAckedBeforeWork(t *testing.T) {
	r, srv, cmds := httpRig(t)
	body := commandBody("block", "trig-1")
	code, resp := post(t, srv, PathCommands, formType, body, sign(signingSecret, r.clock.Now().Unix(), body))
	if code != http.StatusOK || resp != "" {
		t.Fatalf("slash command answered %d %q, want an empty 200", code, resp)
	}
	<-cmds.blocked // the work runs after the answer
	r.clock.Advance(3 * time.Second)
	// This command has no response_url: the note is a chat.postEphemeral.
	if p := r.slack.nextPost(t); !p.Ephemeral || p.User != userAlice || p.ResponseURL != "" || p.Text != workingText {
		t.Fatalf("slow command: %+v, want the working-on-it note", p)
	}
	close(cmds.gate)
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "block: done") {
		t.Fatalf("reply = %+v", p)
	}
}

func TestHTTPRetriedEventRunsOnce(t *testing.T) {
	r, srv, _ := httpRig(t)
	body := eventBody(t, "EvHTTP1", "echo once")
	for attempt := range 3 {
		h := sign(signingSecret, r.clock.Now().Unix(), body)
		if attempt > 0 {
			h.Set("X-Slack-Retry-Num", strconv.Itoa(attempt))
			h.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		if code, _ := post(t, srv, PathEvents, "application/json", body, h); code != http.StatusOK {
			t.Fatalf("attempt %d: %d", attempt, code)
		}
	}
	barrier := eventBody(t, "EvHTTP2", "echo barrier")
	post(t, srv, PathEvents, "application/json", barrier, sign(signingSecret, r.clock.Now().Unix(), barrier))
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: once") {
		t.Fatalf("first = %q", p.Text)
	}
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: barrier") {
		t.Fatalf("second = %q: a retried event ran again", p.Text)
	}
}

func TestHTTPFormInlineErrors(t *testing.T) {
	r, srv, _ := httpRig(t)
	body := commandBody("report", "trig-form")
	post(t, srv, PathCommands, formType, body, sign(signingSecret, r.clock.Now().Unix(), body))
	view := r.slack.nextView(t)
	meta := view["view"].(map[string]any)["private_metadata"].(string)

	submit := func(title string) (int, string) {
		p, _ := json.Marshal(submissionPayload("trig-s", userAlice, meta, map[string]map[string]any{
			"title": textValue(title), "severity": selectValue("low")}, "title", "severity", "details"))
		b := url.Values{"payload": {string(p)}}.Encode()
		return post(t, srv, PathInteractions, formType, b, sign(signingSecret, r.clock.Now().Unix(), b))
	}
	code, resp := submit("bad")
	var ack map[string]any
	if err := json.Unmarshal([]byte(resp), &ack); code != http.StatusOK || err != nil || ack["response_action"] != "errors" {
		t.Fatalf("invalid submission: %d %q, want response_action errors", code, resp)
	}
	if !strings.Contains(fmt.Sprint(ack["errors"]), "title") {
		t.Errorf("errors = %v, want one on title", ack["errors"])
	}
	r.slack.noPost(t)
	if code, resp := submit("Good title here"); code != http.StatusOK || resp != "" {
		t.Fatalf("valid submission: %d %q, want an empty 200", code, resp)
	}
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "Report: Good title here") {
		t.Errorf("report = %q", p.Text)
	}
}
