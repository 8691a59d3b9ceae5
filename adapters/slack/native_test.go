package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/hostile"
)

// Issue 16 on Slack: private answers, edits, confirm dialogs, mentions and
// dates, DMs and modals, against the fake Web API.

// A slash command's event carries its response_url, and an answer for the
// asker goes there as an ephemeral message that replaces nothing: it works
// in a channel the bot is not in, and nothing is posted to the channel.
func TestReplyPrivatelyByResponseURL(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ev, ok := r.adapter.commandEvent(slack.SlashCommand{Command: "/sec", Text: "help", ChannelID: chanOutside,
		UserID: userMallory, TriggerID: "trig-1", ResponseURL: r.slack.responseURLFor("help")})
	if !ok || ev.ResponseURL != r.slack.responseURLFor("help") {
		t.Fatalf("slash command event = %+v, want its response_url", ev)
	}
	ref, err := r.adapter.ReplyPrivately(context.Background(), ev, bot.ToRoom(ev.Room, bot.ThreadRef{}),
		bot.Message{Header: "Vigil", Text: "*Commands*: `/sec help`", Buttons: []bot.Button{{Label: "More", Action: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := r.slack.nextPost(t)
	if p.ResponseURL != "/response/help" || p.ResponseType != "ephemeral" || p.ReplaceOriginal {
		t.Errorf("answer = %+v, want ephemeral at the response_url, replacing nothing", p)
	}
	if len(p.Blocks) != 3 || p.Blocks[0]["type"] != "header" || !strings.Contains(p.Text, "*Commands*") {
		t.Errorf("answer is not the rendered message: text %q, blocks %v", p.Text, p.Blocks)
	}
	if ref.Room != slackRoom(chanOutside) || ref.ID != "" {
		t.Errorf("ref = %+v, want the channel and no message (ephemeral messages cannot be edited)", ref)
	}
	r.slack.noPost(t)
	if n := r.slack.count("chat.postMessage") + r.slack.count("chat.postEphemeral"); n != 0 {
		t.Errorf("%d chat.post* calls, want none", n)
	}
}

// Without a response_url (a mention), or with one Slack no longer takes,
// the answer is chat.postEphemeral to the asker, in the thread; untrusted
// text is not unfurled either way.
func TestReplyPrivatelyByPostEphemeral(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	msg := bot.Message{Text: fmt.Sprintf("title: %s", bot.Untrusted("see https://evil.example/"))}
	thread := bot.ThreadRef{Room: slackRoom(chanSecurity), ID: "1767603600.000001"}
	for _, url := range []string{"", r.slack.responseURLFor("expired")} {
		ev := bot.Event{Kind: bot.EventCommand, Room: slackRoom(chanSecurity), Thread: thread, User: userRef(userAlice), ResponseURL: url}
		if _, err := r.adapter.ReplyPrivately(ctx, ev, bot.ToRoom(ev.Room, thread), msg); err != nil {
			t.Fatal(err)
		}
		p := r.slack.nextPost(t)
		if !p.Ephemeral || p.ResponseURL != "" || p.Channel != chanSecurity || p.User != userAlice || p.Thread != thread.ID {
			t.Errorf("response_url %q: answer = %+v, want chat.postEphemeral to alice in the thread", url, p)
		}
		if p.UnfurlLinks != "false" || p.UnfurlMedia != "false" {
			t.Errorf("untrusted answer unfurls: links %s media %s", p.UnfurlLinks, p.UnfurlMedia)
		}
	}
	if n := r.slack.count("response_url"); n != 1 {
		t.Errorf("%d response_url posts, want the one that expired", n)
	}

	// Destination.Only on a plain Send is ephemeral too.
	if _, err := r.adapter.Send(ctx, bot.Destination{Room: slackRoom(chanSecurity), Only: userRef(userAlice)}, bot.Text("just you")); err != nil {
		t.Fatal(err)
	}
	if p := r.slack.nextPost(t); !p.Ephemeral || p.User != userAlice {
		t.Errorf("Send with Only = %+v, want ephemeral to alice", p)
	}

	// In a DM the answer is an ordinary message: a DM is private already.
	dm := bot.Event{Kind: bot.EventCommand, Room: slackRoom("DUALICE"), User: userRef(userAlice), DM: true}
	if _, err := r.adapter.ReplyPrivately(ctx, dm, bot.ToUser(dm.User), bot.Text("hi")); err != nil {
		t.Fatal(err)
	}
	if p := r.slack.nextPost(t); p.Ephemeral || p.Channel != "DUALICE" {
		t.Errorf("answer in a DM = %+v, want a message in the DM", p)
	}
	r.slack.noPost(t)
}

// A button press carries its response_url, and a press of a button with a
// confirm dialog (Slack sends it only once confirmed) arrives Confirmed.
func TestButtonPressCarriesResponseURLAndConfirmation(t *testing.T) {
	var got = make(chan bot.Event, 2)
	r := newRig(t, rigOptions{setup: func(e *bot.Engine) {
		e.HandleAction(&bot.Action{Name: "report.reject", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request, value string) error {
			got <- req.Event
			return nil
		}})
	}})
	conn := r.slack.nextConn(t)
	r.ready()
	for i, tc := range []struct {
		actionID  string
		confirmed bool
	}{{"vigil:0c:report.reject", true}, {"vigil:1:report.reject", false}} {
		payload := buttonPayload(fmt.Sprintf("trig-%d", i), chanSecurity, userAlice, "1767603600.000001", "", tc.actionID, "R-1")
		payload["response_url"] = r.slack.responseURLFor("press")
		env := fmt.Sprintf("env-%d", i)
		conn.send(t, interactiveEnvelope(env, payload))
		conn.ack(t, env)
		select {
		case ev := <-got:
			if ev.Confirmed != tc.confirmed || ev.ResponseURL != r.slack.responseURLFor("press") || ev.Action != "report.reject" {
				t.Errorf("%s: event Confirmed=%v ResponseURL=%q Action=%q, want confirmed=%v and the response_url",
					tc.actionID, ev.Confirmed, ev.ResponseURL, ev.Action, tc.confirmed)
			}
		case <-time.After(wait):
			t.Fatalf("%s: the action did not run", tc.actionID)
		}
	}
}

// A button with Confirm is drawn with Slack's confirm dialog, its texts
// plain and within Slack's limits; its action_id marks it confirmed.
func TestConfirmDialogOnButton(t *testing.T) {
	long := strings.Repeat("Reject this report for good? ", 20)
	msg := bot.Message{Text: "VIG-2026-3", Buttons: []bot.Button{
		{Label: "Acknowledge", Action: "report.ack", Style: bot.ButtonPrimary},
		{Label: "Reject", Action: "report.reject", Style: bot.ButtonDanger, Value: "VIG-2026-3",
			Confirm: &bot.Confirm{Title: "Reject " + bot.AccountToken(userRef(userAlice), "Alice") + "'s report " + long, Text: long + "*really*"}},
		{Label: "Publish", Action: "incident.publish", Confirm: &bot.Confirm{Title: "Publish?", Text: "The write-up goes public.", Yes: "Publish", No: "Not yet"}},
	}}
	parts := render(msg)
	if len(parts) != 1 {
		t.Fatalf("%d parts", len(parts))
	}
	blocks := blocksJSON(t, parts[0])
	els := blocks[len(blocks)-1]["elements"].([]any)
	if c := els[0].(map[string]any)["confirm"]; c != nil {
		t.Errorf("a button without Confirm has a dialog: %v", c)
	}
	for i, want := range []struct{ yes, no, style string }{{"Confirm", "Cancel", "danger"}, {"Publish", "Not yet", ""}} {
		btn := els[i+1].(map[string]any)
		id, _ := btn["action_id"].(string)
		if action, confirmed, ok := parseActionID(id); !ok || !confirmed || action != msg.Buttons[i+1].Action {
			t.Errorf("action_id %q: want %s marked confirmed", id, msg.Buttons[i+1].Action)
		}
		c, _ := btn["confirm"].(map[string]any)
		if c == nil {
			t.Fatalf("button %d has no confirm dialog: %v", i+1, btn)
		}
		for key, limit := range map[string]int{"title": maxConfirmTitle, "text": maxConfirmText, "confirm": maxConfirmButton, "deny": maxConfirmButton} {
			obj, _ := c[key].(map[string]any)
			text, _ := obj["text"].(string)
			if obj["type"] != "plain_text" || text == "" || len([]rune(text)) > limit {
				t.Errorf("button %d: confirm %s = %v, want plain_text of 1..%d characters", i+1, key, obj, limit)
			}
			if strings.Contains(text, "<@") {
				t.Errorf("button %d: confirm %s shows a raw token: %q", i+1, key, text)
			}
		}
		if got := c["confirm"].(map[string]any)["text"]; got != want.yes {
			t.Errorf("button %d: confirm button %q, want %q", i+1, got, want.yes)
		}
		if got := c["deny"].(map[string]any)["text"]; got != want.no {
			t.Errorf("button %d: deny button %q, want %q", i+1, got, want.no)
		}
		if got, _ := c["style"].(string); got != want.style {
			t.Errorf("button %d: dialog style %q, want %q", i+1, got, want.style)
		}
	}
	if title := els[1].(map[string]any)["confirm"].(map[string]any)["title"].(map[string]any)["text"].(string); !strings.HasPrefix(title, "Reject Alice's report") {
		t.Errorf("dialog title %q, want the person's name for the token", title)
	}
}

// Person and time tokens in Vigil's own text: a Slack account is a real
// mention, another adapter's account its name, an instant a date token
// with the fallback; in plain_text (header, button) names and fallbacks.
// In an untrusted run a token is text and stays inert.
func TestTokensRenderedForSlack(t *testing.T) {
	at := time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)
	alice := bot.AccountToken(userRef(userAlice), "Alice")
	bob := bot.AccountToken(bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@bob:example.org"}, "Bob & co")
	when := bot.TimeToken(at, "Tue 8 Dec 2026 14:00 CET")
	msg := bot.Message{
		Header:  "Assigned to " + alice,
		Text:    fmt.Sprintf("%s acknowledged it at %s; %s is next. Reporter wrote: %s", alice, when, bob, bot.Untrusted("<@slack:UEVIL|Eve> <!time:1|x> <@UEVIL>")),
		Fields:  []bot.Field{{Label: "Assignee", Value: alice}},
		Buttons: []bot.Button{{Label: "Hand to " + bob, Action: "x"}},
		Context: "since " + when,
	}
	parts := render(msg)
	if len(parts) != 1 {
		t.Fatalf("%d parts", len(parts))
	}
	blocks := blocksJSON(t, parts[0])
	header := blocks[0]["text"].(map[string]any)["text"]
	section := blocks[1]["text"].(map[string]any)["text"].(string)
	field := blocks[2]["fields"].([]any)[0].(map[string]any)["text"].(string)
	button := blocks[3]["elements"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"]
	context := blocks[4]["elements"].([]any)[0].(map[string]any)["text"].(string)
	date := fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|Tue 8 Dec 2026 14:00 CET>", at.Unix())
	for name, c := range map[string]struct{ got, want string }{
		"header":  {fmt.Sprint(header), "Assigned to Alice"},
		"section": {section, "<@UALICE> acknowledged it at " + date + "; Bob &amp; co is next. Reporter wrote: &lt;@slack:UEVIL|Eve&gt; &lt;!time:1|x&gt; &lt;@UEVIL&gt;"},
		"field":   {field, "*Assignee*\n<@UALICE>"},
		"button":  {fmt.Sprint(button), "Hand to Bob & co"},
		"context": {context, "since " + date},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", name, c.got, c.want)
		}
	}
	if !strings.Contains(parts[0].text, "<@UALICE>") || !strings.Contains(parts[0].text, date) {
		t.Errorf("fallback text %q lacks the mention or the date", parts[0].text)
	}
	// Tokens that are not well formed, or name a Slack id that is not one,
	// are shown as text, escaped.
	odd := mrkdwnText("<@slack:not-an-id|Zed> <!time:soon|later> <@person:carol>")
	if odd != "Zed &lt;!time:soon|later&gt; carol" {
		t.Errorf("odd tokens = %q", odd)
	}
}

// Edit is chat.update of the message, with the blocks and text Send would
// post (same rendering and escaping); a message too long for one is cut
// to one, keeping its buttons.
func TestEditIsChatUpdate(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	ref, err := r.adapter.Send(ctx, bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), bot.Message{Text: "☐ acknowledge", Buttons: []bot.Button{{Label: "Ack", Action: "ack"}}})
	if err != nil {
		t.Fatal(err)
	}
	r.slack.nextPost(t)
	edited := bot.Message{Text: fmt.Sprintf("☑ acknowledged by %s: %s", bot.AccountToken(userRef(userAlice), "Alice"), bot.Untrusted("<!channel> *x*")), Context: "done"}
	if err := r.adapter.Edit(ctx, ref, edited); err != nil {
		t.Fatal(err)
	}
	p := r.slack.nextPost(t)
	want := render(edited)[0]
	if !p.Update || p.Channel != chanSecurity || p.TS != ref.ID || p.Text != want.text {
		t.Errorf("edit = %+v, want chat.update of %s with text %q", p, ref.ID, want.text)
	}
	gotJSON, _ := json.Marshal(p.Blocks)
	wantJSON, _ := json.Marshal(blocksJSON(t, want))
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("edit blocks\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if strings.Contains(string(gotJSON), "<!channel>") {
		t.Error("a channel ping survived the edit")
	}

	huge := bot.Message{Header: "VIG-1", Text: strings.Repeat("word ", 20000), Buttons: []bot.Button{{Label: "Close", Action: "close"}}}
	if err := r.adapter.Edit(ctx, ref, huge); err != nil {
		t.Fatal(err)
	}
	p = r.slack.nextPost(t)
	if !p.Update || len(p.Blocks) == 0 || p.Blocks[len(p.Blocks)-1]["type"] != "actions" || p.Blocks[0]["type"] != "header" {
		t.Errorf("a huge edit lost its header or buttons: %d blocks", len(p.Blocks))
	}
	r.slack.noPost(t)

	if err := r.adapter.Edit(ctx, bot.MessageRef{Room: slackRoom(chanSecurity), ID: "9.9"}, edited); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("edit of a missing message: %v, want message_not_found, rejected", err)
	}
}

// In the app's DM, "help" and command text with or without /sec run as
// commands; a step-by-step form running there still takes the answers.
func TestCommandsTypedInDM(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	dm := func(env, ts, text string) {
		conn.send(t, eventsEnvelope(env, "Ev"+env, map[string]any{"type": "message", "channel": "DUALICE", "channel_type": "im",
			"user": userAlice, "text": text, "ts": ts}))
		conn.ack(t, env)
	}
	for i, text := range []string{"help", "echo one", "/sec echo two", "sec echo three"} {
		dm(fmt.Sprintf("e%d", i), fmt.Sprintf("1767603600.00010%d", i), text)
		p := r.slack.nextPost(t)
		want := []string{"echo", "echo: one", "echo: two", "echo: three"}[i]
		if p.Channel != "DUALICE" || p.Ephemeral || !strings.Contains(p.Text, want) {
			t.Errorf("%q in the DM: answer %+v, want %q in the DM", text, p, want)
		}
	}
	// "report" starts a step-by-step form (no trigger in a DM message):
	// the next message is its answer, not a command.
	dm("f1", "1767603600.000200", "report")
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "Tell us what you found") {
		t.Fatalf("form intro = %q", p.Text)
	}
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "Title") {
		t.Fatalf("first question = %q", p.Text)
	}
	dm("f2", "1767603600.000201", "heap overflow in the parser")
	// The answered question is edited to show its answer (chat.update);
	// then the next question comes.
	if p := r.slack.nextPost(t); !p.Update || !strings.Contains(p.Text, "heap overflow in the parser") {
		t.Errorf("answered question: %+v, want it updated with the answer", p)
	}
	if p := r.slack.nextPost(t); strings.Contains(p.Text, "Unknown") || strings.Contains(p.Text, "did you mean") || !strings.Contains(p.Text, "Severity") {
		t.Errorf("answer to the form ran as a command: %q", p.Text)
	}
}

// Forms shown as modals: no step-by-step intro ("`cancel` stops"), and a
// max_length within Slack's limit on every text box.
func TestModalCopyAndMaxLength(t *testing.T) {
	r, conn, _ := socketRig(t, rigOptions{})
	conn.send(t, commandEnvelope("env-1", chanSecurity, userAlice, "report", "trig-1"))
	conn.ack(t, "env-1")
	view := r.slack.nextView(t)["view"].(map[string]any)
	raw, _ := json.Marshal(view)
	if strings.Contains(string(raw), "Tell us what you found") {
		t.Errorf("the modal shows the step-by-step intro: %s", raw)
	}
	inputs := 0
	for _, b := range view["blocks"].([]any) {
		el, _ := b.(map[string]any)["element"].(map[string]any)
		if el["type"] != "plain_text_input" {
			continue
		}
		inputs++
		if n, _ := el["max_length"].(float64); n <= 0 || n > 3000 {
			t.Errorf("input %v: max_length %v, want 1..3000", el["action_id"], el["max_length"])
		}
	}
	if inputs != 2 {
		t.Errorf("%d text inputs, want 2", inputs)
	}
	// The same for a form whose intro says how to stop step by step.
	m := modal(&bot.Form{ID: "f", Title: "New report", Intro: "Answer each question; `cancel` stops without saving.",
		Fields: []bot.FormField{{Name: "d", Label: "Description", Kind: bot.FieldLongText}}}, "{}")
	if raw, _ := json.Marshal(m); strings.Contains(string(raw), "cancel") {
		t.Errorf("modal says how to cancel step by step: %s", raw)
	}
}

// A report whose text is longer than a Slack message can hold: the first
// message in the room keeps the header, the beginning of the text, the
// fields and the buttons, and says the text goes on; the rest follows in
// order in its thread, in the same private channel, nothing lost.
func TestLongReportTextContinuesInThread(t *testing.T) {
	r, _, _ := socketRig(t, rigOptions{})
	ctx := context.Background()
	var text strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&text, "w%04d ", i)
		if i%50 == 49 {
			text.WriteString("\n\n")
		}
	}
	msg := bot.Message{Header: "VIG-2026-7: heap overflow", Text: fmt.Sprint(bot.Untrusted(text.String())),
		Fields:    []bot.Field{{Label: "State", Value: "new"}},
		Buttons:   []bot.Button{{Label: "Acknowledge", Action: "report.ack", Value: "VIG-2026-7"}},
		Sensitive: true}
	if err := r.engine.Post(ctx, "report-7", bot.ToRoom(slackRoom(chanSecurity), bot.ThreadRef{}), msg); err != nil {
		t.Fatal(err)
	}
	r.engine.Step(ctx)
	parts := render(msg)
	if len(parts) < 3 {
		t.Fatalf("the text renders as %d messages, want several", len(parts))
	}
	var words []string
	var root string
	for i := range parts {
		p := r.slack.nextPost(t)
		if p.Channel != chanSecurity || p.Ephemeral {
			t.Fatalf("part %d went to %+v", i+1, p)
		}
		var types []string
		for _, b := range p.Blocks {
			types = append(types, fmt.Sprint(b["type"]))
			if b["type"] == "section" {
				if txt, ok := b["text"].(map[string]any); ok {
					words = append(words, strings.Fields(decodeMrkdwn(fmt.Sprint(txt["text"])))...)
				}
			}
		}
		if i == 0 {
			root = p.TS
			got := strings.Join(types, ",")
			if p.Thread != "" || !strings.HasPrefix(got, "header,section") || !strings.HasSuffix(got, "context,section,actions") {
				t.Errorf("first message: thread %q, blocks %s; want top level: header, text, the note, fields, buttons", p.Thread, got)
			}
			if !strings.Contains(fmt.Sprint(p.Blocks), "continues in the thread") {
				t.Error("the first message does not say the text goes on in the thread")
			}
			continue
		}
		if p.Thread != root || strings.Contains(strings.Join(types, ","), "actions") {
			t.Errorf("part %d: thread %q, blocks %v; want only text, in the thread of %s", i+1, p.Thread, types, root)
		}
	}
	r.slack.noPost(t)
	if got, want := strings.Join(words, " "), strings.Join(strings.Fields(text.String()), " "); got != want {
		t.Errorf("the text read across the messages differs from the report's: %d words, want %d", len(words), len(strings.Fields(want)))
	}
}

// Vigil's tokens beside hostile text: the mention and the date are real,
// and every case of the corpus next to them stays as inert as alone.
func TestTokensBesideHostileText(t *testing.T) {
	at := time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)
	mention := "<@UALICE> "
	date := fmt.Sprintf(" <!date^%d^{date_short_pretty} {time}|8 Dec>", at.Unix())
	for _, c := range hostile.Load(t) {
		text := mrkdwnText(bot.AccountToken(userRef(userAlice), "Alice") + " " + bot.Untrusted(c.Text).String() + " " + bot.TimeToken(at, "8 Dec"))
		rest, ok := strings.CutPrefix(text, mention)
		if ok {
			rest, ok = strings.CutSuffix(rest, date)
		}
		if !ok {
			t.Errorf("%s: %q lacks the mention or the date", c.Name, text)
			continue
		}
		for _, p := range mrkdwnProblems(rest) {
			t.Errorf("%s: %s", c.Name, p)
		}
	}
}
