package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// commands registers the verbs the tests use. gate holds "block" until
// the test releases it; blocked tells the test it is running.
type commands struct {
	gate    chan struct{}
	blocked chan struct{}
}

func newCommands() *commands {
	return &commands{gate: make(chan struct{}), blocked: make(chan struct{}, 10)}
}

func (c *commands) register(e *bot.Engine) {
	e.MustRegister(&bot.Command{Name: "echo", Summary: "say it back", Where: bot.Anywhere, MaxArgs: -1,
		Run: func(ctx context.Context, req *bot.Request) error {
			return req.Replyf(ctx, "echo: %s", strings.Join(req.Args, " "))
		}})
	e.MustRegister(&bot.Command{Name: "block", Summary: "wait for the test", Where: bot.Anywhere, MaxArgs: -1,
		Run: func(ctx context.Context, req *bot.Request) error {
			c.blocked <- struct{}{}
			select {
			case <-c.gate:
			case <-ctx.Done():
			}
			return req.Replyf(ctx, "block: done")
		}})
	e.MustRegister(&bot.Command{Name: "secret", Summary: "report details", Where: bot.Anywhere,
		Run: func(ctx context.Context, req *bot.Request) error {
			_, err := req.Reply(ctx, bot.Message{Text: "CVE details: heap overflow", Sensitive: true})
			return err
		}})
	e.MustRegister(&bot.Command{Name: "report", Summary: "file a report",
		Run: func(ctx context.Context, req *bot.Request) error {
			return req.StartForm(ctx, "report", map[string]string{"source": "test"})
		}})
	if err := e.RegisterForm(&bot.Form{
		ID: "report", Title: "New vulnerability report", Intro: "Tell us what you found.",
		Fields: []bot.FormField{
			{Name: "title", Label: "Title", Validate: func(s string) error {
				if len(s) < 5 {
					return errors.New("the title needs at least 5 characters")
				}
				return nil
			}},
			{Name: "severity", Label: "Severity", Kind: bot.FieldChoice, Options: []bot.Option{
				{Value: "low", Label: "Low"}, {Value: "high", Label: "High", Help: "remote, no auth"}}},
			{Name: "details", Label: "Details", Kind: bot.FieldLongText, Optional: true},
		},
		Sensitive: true,
		Submit: func(ctx context.Context, req *bot.Request) error {
			v := req.Form.Values
			ref, err := req.Reply(ctx, bot.Message{Header: "Report: " + v["title"], Fields: []bot.Field{{Label: "Severity", Value: v["severity"]}}, Sensitive: true})
			if err != nil {
				return err
			}
			// The discussion goes in the report's thread.
			return req.Engine().Post(ctx, "", bot.ToRoom(ref.Room, bot.ThreadRef{ID: ref.ID}),
				bot.Message{Text: "Details: " + v["details"] + " (from " + req.Form.Hidden["source"] + ")", Sensitive: true})
		},
	}); err != nil {
		panic(err)
	}
}

func socketRig(t *testing.T, o rigOptions) (*rig, *wsConn, *commands) {
	t.Helper()
	cmds := newCommands()
	o.setup = cmds.register
	r := newRig(t, o)
	conn := r.slack.nextConn(t)
	r.ready()
	return r, conn, cmds
}

func TestSocketSlashCommandAnsweredInChannel(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	conn.send(t, commandEnvelope("env-1", chanSecurity, userAlice, "echo hello world", "trig-1"))
	if p := conn.ack(t, "env-1"); p != nil {
		t.Errorf("slash command ack carries a payload: %v", p)
	}
	p := r.slack.nextPost(t)
	if p.Channel != chanSecurity || p.Thread != "" || !strings.Contains(p.Text, "echo: hello world") {
		t.Errorf("reply = %+v, want 'echo: hello world' in %s, not in a thread", p, chanSecurity)
	}
	if len(p.Blocks) == 0 || p.Blocks[0]["type"] != "section" {
		t.Errorf("reply is not Block Kit: %+v", p.Blocks)
	}
}

func TestSocketMentionInThreadRepliesInThread(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	conn.send(t, mentionEnvelope("env-1", "Ev1", chanSecurity, userAlice, "<@"+botUser+"> /sec echo in a thread", "1767603700.000200", "1767603600.000100"))
	conn.ack(t, "env-1")
	p := r.slack.nextPost(t)
	if p.Thread != "1767603600.000100" || p.Channel != chanSecurity || !strings.Contains(p.Text, "echo: in a thread") {
		t.Errorf("reply = %+v, want 'echo: in a thread' in thread 1767603600.000100", p)
	}
}

func TestSocketRetriedEventRunsOnce(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	first := mentionEnvelope("env-1", "EvSame", chanSecurity, userAlice, "<@"+botUser+"> echo once", "1767603700.000200", "")
	retry := mentionEnvelope("env-2", "EvSame", chanSecurity, userAlice, "<@"+botUser+"> echo once", "1767603700.000200", "")
	retry["retry_attempt"], retry["retry_reason"] = 1, "timeout"
	conn.send(t, first)
	conn.send(t, retry)
	conn.ack(t, "env-1")
	conn.ack(t, "env-2")
	// A later event in the same conversation runs after both (order is
	// kept per conversation), so it is a barrier for the retry.
	conn.send(t, mentionEnvelope("env-3", "EvOther", chanSecurity, userAlice, "<@"+botUser+"> echo barrier", "1767603800.000300", ""))
	conn.ack(t, "env-3")
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: once") {
		t.Fatalf("first post = %q, want echo: once", p.Text)
	}
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: barrier") {
		t.Fatalf("second post = %q: the retried event ran twice", p.Text)
	}
}

func TestSocketFormEndToEnd(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	conn.send(t, commandEnvelope("env-1", chanSecurity, userAlice, "report", "trig-form"))
	conn.ack(t, "env-1")

	view := r.slack.nextView(t)
	if view["trigger_id"] != "trig-form" {
		t.Fatalf("views.open trigger = %v, want the command's trig-form", view["trigger_id"])
	}
	v, _ := view["view"].(map[string]any)
	meta, _ := v["private_metadata"].(string)
	var fm formMeta
	if err := json.Unmarshal([]byte(meta), &fm); err != nil || fm.Session == "" || fm.Channel != chanSecurity {
		t.Fatalf("private_metadata = %q, want the session and the channel", meta)
	}
	blocks, _ := v["blocks"].([]any)
	kinds := map[string]string{}
	optional := map[string]bool{}
	multiline := false
	for _, b := range blocks {
		bm := b.(map[string]any)
		if bm["type"] != "input" {
			continue
		}
		el := bm["element"].(map[string]any)
		kinds[bm["block_id"].(string)] = el["type"].(string)
		optional[bm["block_id"].(string)], _ = bm["optional"].(bool)
		if bm["block_id"] == "details" {
			multiline, _ = el["multiline"].(bool)
		}
	}
	if kinds["title"] != "plain_text_input" || kinds["severity"] != "static_select" || kinds["details"] != "plain_text_input" || !multiline {
		t.Errorf("modal inputs = %v (details multiline %v), want text, static_select, multiline text", kinds, multiline)
	}
	if optional["title"] || !optional["details"] {
		t.Errorf("optional = %v, want only details optional", optional)
	}
	r.slack.noPost(t) // the modal replaces any message

	// An invalid title is answered inline, in the modal.
	conn.send(t, interactiveEnvelope("env-2", submissionPayload("trig-sub1", userAlice, meta, map[string]map[string]any{
		"title": textValue("x"), "severity": selectValue("high"), "details": textValue(""),
	}, "title", "severity", "details")))
	ack := conn.ack(t, "env-2")
	errs, _ := ack["errors"].(map[string]any)
	if ack["response_action"] != "errors" || !strings.Contains(fmt.Sprint(errs["title"]), "at least 5 characters") {
		t.Fatalf("invalid submission ack = %v, want response_action errors on title", ack)
	}
	r.slack.noPost(t)

	// A valid one closes the modal and posts the report with a threaded reply.
	conn.send(t, interactiveEnvelope("env-3", submissionPayload("trig-sub2", userAlice, meta, map[string]map[string]any{
		"title": textValue("Heap overflow in parser"), "severity": selectValue("high"), "details": textValue("crash on long input"),
	}, "title", "severity", "details")))
	if ack := conn.ack(t, "env-3"); ack != nil {
		t.Fatalf("valid submission ack = %v, want an empty ack (modal closes)", ack)
	}
	head := r.slack.nextPost(t)
	if head.Channel != chanSecurity || !strings.Contains(head.Text, "Report: Heap overflow in parser") || !strings.Contains(head.Text, "high") {
		t.Fatalf("report post = %+v", head)
	}
	if head.Blocks[0]["type"] != "header" {
		t.Errorf("report does not start with a header block: %v", head.Blocks)
	}
	r.engine.Step(context.Background()) // the outbox sends the threaded detail
	reply := r.slack.nextPost(t)
	if reply.Thread != head.TS || reply.Channel != chanSecurity || !strings.Contains(reply.Text, "Details: crash on long input (from test)") {
		t.Fatalf("threaded reply = %+v, want it in thread %s", reply, head.TS)
	}

	// Submitting the same modal again does not file a second report.
	conn.send(t, interactiveEnvelope("env-4", submissionPayload("trig-sub3", userAlice, meta, map[string]map[string]any{
		"title": textValue("Heap overflow in parser"), "severity": selectValue("high"),
	}, "title", "severity", "details")))
	ack = conn.ack(t, "env-4")
	if ack["response_action"] != "errors" || !strings.Contains(fmt.Sprint(ack["errors"]), "expired") {
		t.Errorf("second submission ack = %v, want an inline 'expired'", ack)
	}
	r.slack.noPost(t)
}

func TestSocketSlowCommandSaysWorkingOnIt(t *testing.T) {
	r, conn, cmds := socketRig(t, rigOptions{})
	conn.send(t, commandEnvelope("env-1", chanSecurity, userAlice, "block", "trig-1"))
	conn.ack(t, "env-1") // acknowledged although the command is still running
	<-cmds.blocked
	r.slack.noPost(t)
	r.clock.Advance(1 * time.Second)
	r.slack.noPost(t)
	r.clock.Advance(1500 * time.Millisecond)
	p := r.slack.nextPost(t)
	if !p.Ephemeral || p.User != userAlice || p.Channel != chanSecurity || p.Text != workingText {
		t.Fatalf("after 2.5s: %+v, want an ephemeral %q to alice", p, workingText)
	}
	close(cmds.gate)
	// (The reply is for the asker: ephemeral where the engine says so.)
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "block: done") {
		t.Fatalf("then %+v, want the command's reply", p)
	}

	// A quick command gets no such note, however far the clock moves later.
	conn.send(t, commandEnvelope("env-2", chanSecurity, userAlice, "echo quick", "trig-2"))
	conn.ack(t, "env-2")
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: quick") {
		t.Fatalf("quick reply = %+v", p)
	}
	r.clock.Advance(time.Minute)
	r.slack.noPost(t)
}

func TestSocketOrderPerConversation(t *testing.T) {
	r, conn, cmds := socketRig(t, rigOptions{})
	const thread = "1767603600.000100"
	mention := func(env, text string, thread string) {
		conn.send(t, mentionEnvelope(env, "Ev"+env, chanSecurity, userAlice, "<@"+botUser+"> "+text, "1767603700."+env, thread))
	}
	mention("0", "block", thread)
	for i := 1; i <= 5; i++ {
		mention(fmt.Sprint(i), fmt.Sprintf("echo %d", i), thread)
	}
	mention("9", "echo elsewhere", "1767609999.000999")
	for _, env := range []string{"0", "1", "2", "3", "4", "5", "9"} {
		conn.ack(t, env)
	}
	<-cmds.blocked
	// Another thread is not held up by the slow one...
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: elsewhere") {
		t.Fatalf("first post = %q, want the other thread's reply while the first thread waits", p.Text)
	}
	// ...while this thread's messages wait for it, and keep their order.
	r.slack.noPost(t)
	close(cmds.gate)
	want := []string{"block: done", "echo: 1", "echo: 2", "echo: 3", "echo: 4", "echo: 5"}
	for _, w := range want {
		if p := r.slack.nextPost(t); !strings.Contains(p.Text, w) || p.Thread != thread {
			t.Fatalf("post = %q in thread %q, want %q in %s", p.Text, p.Thread, w, thread)
		}
	}
}

func TestSocketButtonPressInThread(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{setup: nil})
	pressed := make(chan string, 1)
	r.engine.HandleAction(&bot.Action{Name: "ack.report", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request, value string) error {
		pressed <- value + "|" + req.Event.Thread.ID + "|" + req.Event.Message.ID
		return req.Replyf(ctx, "acknowledged %s", value)
	}})
	conn.send(t, interactiveEnvelope("env-1", buttonPayload("trig-b", chanSecurity, userAlice, "1767603700.000200", "1767603600.000100", actionPrefix+"0:ack.report", "R-1")))
	if p := conn.ack(t, "env-1"); p != nil {
		t.Errorf("button ack payload = %v, want none", p)
	}
	if got := <-pressed; got != "R-1|1767603600.000100|1767603700.000200" {
		t.Errorf("button event = %q", got)
	}
	if p := r.slack.nextPost(t); p.Thread != "1767603600.000100" || !strings.Contains(p.Text, "acknowledged R-1") {
		t.Errorf("reply = %+v, want it in the button's thread", p)
	}
}

func TestSocketReconnectsAfterDrop(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	conn.drop()
	again := r.slack.nextConn(t)
	if n := r.slack.count("apps.connections.open"); n < 2 {
		t.Errorf("apps.connections.open called %d times, want a new connection", n)
	}
	again.send(t, commandEnvelope("env-9", chanSecurity, userAlice, "echo back", "trig-9"))
	again.ack(t, "env-9")
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: back") {
		t.Errorf("after reconnect: %q", p.Text)
	}
	// Readiness follows the connection.
	if !r.adapter.Connected() || !r.engine.AdapterStates()["slack"] {
		t.Error("connected again, but the adapter does not say so")
	}
}

func TestSocketBadAppTokenStopsRun(t *testing.T) {
	cmds := newCommands()
	r := newRig(t, rigOptions{setup: cmds.register, appToken: "xoxp-wrong-kind"})
	select {
	case err := <-r.done:
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
			t.Errorf("Run = %v, want invalid_auth", err)
		}
		if strings.Contains(err.Error(), "xoxp-wrong-kind") || strings.Contains(err.Error(), "xoxb-test") {
			t.Errorf("error shows a token: %v", err)
		}
		r.done <- nil
	case <-time.After(wait):
		t.Fatal("Run kept going with a refused app token")
	}
}

// A GitHub call that stalls (10 s or more) inside a scheduled job delays
// neither the acknowledgement of a Slack envelope, nor the answer to a
// command, nor the delivery of queued messages: jobs, delivery and event
// handling run apart.
func TestStalledGitHubCallDelaysNoAcknowledgement(t *testing.T) {
	stalled, release := make(chan struct{}), make(chan struct{})
	cmds := newCommands()
	r := newRig(t, rigOptions{setup: func(e *bot.Engine) {
		cmds.register(e)
		e.HandleJob("github.call", func(ctx context.Context, _ bot.Job) error {
			close(stalled)
			<-release // GitHub is not answering
			return nil
		})
	}})
	conn := r.slack.nextConn(t)
	r.ready()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	defer func() { cancel(); <-runDone }()
	defer close(release)
	if err := r.engine.Scheduler().Schedule(ctx, bot.Job{ID: "gh", Kind: "github.call", Due: r.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.engine.Run(ctx); close(runDone) }()
	select {
	case <-stalled:
	case <-time.After(wait):
		t.Fatal("the job never started")
	}
	// While the job hangs: a command is acknowledged and answered...
	conn.send(t, commandEnvelope("env-stall", chanSecurity, userAlice, "echo still here", "trig-stall"))
	conn.ack(t, "env-stall")
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "echo: still here") {
		t.Errorf("answer during the stall: %q", p.Text)
	}
	// ...and a queued message is delivered.
	if err := r.engine.Post(ctx, "during-stall", bot.ToRoom(bot.RoomRef{Adapter: bot.AdapterSlack, ID: chanSecurity}, bot.ThreadRef{}), bot.Text("hand-off notice")); err != nil {
		t.Fatal(err)
	}
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "hand-off notice") {
		t.Errorf("delivery during the stall: %q", p.Text)
	}
}
