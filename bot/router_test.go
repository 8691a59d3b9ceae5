package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/store"
)

// echo registers a command that replies with what it received.
func echo(t *testing.T, h *bottest.Harness) {
	t.Helper()
	run := func(ctx context.Context, req *bot.Request) error {
		return req.Replyf(ctx, "ran %s args=%q from=%q now=%v", req.Command.Path(), req.Args, req.Flags.Get("from"), req.Flags.Has("now"))
	}
	err := h.Engine.Register(&bot.Command{
		Name: "duty", Summary: "Who is on duty", Usage: "[--weeks N]",
		Roles: []bot.Role{bot.RoleResponder}, MaxArgs: 0, Run: run,
		Flags: []bot.FlagSpec{{Name: "weeks", Value: "N", Help: "how many"}},
		Sub: []*bot.Command{
			{Name: "override", Summary: "Cover a span", Usage: "@person --from TIME", MinArgs: 1, MaxArgs: 1,
				Roles: []bot.Role{bot.RoleResponder}, Examples: []string{"duty override @bob --from mon"},
				Flags: []bot.FlagSpec{{Name: "from", Value: "TIME", Help: "start"}, {Name: "now", Bool: true, Help: "at once"}}, Run: run},
			{Name: "rotation", Summary: "Manage rotations", Sub: []*bot.Command{
				{Name: "create", Summary: "Create one", Usage: "NAME", MinArgs: 1, MaxArgs: 1, Roles: []bot.Role{bot.RoleAdmin}, Run: run},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = h.Engine.Register(&bot.Command{Name: "ping", Summary: "Anyone, anywhere", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error {
		return req.Replyf(ctx, "pong")
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func only(t *testing.T, sent []bottest.Sent) string {
	t.Helper()
	if len(sent) != 1 {
		t.Fatalf("want exactly one reply, got %d: %q", len(sent), bottest.Texts(sent))
	}
	return sent[0].Msg.PlainText()
}

func TestRouterDispatch(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	echo(t, h)
	tests := []struct {
		who, text, want string
	}{
		{"bob", "duty", `ran duty args=[]`},
		{"bob", `duty override @carol --from "mon 09:00" --now`, `ran duty override args=["@carol"] from="mon 09:00" now=true`},
		{"bob", `DUTY Override @carol`, `ran duty override args=["@carol"]`},
		{"alice", "duty rotation create triage", `ran duty rotation create args=["triage"]`},
	}
	for _, tt := range tests {
		if got := only(t, h.Command(tt.who, tt.text)); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: /sec %s\n got %q\nwant prefix %q", tt.who, tt.text, got, tt.want)
		}
	}
}

func TestRouterErrorsCarryUsage(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	echo(t, h)
	tests := []struct {
		who, text string
		want      []string
	}{
		{"bob", "dutty", []string{`Unknown command "dutty" (did you mean "duty"?)`, "/sec help"}},
		{"bob", "frobnicate", []string{`Unknown command "frobnicate". Try`}},
		{"bob", "duty override", []string{`"duty override" needs 1 argument`, "Usage: `/sec duty override @person --from TIME`", "/sec help duty override"}},
		{"bob", "duty override @a @b", []string{`takes 1 argument, got 2`}},
		{"bob", "duty extra", []string{`"duty" takes no arguments, got "extra"`}},
		{"bob", "duty --wekes 2", []string{"Unknown flag --wekes (did you mean --weeks?)", "Usage: `/sec duty [--weeks N]`"}},
		{"bob", `duty override "@carol`, []string{"never closed"}},
		{"bob", "duty rotation", []string{`"duty rotation" needs one of: create`}},
		{"bob", "duty rotation crate x", []string{`has no sub-command "crate" (did you mean "duty rotation create"?)`}},
		{"bob", "duty rotation create triage", []string{"Sorry, this needs the admin role."}},
		{"mallory", "duty", []string{"Sorry, this needs the responder role."}},
		{"stranger", "duty", []string{"not in Vigil's people directory"}},
	}
	for _, tt := range tests {
		got := only(t, h.Command(tt.who, tt.text))
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: /sec %s\n got %q\nwant it to contain %q", tt.who, tt.text, got, w)
			}
		}
		if strings.HasPrefix(got, "ran ") {
			t.Errorf("/sec %s ran despite the error", tt.text)
		}
	}
}

func TestPrivateOnlyCommandsStayInThePrivateRoom(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	echo(t, h)
	got := only(t, h.CommandIn(bottest.PublicRoom, "bob", "duty"))
	if !strings.Contains(got, "only in the private security room") || strings.HasPrefix(got, "ran") {
		t.Errorf("duty in a public room: %q", got)
	}
	if got := only(t, h.CommandIn(bottest.PublicRoom, "mallory", "ping")); got != "pong" {
		t.Errorf("an Anywhere command in a public room: %q", got)
	}
	// A DM with a team member counts as private...
	got = only(t, h.Event(bot.Event{Kind: bot.EventCommand, DM: true, Room: bot.RoomRef{Adapter: "test", ID: "D1"}, User: bot.UserRef{Adapter: "test", ID: "bob"}, Text: "duty"}))
	if !strings.HasPrefix(got, "ran duty") {
		t.Errorf("duty in a DM with a responder: %q", got)
	}
}

func TestHelp(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	echo(t, h)
	list := only(t, h.Command("mallory", "help"))
	for _, w := range []string{"`/sec duty` — Who is on duty", "`/sec help` — List the commands", "`/sec ping` — Anyone, anywhere", "/sec help VERB"} {
		if !strings.Contains(list, w) {
			t.Errorf("help list lacks %q:\n%s", w, list)
		}
	}
	if got := only(t, h.Command("mallory", "")); got != list {
		t.Errorf("a bare /sec should show the help list, got %q", got)
	}
	detail := only(t, h.Command("bob", "help duty override"))
	for _, w := range []string{"Usage: `/sec duty override @person --from TIME`", "`--from TIME` — start", "`--now` — at once", "`/sec duty override @bob --from mon`"} {
		if !strings.Contains(detail, w) {
			t.Errorf("help duty override lacks %q:\n%s", w, detail)
		}
	}
	group := only(t, h.Command("bob", "help duty"))
	if !strings.Contains(group, "`/sec duty override` — Cover a span") || !strings.Contains(group, "`/sec duty rotation` — Manage rotations") {
		t.Errorf("help duty does not list sub-commands:\n%s", group)
	}
	if got := only(t, h.Command("bob", "help nope")); !strings.Contains(got, `Unknown command "nope"`) {
		t.Errorf("help for an unknown verb: %q", got)
	}
}

// An example is the command line after the prefix (help adds the prefix):
// one that repeats a prefix, or names another command, is refused when the
// command is registered, with the reason.
func TestExamplesAreCheckedAtRegistration(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	run := func(context.Context, *bot.Request) error { return nil }
	for _, ex := range []string{`/sec incident start "x"`, `start "x"`, `incident "unclosed`} {
		err := h.Engine.Register(&bot.Command{Name: "incident", Sub: []*bot.Command{
			{Name: "start", Usage: "TITLE", MinArgs: 1, MaxArgs: 1, Examples: []string{ex}, Run: run},
		}})
		if err == nil || !strings.Contains(err.Error(), `must start with "incident start" and no prefix`) {
			t.Errorf("example %q: registered (err %v)", ex, err)
		}
	}
	if err := h.Engine.Register(&bot.Command{Name: "incident", Sub: []*bot.Command{
		{Name: "start", Usage: "TITLE", MinArgs: 1, MaxArgs: 1, Examples: []string{`INCIDENT start "x"`}, Run: run},
	}}); err != nil {
		t.Errorf("a good example refused: %v", err)
	}
}

// DryRun resolves a line as the router would before running it, and runs
// nothing: the command reached, or the usage error a person would get.
func TestDryRun(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ran := 0
	err := h.Engine.Register(&bot.Command{Name: "duty", MaxArgs: 0, Run: func(context.Context, *bot.Request) error { ran++; return nil },
		Sub: []*bot.Command{{Name: "override", Usage: "@person --from TIME", MinArgs: 1, MaxArgs: 1,
			Flags: []bot.FlagSpec{{Name: "from", Value: "TIME"}},
			Run:   func(context.Context, *bot.Request) error { ran++; return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	r := h.Engine.Router()
	if c, err := r.DryRun(`duty override @bob --from "mon 09:00"`); err != nil || c.Path() != "duty override" {
		t.Errorf("dry run: %v, %v", c, err)
	}
	for line, want := range map[string]string{
		"duty override @bob --to mon": "unknown flag",
		"duty override":               "needs 1 argument",
		"duty extra":                  "takes no arguments",
		"/sec duty":                   "unknown command",
		`duty override "@bob`:         "quote",
	} {
		if _, err := r.DryRun(line); err == nil || !strings.Contains(strings.ToLower(err.Error()), want) {
			t.Errorf("dry run of %q: %v, want an error with %q", line, err, want)
		}
	}
	if ran != 0 {
		t.Errorf("a dry run ran the command %d times", ran)
	}
}

func TestReplyRespectsThePrivacyRule(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	secret := "CVE details: SQL injection in /login"
	err := h.Engine.Register(&bot.Command{Name: "show", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Reply(ctx, bot.Message{Text: secret, Sensitive: true})
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := only(t, h.Command("bob", "show")); got != secret {
		t.Errorf("in the private room: %q", got)
	}
	got := only(t, h.CommandIn(bottest.PublicRoom, "bob", "show"))
	if strings.Contains(got, "SQL") || !strings.Contains(got, "only shown in the private security room") {
		t.Errorf("in a public room the reply leaked or said nothing useful: %q", got)
	}
	h.Engine.DemoteRoom(bottest.Room, "channel is public")
	if got := only(t, h.Command("bob", "show")); strings.Contains(got, "SQL") {
		t.Errorf("a demoted room still got the detail: %q", got)
	}
}

func TestPostedSensitiveDMsGoOnlyToAuthorizedPeople(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	msg := bot.Message{Text: "report VIG-1 details", Sensitive: true}
	dm := func(name string) bot.Destination { return bot.ToUser(bot.UserRef{Adapter: "test", ID: name}) }
	for _, to := range []string{"bob", "mallory", "carol", "stranger"} {
		if err := h.Engine.Post(ctx, "to-"+to, dm(to), msg); err != nil {
			t.Fatal(err)
		}
	}
	withAudience := msg
	withAudience.Audience = []string{"carol"}
	if err := h.Engine.Post(ctx, "to-carol-named", dm("carol"), withAudience); err != nil {
		t.Fatal(err)
	}
	sent := h.Advance(0)
	var got []string
	notices := 0
	for _, s := range sent {
		if !s.To.IsDM() {
			// The team is told in the private room, without the details.
			notices++
			if strings.Contains(bottest.Joined([]bottest.Sent{s}), "VIG-1 details") {
				t.Errorf("the dead-letter notice repeats the refused content: %q", s.Msg.Plain())
			}
			continue
		}
		got = append(got, s.To.DM.ID)
	}
	if notices != 3 {
		t.Errorf("the team was told of %d refused messages in the private room, want 3", notices)
	}
	if strings.Join(got, ",") != "bob,carol" {
		t.Errorf("sensitive DMs went to %v, want bob (team) and carol (named audience) only", got)
	}
	entries, err := h.Engine.Audit().Last(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range entries {
		if e.Action == "outbox.dead_letter" {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("want 3 refusals in the audit log (mallory, carol unnamed, stranger), got %d", refused)
	}
}

// downStore fails every operation as an unreachable Redis would.
type downStore struct{ store.Store }

func (downStore) Get(context.Context, string, string) (store.Doc, error) {
	return store.Doc{}, store.ErrUnavailable
}
func (downStore) Put(context.Context, string, string, []byte, int64) (int64, error) {
	return 0, store.ErrUnavailable
}
func (downStore) MarkSeen(context.Context, string, time.Time, time.Duration) (bool, error) {
	return false, store.ErrUnavailable
}
func (downStore) Apply(context.Context, ...store.Op) ([]int64, error) {
	return nil, store.ErrUnavailable
}
func (downStore) Incr(context.Context, string) (int64, error) {
	return 0, store.ErrUnavailable
}

func TestStoreOutageGetsAClearReply(t *testing.T) {
	st := downStore{bottest.OpenStore(t)}
	h := bottest.New(t, bottest.Options{Store: st})
	err := h.Engine.Register(&bot.Command{Name: "save", Run: func(ctx context.Context, req *bot.Request) error {
		if _, err := req.Engine().Store().Put(ctx, "things", "x", []byte("1"), store.NewDoc); err != nil {
			return fmt.Errorf("save thing: %w", err)
		}
		return req.Replyf(ctx, "saved")
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := only(t, h.Command("bob", "save"))
	if !strings.Contains(got, "store is unavailable right now, so nothing was changed") {
		t.Errorf("reply during an outage: %q", got)
	}
}
