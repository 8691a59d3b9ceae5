package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

func editRoot(t *testing.T, h *bottest.Harness, rootID, text string) {
	t.Helper()
	if err := h.Engine.EditRoot(context.Background(), rootID, bot.Text(text)); err != nil {
		t.Fatalf("edit %s: %v", rootID, err)
	}
}

func editTexts(edits []bottest.Edited) []string {
	out := make([]string, len(edits))
	for i, e := range edits {
		out[i] = e.Ref.ID + "=" + e.Msg.Text
	}
	return out
}

// Issue 16: an edit of a root waits until the root is posted, and edits
// queued meanwhile leave as one, the last version.
func TestEditRootWaitsForItsRootAndKeepsTheLastVersion(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	o := &outage{down: true, err: fmt.Errorf("chat: %w", bot.ErrUnavailable), clock: h.Clock}
	h.Chat.Fail = o.fail
	if err := h.Engine.PostRoot(ctx, "root-1", bot.ToSecurityRoom(), bot.Text("v0")); err != nil {
		t.Fatal(err)
	}
	editRoot(t, h, "root-1", "v1")
	h.Advance(time.Minute)
	editRoot(t, h, "root-1", "v2")
	h.Advance(time.Minute)
	if edits := h.Chat.TakeEdits(); len(edits) != 0 {
		t.Fatalf("edited before the root was posted: %q", editTexts(edits))
	}
	o.set(false)
	sent := h.Advance(10 * time.Minute)
	if len(sent) != 1 || sent[0].Msg.Text != "v0" {
		t.Fatalf("sent %q; want the root once", bottest.Texts(sent))
	}
	if got := editTexts(h.Chat.TakeEdits()); len(got) != 1 || got[0] != "t1=v2" {
		t.Fatalf("edits %q; want one, the last version, of the root t1", got)
	}
	// No sent record stands in the way of the next change.
	editRoot(t, h, "root-1", "v3")
	h.Advance(time.Second)
	if got := editTexts(h.Chat.TakeEdits()); len(got) != 1 || got[0] != "t1=v3" {
		t.Fatalf("a later edit: %q; want t1=v3", got)
	}
	if more := h.Advance(time.Hour); len(more) != 0 || len(h.Chat.TakeEdits()) != 0 {
		t.Fatalf("more went out later: %q", bottest.Texts(more))
	}
}

// lostAnswer loses the answer to the first edit of v1 (a timeout after
// the chat service took it, or a replica that died before forgetting it):
// the edit is in place, but the outbox does not know.
type lostAnswer struct {
	mu   sync.Mutex
	took []string
}

func (l *lostAnswer) fail(_ bot.Destination, m bot.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m.Text == "v1" && len(l.took) == 0 {
		l.took = append(l.took, m.Text)
		return fmt.Errorf("chat: %w", bot.ErrUnavailable)
	}
	return nil
}

// Issue 16: an edit whose outcome was lost is sent again; being the same
// version, the message shows what it showed.
func TestAnEditSentAgainAfterALostAnswerShowsTheSameVersion(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	if err := h.Engine.PostRoot(ctx, "root-1", bot.ToSecurityRoom(), bot.Text("v0")); err != nil {
		t.Fatal(err)
	}
	h.Advance(time.Second)
	l := &lostAnswer{}
	h.Chat.Fail = l.fail
	editRoot(t, h, "root-1", "v1")
	h.Advance(time.Hour)
	if got := editTexts(h.Chat.TakeEdits()); len(l.took) != 1 || len(got) != 1 || got[0] != "t1=v1" {
		t.Fatalf("edits %q after %d lost; want v1 sent again once, nothing else", got, len(l.took))
	}
}

// plainChat is an adapter that cannot edit.
type plainChat struct{ c *bottest.Chat }

func (p plainChat) Name() string { return p.c.Name() }
func (p plainChat) Send(ctx context.Context, to bot.Destination, m bot.Message) (bot.MessageRef, error) {
	return p.c.Send(ctx, to, m)
}

// Issue 16: an adapter without an Editor keeps its messages as they were,
// and nothing else is sent in their place.
func TestEditWithoutAnEditorChangesNothing(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	h.Engine.AddAdapter(plainChat{h.Chat})
	if err := h.Engine.PostRoot(ctx, "root-1", bot.ToSecurityRoom(), bot.Text("v0")); err != nil {
		t.Fatal(err)
	}
	h.Advance(time.Second)
	editRoot(t, h, "root-1", "v1")
	if sent := h.Advance(time.Hour); len(sent) != 0 || len(h.Chat.TakeEdits()) != 0 {
		t.Fatalf("sent %q for an edit the adapter cannot make", bottest.Texts(sent))
	}
	if err := h.Engine.Edit(ctx, bot.MessageRef{Room: bottest.Room, ID: "t1"}, bot.Text("v2")); err != nil {
		t.Fatalf("Edit without an editor: %v; want nil", err)
	}
}

// Issue 16: a press updates the message its button sat on, and its one
// answer goes to that message's thread, not to the top of the room.
func TestAPressUpdatesItsMessageAndAnswersInItsThread(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	h.Engine.HandleAction(&bot.Action{Name: "test.tick", Roles: []bot.Role{bot.RoleResponder}, Run: func(ctx context.Context, req *bot.Request, v string) error {
		if err := req.Update(ctx, bot.Text("☑ "+v)); err != nil {
			return err
		}
		return req.Replyf(ctx, "ticked %s", v)
	}})
	summary := bot.MessageRef{Room: bottest.Room, ID: "m42"}
	sent := h.PressOn("bob", summary, bot.Button{Action: "test.tick", Value: "verify"})
	if len(sent) != 1 || sent[0].To.Thread.ID != "m42" || sent[0].Msg.Text != "ticked verify" {
		t.Fatalf("answers %+v; want one, in the thread of m42", sent)
	}
	if got := editTexts(h.Chat.TakeEdits()); len(got) != 1 || got[0] != "m42=☑ verify" {
		t.Fatalf("edits %q; want m42 updated once", got)
	}
}

func confirmedAction(runs *[]string) *bot.Action {
	return &bot.Action{
		Name:  "test.reject",
		Roles: []bot.Role{bot.RoleResponder},
		Run: func(ctx context.Context, req *bot.Request, v string) error {
			*runs = append(*runs, req.Actor()+":"+v)
			return req.Replyf(ctx, "%s rejected", v)
		},
		Confirm: func(v string) bot.Confirm {
			return bot.Confirm{Title: "Reject " + v + "?", Text: "The reporter is told."}
		},
	}
}

// Issue 16: a confirmed action's buttons carry the question, so a platform
// with confirm dialogs asks; its press arrives confirmed and runs at once.
func TestAConfirmedActionIsAskedNativelyWhereThePlatformCan(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	var runs []string
	h.Engine.HandleAction(confirmedAction(&runs))
	ctx := context.Background()
	if err := h.Engine.Post(ctx, "m", roomDest, bot.Message{Text: "VIG-1", Buttons: []bot.Button{{Label: "Reject", Action: "test.reject", Value: "VIG-1"}, {Label: "Other", Action: "test.other"}}}); err != nil {
		t.Fatal(err)
	}
	sent := h.Advance(time.Second)
	if len(sent) != 1 {
		t.Fatalf("sent %d messages", len(sent))
	}
	b := sent[0].Msg.Buttons
	if b[0].Confirm == nil || b[0].Confirm.Title != "Reject VIG-1?" || b[1].Confirm != nil {
		t.Fatalf("buttons %+v; want the question on Reject only", b)
	}
	sent = h.Event(bot.Event{Kind: bot.EventButton, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: "bob"}, Action: "test.reject", Value: "VIG-1", Confirmed: true})
	if len(runs) != 1 || bottest.Joined(sent) != "VIG-1 rejected" {
		t.Fatalf("runs %q, answers %q; want it run once without asking", runs, bottest.Texts(sent))
	}
}

// Issue 16: elsewhere the engine asks; "yes" within five minutes runs the
// action once, anything else or a late answer does not.
func TestAConfirmedActionAsksForYesElsewhere(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	var runs []string
	h.Engine.HandleAction(confirmedAction(&runs))
	reject := bot.Button{Action: "test.reject", Value: "VIG-1"}

	asked := bottest.Joined(h.Press("bob", reject))
	bottest.InOrder(t, asked, "Reject VIG-1?", "The reporter is told.", "Reply `yes` within 5 minutes")
	if len(runs) != 0 {
		t.Fatalf("ran before the answer: %q", runs)
	}
	if got := bottest.Joined(h.Say("alice", "yes")); len(runs) != 0 {
		t.Fatalf("someone else's yes ran it (%q)", got)
	}
	if got := bottest.Joined(h.Say("bob", "Yes")); len(runs) != 1 || runs[0] != "bob:VIG-1" || got != "VIG-1 rejected" {
		t.Fatalf("after yes: runs %q, answer %q", runs, got)
	}
	h.Say("bob", "yes")
	if len(runs) != 1 {
		t.Fatalf("a second yes ran it again: %q", runs)
	}

	h.Press("bob", reject)
	if got := bottest.Joined(h.Say("bob", "hmm, no")); got != "Cancelled; nothing was done." {
		t.Fatalf("another answer: %q; want it cancelled", got)
	}
	h.Say("bob", "yes")
	if len(runs) != 1 {
		t.Fatalf("a yes after the cancel ran it: %q", runs)
	}

	h.Press("bob", reject)
	h.Advance(bot.ConfirmWindow + time.Second)
	h.Say("bob", "y")
	if len(runs) != 1 {
		t.Fatalf("a yes after five minutes ran it: %q", runs)
	}

	// Roles are checked at the press and again at the yes.
	if got := bottest.Joined(h.Press("mallory", reject)); len(runs) != 1 || got == "" {
		t.Fatalf("a stranger's press: runs %q, answer %q", runs, got)
	}
}

// Issue 16: the edit of a root that became a dead letter is dropped: it
// edits nothing and is not a dead letter of its own.
func TestAnEditOfADeadRootIsDropped(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	h.Chat.Fail = func(_ bot.Destination, m bot.Message) error {
		if m.Text == "v0" {
			return fmt.Errorf("chat: %w", bot.ErrRejected)
		}
		return nil
	}
	if err := h.Engine.PostRoot(ctx, "root-1", roomDest, bot.Text("v0")); err != nil {
		t.Fatal(err)
	}
	editRoot(t, h, "root-1", "v1")
	h.Advance(time.Hour)
	if edits := h.Chat.TakeEdits(); len(edits) != 0 {
		t.Errorf("edited a message never posted: %q", editTexts(edits))
	}
	dead, err := h.Engine.Outbox().DeadLetters(ctx)
	if err != nil || len(dead) != 1 || dead[0].ID != "root-1" {
		t.Errorf("dead letters %+v (%v); want the root only", dead, err)
	}
	if n, err := h.Engine.Outbox().Depth(ctx); err != nil || n != 0 {
		t.Errorf("%d conversations still wait (%v)", n, err)
	}
}
