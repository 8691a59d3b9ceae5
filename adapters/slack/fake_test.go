package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/slacktest"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
)

// wait bounds every wait for asynchronous work: a failure is reported
// after it instead of hanging, and nothing sleeps for a fixed time.
const wait = 5 * time.Second

// Channel ids of the fake workspace.
const (
	chanSecurity = "CSEC"   // private, bot is a member
	chanPublic   = "CPUB"   // public
	chanOutside  = "COUT"   // private, bot not invited
	chanGone     = "CGONE"  // does not exist
	userAlice    = "UALICE" // admin, responder
	userMallory  = "UMAL"   // no roles
	botUser      = "UBOT"
)

// posted is a message Vigil posted, as the fake Slack received it.
type posted struct {
	Channel, Text, Thread, TS, User string
	Ephemeral                       bool
	Blocks                          []map[string]any
	// UnfurlLinks and UnfurlMedia are the parameters as sent ("" if not).
	UnfurlLinks, UnfurlMedia string
	// Metadata is the message metadata as sent (nil if none).
	Metadata map[string]any
	// From is who wrote it, as conversations.history tells (the bot for
	// Vigil's posts; seeded messages name others).
	From string
	// ResponseURL is the path of the response_url it was posted to
	// (ResponseType and ReplaceOriginal as sent); Update marks a
	// chat.update of the message TS.
	ResponseURL, ResponseType string
	ReplaceOriginal           bool
	Update                    bool
}

// fakeSlack is slacktest's server extended with the Web API calls Vigil
// uses, and a Socket Mode WebSocket endpoint.
type fakeSlack struct {
	t   *testing.T
	srv *slacktest.Server
	ws  *httptest.Server

	mu       sync.Mutex
	posts    []posted
	postCh   chan posted
	views    []map[string]any
	viewCh   chan map[string]any
	counts   map[string]int
	failPost func(n int, channel string) (status int, header http.Header, body string)
	conns    []*wsConn
	connCh   chan *wsConn
	// Channels created (conversations.create), by name; taken names are
	// refused with name_taken. invites and topics record the calls.
	created map[string]map[string]any
	taken   map[string]bool
	invites []map[string]any
	topics  []map[string]any
	// chans overrides what conversations.info says of a channel (tests
	// change a channel while Vigil runs); authFail, when set, answers
	// auth.test call n instead of the fake workspace (status 0: answer).
	chans    map[string]chanInfo
	authFail func(n int) (status int, body string)
	// history is what conversations.history and .replies serve: every
	// message Vigil posted (not ephemeral ones) and seeded ones, in order.
	// tookThenFailed, when set, makes chat.postMessage call n keep the
	// message yet answer with the error given (Slack took it, the answer
	// was lost); failHistory answers history call n instead (status 0:
	// answer).
	history        []posted
	tookThenFailed func(n int) (status int, body string)
	failHistory    func(n int) (status int, body string)
	// pending are files announced by files.getUploadURLExternal, by id;
	// uploads the files shared (files.completeUploadExternal), in order.
	pending  map[string]*pendingUpload
	uploads  []uploaded
	uploadCh chan uploaded
	// failComplete, when set, answers files.completeUploadExternal call
	// n with that Slack error instead ("": answer).
	failComplete func(n int) string
}

// chanInfo is what conversations.info says of a channel.
type chanInfo struct {
	Private, Member, Archived, ExtShared bool
	// Down answers conversations.info with HTTP 503.
	Down bool
}

// setChannel changes what conversations.info says of a channel.
func (f *fakeSlack) setChannel(id string, c chanInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chans[id] = c
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, postCh: make(chan posted, 1000), viewCh: make(chan map[string]any, 100),
		counts: map[string]int{}, connCh: make(chan *wsConn, 10), created: map[string]map[string]any{}, taken: map[string]bool{},
		chans: map[string]chanInfo{}, pending: map[string]*pendingUpload{}, uploadCh: make(chan uploaded, 100)}
	f.ws = httptest.NewServer(http.HandlerFunc(f.serveWS))
	t.Cleanup(f.ws.Close)
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/auth.test", f.authTest)
		c.Handle("/conversations.info", f.conversationsInfo)
		c.Handle("/conversations.open", f.conversationsOpen)
		c.Handle("/users.info", f.usersInfo)
		c.Handle("/conversations.create", f.conversationsCreate)
		c.Handle("/conversations.invite", f.conversationsInvite)
		c.Handle("/conversations.setTopic", f.conversationsSetTopic)
		c.Handle("/chat.postMessage", f.postMessage)
		c.Handle("/chat.postEphemeral", f.postEphemeral)
		c.Handle("/views.open", f.viewsOpen)
		c.Handle("/views.update", f.json(`{"ok":true,"view":{"id":"V1"}}`))
		c.Handle("/apps.connections.open", f.appsConnectionsOpen)
		c.Handle("/conversations.history", f.conversationsHistory)
		c.Handle("/conversations.replies", f.conversationsReplies)
		c.Handle("/chat.update", f.chatUpdate)
		c.Handle("/response/", f.responseURL)
		f.handleUploads(c)
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeSlack) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method]
}

func (f *fakeSlack) called(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[method]++
	return f.counts[method]
}

func (f *fakeSlack) json(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.called(strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// params reads a Web API call's arguments, form-encoded or JSON.
func params(r *http.Request) map[string]any {
	out := map[string]any{}
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		_ = json.NewDecoder(r.Body).Decode(&out)
		return out
	}
	_ = r.ParseForm()
	for k := range r.PostForm {
		out[k] = r.PostForm.Get(k)
	}
	return out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func (f *fakeSlack) authTest(w http.ResponseWriter, r *http.Request) {
	n := f.called("auth.test")
	f.mu.Lock()
	fail := f.authFail
	f.mu.Unlock()
	if fail != nil {
		if status, body := fail(n); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"url":"https://test.slack.com/","team":"Test","user":"vigil","team_id":"T1","user_id":"`+botUser+`","bot_id":"B1"}`)
}

func (f *fakeSlack) conversationsInfo(w http.ResponseWriter, r *http.Request) {
	f.called("conversations.info")
	ch := str(params(r), "channel")
	var c chanInfo
	f.mu.Lock()
	c, known := f.chans[ch]
	f.mu.Unlock()
	if !known {
		switch ch {
		case chanSecurity:
			c = chanInfo{Private: true, Member: true}
		case chanPublic:
			c = chanInfo{Private: false, Member: true}
		case chanOutside:
			c = chanInfo{Private: true, Member: false}
		default:
			_, _ = io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
	}
	if c.Down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{
		"id": ch, "name": strings.ToLower(ch), "is_private": c.Private, "is_member": c.Member, "is_channel": !c.Private, "is_group": c.Private,
		"is_archived": c.Archived, "is_ext_shared": c.ExtShared,
	}})
}

func (f *fakeSlack) conversationsOpen(w http.ResponseWriter, r *http.Request) {
	f.called("conversations.open")
	users := str(params(r), "users")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{"id": "D" + users}})
}

// conversationsCreate makes a channel G<n>, refusing names taken (and
// names that break Slack's rules, as Slack does with invalid_name_*).
func (f *fakeSlack) conversationsCreate(w http.ResponseWriter, r *http.Request) {
	f.called("conversations.create")
	m := params(r)
	name := str(m, "name")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case name == "" || len(name) > 80 || strings.ToLower(name) != name || strings.ContainsAny(name, " .,:#@"):
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_name_specials"}`)
		return
	case f.taken[name] || f.created[name] != nil:
		_, _ = io.WriteString(w, `{"ok":false,"error":"name_taken"}`)
		return
	}
	m["id"] = fmt.Sprintf("G%d", len(f.created)+1)
	f.created[name] = m
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{
		"id": m["id"], "name": name, "is_private": str(m, "is_private") == "true", "is_member": true, "is_group": str(m, "is_private") == "true",
	}})
}

func (f *fakeSlack) conversationsInvite(w http.ResponseWriter, r *http.Request) {
	f.called("conversations.invite")
	m := params(r)
	f.mu.Lock()
	f.invites = append(f.invites, m)
	f.mu.Unlock()
	if strings.Contains(str(m, "users"), botUser) {
		_, _ = io.WriteString(w, `{"ok":false,"error":"cant_invite_self"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{"id": str(m, "channel")}})
}

func (f *fakeSlack) conversationsSetTopic(w http.ResponseWriter, r *http.Request) {
	f.called("conversations.setTopic")
	m := params(r)
	f.mu.Lock()
	f.topics = append(f.topics, m)
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{"id": str(m, "channel"), "topic": map[string]any{"value": str(m, "topic")}}})
}

func (f *fakeSlack) usersInfo(w http.ResponseWriter, r *http.Request) {
	f.called("users.info")
	id := str(params(r), "user")
	if id != userAlice {
		_, _ = io.WriteString(w, `{"ok":false,"error":"user_not_found"}`)
		return
	}
	_, _ = io.WriteString(w, `{"ok":true,"user":{"id":"UALICE","name":"alice","real_name":"Alice Liddell","tz":"Europe/Paris","profile":{"display_name":"Alice","real_name":"Alice Liddell"}}}`)
}

func (f *fakeSlack) record(p posted, m map[string]any) posted {
	if raw := str(m, "blocks"); raw != "" {
		_ = json.Unmarshal([]byte(raw), &p.Blocks)
	} else if bs, ok := m["blocks"].([]any); ok {
		for _, b := range bs {
			if bm, ok := b.(map[string]any); ok {
				p.Blocks = append(p.Blocks, bm)
			}
		}
	}
	if raw := str(m, "metadata"); raw != "" {
		_ = json.Unmarshal([]byte(raw), &p.Metadata)
	}
	f.mu.Lock()
	f.posts = append(f.posts, p)
	if !p.Ephemeral && !p.Update {
		p.From = botUser
		f.history = append(f.history, p)
	}
	f.mu.Unlock()
	f.postCh <- p
	return p
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	n := f.called("chat.postMessage")
	m := params(r)
	ch := str(m, "channel")
	f.mu.Lock()
	fail := f.failPost
	f.mu.Unlock()
	if fail != nil {
		if status, header, body := fail(n, ch); status != 0 {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	ts := fmt.Sprintf("1767603600.%06d", n)
	f.record(posted{Channel: ch, Text: str(m, "text"), Thread: str(m, "thread_ts"), TS: ts,
		UnfurlLinks: fmt.Sprint(m["unfurl_links"]), UnfurlMedia: fmt.Sprint(m["unfurl_media"])}, m)
	f.mu.Lock()
	took := f.tookThenFailed
	f.mu.Unlock()
	if took != nil {
		if status, body := took(n); status != 0 {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch, "ts": ts})
}

// seed adds a message someone else wrote to the fake's history.
func (f *fakeSlack) seed(p posted) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.history = append(f.history, p)
}

// historyJSON is a message as conversations.history shows it; metadata
// only when the caller asked for it, as Slack does.
func historyJSON(p posted, withMetadata bool) map[string]any {
	m := map[string]any{"type": "message", "user": p.From, "text": p.Text, "ts": p.TS}
	if p.Thread != "" {
		m["thread_ts"] = p.Thread
	}
	if withMetadata && p.Metadata != nil {
		m["metadata"] = p.Metadata
	}
	return m
}

// servePage answers one page of msgs, the cursor being the offset.
func servePage(w http.ResponseWriter, m map[string]any, msgs []posted) {
	if oldest, err := strconv.ParseFloat(str(m, "oldest"), 64); err == nil {
		// Slack leaves out messages at or before oldest (inclusive=0).
		msgs = slices.DeleteFunc(slices.Clone(msgs), func(p posted) bool {
			ts, _ := strconv.ParseFloat(p.TS, 64)
			return ts <= oldest
		})
	}
	limit, _ := strconv.Atoi(str(m, "limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	start, _ := strconv.Atoi(str(m, "cursor"))
	start = min(start, len(msgs))
	end := min(start+limit, len(msgs))
	withMetadata := str(m, "include_all_metadata") == "1"
	out := []map[string]any{}
	for _, p := range msgs[start:end] {
		out = append(out, historyJSON(p, withMetadata))
	}
	next := ""
	if end < len(msgs) {
		next = strconv.Itoa(end)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "messages": out, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}})
}

// historyFailed answers history call n with the failure set, if any.
func (f *fakeSlack) historyFailed(w http.ResponseWriter, method string) bool {
	n := f.called(method)
	f.mu.Lock()
	fail := f.failHistory
	f.mu.Unlock()
	if fail == nil {
		return false
	}
	status, body := fail(n)
	if status == 0 {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
	return true
}

// conversationsHistory serves a channel's top-level messages newest first.
func (f *fakeSlack) conversationsHistory(w http.ResponseWriter, r *http.Request) {
	if f.historyFailed(w, "conversations.history") {
		return
	}
	m := params(r)
	ch := str(m, "channel")
	f.mu.Lock()
	var msgs []posted
	for i := len(f.history) - 1; i >= 0; i-- {
		if p := f.history[i]; p.Channel == ch && (p.Thread == "" || p.Thread == p.TS) {
			msgs = append(msgs, p)
		}
	}
	f.mu.Unlock()
	servePage(w, m, msgs)
}

// conversationsReplies serves a thread: its root, then replies oldest first.
func (f *fakeSlack) conversationsReplies(w http.ResponseWriter, r *http.Request) {
	if f.historyFailed(w, "conversations.replies") {
		return
	}
	m := params(r)
	ch, ts := str(m, "channel"), str(m, "ts")
	f.mu.Lock()
	var msgs []posted
	for _, p := range f.history {
		if p.Channel == ch && (p.TS == ts || p.Thread == ts) {
			msgs = append(msgs, p)
		}
	}
	f.mu.Unlock()
	if len(msgs) == 0 {
		_, _ = io.WriteString(w, `{"ok":false,"error":"thread_not_found"}`)
		return
	}
	servePage(w, m, msgs)
}

func (f *fakeSlack) postEphemeral(w http.ResponseWriter, r *http.Request) {
	f.called("chat.postEphemeral")
	m := params(r)
	f.record(posted{Channel: str(m, "channel"), Text: str(m, "text"), Thread: str(m, "thread_ts"), User: str(m, "user"), Ephemeral: true,
		UnfurlLinks: fmt.Sprint(m["unfurl_links"]), UnfurlMedia: fmt.Sprint(m["unfurl_media"])}, m)
	_, _ = io.WriteString(w, `{"ok":true,"message_ts":"1.2"}`)
}

// chatUpdate records an edit of a message Vigil posted and changes it in
// the history.
func (f *fakeSlack) chatUpdate(w http.ResponseWriter, r *http.Request) {
	f.called("chat.update")
	m := params(r)
	ch, ts := str(m, "channel"), str(m, "ts")
	f.mu.Lock()
	i := slices.IndexFunc(f.history, func(p posted) bool { return p.Channel == ch && p.TS == ts })
	f.mu.Unlock()
	if i < 0 {
		_, _ = io.WriteString(w, `{"ok":false,"error":"message_not_found"}`)
		return
	}
	p := f.record(posted{Channel: ch, Text: str(m, "text"), TS: ts, Update: true}, m)
	f.mu.Lock()
	f.history[i].Text, f.history[i].Blocks = p.Text, p.Blocks
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch, "ts": ts, "text": p.Text})
}

// responseURL serves response_url posts: /response/expired answers as
// Slack does once a URL is past its 30 minutes; any other path takes the
// message (/response/CHANNEL/NAME in the channel named).
func (f *fakeSlack) responseURL(w http.ResponseWriter, r *http.Request) {
	f.called("response_url")
	if r.URL.Path == "/response/expired" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"ok":false,"error":"expired_url"}`)
		return
	}
	m := params(r)
	replace, _ := m["replace_original"].(bool)
	// Slack's answer shows where the command was typed: the fake's
	// envelopes name that channel in the path (/response/CSEC/trig-1).
	channel, _, named := strings.Cut(strings.TrimPrefix(r.URL.Path, "/response/"), "/")
	if !named {
		channel = ""
	}
	f.record(posted{Channel: channel, Text: str(m, "text"), Thread: str(m, "thread_ts"), Ephemeral: true, ResponseURL: r.URL.Path,
		ResponseType: str(m, "response_type"), ReplaceOriginal: replace,
		UnfurlLinks: fmt.Sprint(m["unfurl_links"]), UnfurlMedia: fmt.Sprint(m["unfurl_media"])}, m)
	_, _ = io.WriteString(w, "ok")
}

// responseURLFor is a response_url of the fake Slack.
func (f *fakeSlack) responseURLFor(name string) string {
	return f.srv.GetAPIURL() + "response/" + name
}

// hooksHost is the host of the response_urls in the envelopes the tests
// send, as Slack's are on hooks.slack.com; the adapter's HTTP client takes
// them to the fake (no test reaches the network).
const hooksHost = "hooks.example"

// toFake sends requests for hooksHost to the fake Slack.
type toFake struct{ addr string }

func (t toFake) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == hooksHost {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = "http", t.addr, t.addr
	}
	return http.DefaultTransport.RoundTrip(r)
}

// client is the adapter's HTTP client in tests.
func (f *fakeSlack) client() *http.Client {
	return &http.Client{Timeout: wait, Transport: toFake{addr: strings.TrimSuffix(strings.TrimPrefix(f.srv.GetAPIURL(), "http://"), "/")}}
}

func (f *fakeSlack) viewsOpen(w http.ResponseWriter, r *http.Request) {
	f.called("views.open")
	m := params(r)
	f.mu.Lock()
	f.views = append(f.views, m)
	f.mu.Unlock()
	f.viewCh <- m
	_, _ = io.WriteString(w, `{"ok":true,"view":{"id":"V1"}}`)
}

func (f *fakeSlack) appsConnectionsOpen(w http.ResponseWriter, r *http.Request) {
	f.called("apps.connections.open")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer xapp-") {
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.ws.URL, "http") + "/link"})
}

// nextPost waits for the next message Vigil posts.
func (f *fakeSlack) nextPost(t *testing.T) posted {
	t.Helper()
	select {
	case p := <-f.postCh:
		return p
	case <-time.After(wait):
		t.Fatalf("Vigil posted nothing within %s", wait)
		return posted{}
	}
}

// noPost checks that nothing more was posted. Work that would post has
// been waited for by the caller (an ack, a drained queue), so a short
// look is enough to catch a stray message.
func (f *fakeSlack) noPost(t *testing.T) {
	t.Helper()
	select {
	case p := <-f.postCh:
		t.Fatalf("unexpected post: %+v", p)
	default:
	}
}

func (f *fakeSlack) nextView(t *testing.T) map[string]any {
	t.Helper()
	select {
	case v := <-f.viewCh:
		return v
	case <-time.After(wait):
		t.Fatalf("Vigil opened no modal within %s", wait)
		return nil
	}
}

// wsConn is one Socket Mode connection as the fake Slack sees it.
type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex
	acks chan map[string]any
	done chan struct{}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *fakeSlack) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wc := &wsConn{c: c, acks: make(chan map[string]any, 100), done: make(chan struct{})}
	f.mu.Lock()
	f.conns = append(f.conns, wc)
	f.mu.Unlock()
	wc.send(f.t, map[string]any{"type": "hello", "num_connections": 1,
		"debug_info": map[string]any{"host": "fake"}, "connection_info": map[string]any{"app_id": "A1"}})
	f.connCh <- wc
	// Slack pings; slack-go counts a connection without pings as dead.
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-wc.done:
				return
			case <-tick.C:
				_ = c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
			}
		}
	}()
	defer close(wc.done)
	for {
		var m map[string]any
		if err := c.ReadJSON(&m); err != nil {
			return
		}
		wc.acks <- m
	}
}

// nextConn waits for Vigil to open a Socket Mode connection.
func (f *fakeSlack) nextConn(t *testing.T) *wsConn {
	t.Helper()
	select {
	case c := <-f.connCh:
		return c
	case <-time.After(wait):
		t.Fatalf("Vigil did not connect within %s", wait)
		return nil
	}
}

func (w *wsConn) send(t *testing.T, v any) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.c.WriteJSON(v); err != nil {
		t.Errorf("websocket write: %v", err)
	}
}

// drop closes the connection the way a network failure would.
func (w *wsConn) drop() {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), time.Now().Add(time.Second))
	_ = w.c.Close()
}

// ack waits for the acknowledgement of an envelope and returns its
// payload (nil when there is none).
func (w *wsConn) ack(t *testing.T, envelope string) map[string]any {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-w.acks:
			if m["envelope_id"] != envelope {
				t.Fatalf("got ack %v, want envelope %s (acks come in order)", m, envelope)
			}
			p, _ := m["payload"].(map[string]any)
			return p
		case <-deadline:
			t.Fatalf("no ack for envelope %s within %s", envelope, wait)
			return nil
		}
	}
}

// Envelopes as Slack sends them over Socket Mode.

func commandEnvelope(env, channel, user, text, trigger string) map[string]any {
	return map[string]any{"type": "slash_commands", "envelope_id": env, "accepts_response_payload": true,
		"payload": map[string]any{"token": "x", "team_id": "T1", "command": "/sec", "text": text,
			"channel_id": channel, "user_id": user, "trigger_id": trigger, "response_url": "https://" + hooksHost + "/response/" + channel + "/" + trigger}}
}

func mentionEnvelope(env, eventID, channel, user, text, ts, thread string) map[string]any {
	ev := map[string]any{"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
	if thread != "" {
		ev["thread_ts"] = thread
	}
	return eventsEnvelope(env, eventID, ev)
}

func eventsEnvelope(env, eventID string, inner map[string]any) map[string]any {
	return map[string]any{"type": "events_api", "envelope_id": env, "accepts_response_payload": false,
		"payload": map[string]any{"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
			"event_id": eventID, "event_time": 1767603600, "event": inner}}
}

func interactiveEnvelope(env string, payload map[string]any) map[string]any {
	return map[string]any{"type": "interactive", "envelope_id": env, "accepts_response_payload": true, "payload": payload}
}

func buttonPayload(trigger, channel, user, msgTS, thread, actionID, value string) map[string]any {
	return map[string]any{"type": "block_actions", "trigger_id": trigger,
		"user":      map[string]any{"id": user},
		"channel":   map[string]any{"id": channel},
		"container": map[string]any{"type": "message", "message_ts": msgTS, "channel_id": channel, "thread_ts": thread},
		"message":   map[string]any{"ts": msgTS, "thread_ts": thread},
		"actions":   []any{map[string]any{"type": "button", "action_id": actionID, "value": value, "block_id": "vigil-actions-0"}}}
}

func submissionPayload(trigger, user, meta string, values map[string]map[string]any, blockIDs ...string) map[string]any {
	var blocks []any
	for _, id := range blockIDs {
		blocks = append(blocks, map[string]any{"type": "input", "block_id": id,
			"label": map[string]any{"type": "plain_text", "text": id}, "element": map[string]any{"type": "plain_text_input", "action_id": id}})
	}
	state := map[string]any{}
	for block, v := range values {
		state[block] = map[string]any{block: v}
	}
	return map[string]any{"type": "view_submission", "trigger_id": trigger, "user": map[string]any{"id": user},
		"view": map[string]any{"id": "V1", "type": "modal", "callback_id": "vigil.form.t", "private_metadata": meta,
			"blocks": blocks, "state": map[string]any{"values": state}}}
}

// rig is an engine on a fake clock wired to the adapter and the fake Slack.
type rig struct {
	t       *testing.T
	slack   *fakeSlack
	engine  *bot.Engine
	clock   *clock.Fake
	adapter *Adapter
	cancel  context.CancelFunc
	done    chan error
}

type rigOptions struct {
	mode  Mode
	rooms []string
	// start is the fake clock's start; HTTP tests use the wall clock's
	// time because slack-go's verifier checks timestamps against it.
	start    time.Time
	setup    func(e *bot.Engine)
	appToken string
	// recheck is the adapter's RecheckEvery (default: the adapter's).
	recheck time.Duration
	// before runs before the adapter starts (a fake Slack that is down).
	before func(f *fakeSlack)
}

func people() []bot.Person {
	return []bot.Person{
		{Name: "alice", Chat: map[string]string{bot.AdapterSlack: userAlice}, Roles: []bot.Role{bot.RoleAdmin, bot.RoleResponder}},
		{Name: "mallory", Chat: map[string]string{bot.AdapterSlack: userMallory}},
	}
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	if o.mode == "" {
		o.mode = ModeSocket
	}
	if o.rooms == nil {
		o.rooms = []string{chanSecurity}
	}
	if o.start.IsZero() {
		o.start = bottest.Start
	}
	if o.appToken == "" {
		o.appToken = "xapp-1-test"
	}
	tw := newTestWriter(t)
	fs := newFakeSlack(t)
	if o.before != nil {
		o.before(fs)
	}
	fake := clock.NewFake(o.start)
	var private []bot.RoomRef
	for _, r := range o.rooms {
		private = append(private, bot.RoomRef{Adapter: bot.AdapterSlack, ID: r})
	}
	logger := slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: fake, People: people(), PrivateRooms: private, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if o.setup != nil {
		o.setup(e)
	}
	a, err := New(Options{Engine: e, Mode: o.mode, BotToken: "xoxb-test", AppToken: o.appToken, SigningSecret: signingSecret,
		APIURL: fs.srv.GetAPIURL(), Rooms: o.rooms, Logger: logger, RecheckEvery: o.recheck, HTTPClient: fs.client()})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(a)
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, slack: fs, engine: e, clock: fake, adapter: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop ends Run and waits for it (and the work it accepted) to finish.
func (r *rig) stop() {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run: %v", err)
		}
		r.done <- nil // a second stop returns at once
	case <-time.After(wait):
		r.t.Errorf("Run did not return within %s of cancel", wait)
	}
}

// ready waits until Run has checked the rooms and accepts events.
func (r *rig) ready() {
	r.t.Helper()
	select {
	case <-r.adapter.Started():
	case err := <-r.done:
		r.t.Fatalf("Run returned before it was ready: %v", err)
	case <-time.After(wait):
		r.t.Fatalf("adapter not ready within %s", wait)
	}
}

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// testWriter sends the log to the test's output until the test ends
// (t.Log after the end would panic; late background lines are dropped).
type testWriter struct {
	t    *testing.T
	mu   *sync.Mutex
	done *bool
}

func newTestWriter(t *testing.T) testWriter {
	w := testWriter{t: t, mu: &sync.Mutex{}, done: new(bool)}
	t.Cleanup(func() {
		w.mu.Lock()
		*w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// form values for submissionPayload.
func textValue(v string) map[string]any {
	return map[string]any{"type": "plain_text_input", "value": v}
}
func selectValue(v string) map[string]any {
	return map[string]any{"type": "static_select", "selected_option": map[string]any{"value": v}}
}
