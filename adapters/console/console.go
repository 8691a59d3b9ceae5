// Package console is the terminal chat adapter: the way to try Vigil
// locally and to script it. The terminal is the private security room; DMs
// are printed with their recipient. With a fake clock, ":advance 36h" runs
// weeks of process in seconds.
//
// The console does not create rooms (it is no bot.RoomCreator): it has one
// room, and every line typed goes there, so a "new room" would only be a
// label on printed messages that nothing typed could reach. Features that
// would create a room (incident start --room) say it is not available.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
)

// Engine is what the console needs of the engine.
type Engine interface {
	HandleEvent(ctx context.Context, ev bot.Event)
	Step(ctx context.Context)
	AdvanceTo(ctx context.Context, fake *clock.Fake, target time.Time) error
	Directory() *bot.Directory
	Clock() clock.Clock
}

// LineReader reads one line of input. The interactive terminal and plain
// standard input both provide one.
type LineReader interface {
	ReadLine() (string, error)
}

// Options configure the console.
type Options struct {
	Engine Engine
	// In is read line by line; Out receives everything printed. When
	// Terminal is set, it is used instead of both (prompt, editing, history).
	In       io.Reader
	Out      io.Writer
	Terminal Terminal
	// Color turns on ANSI colours (only on a terminal).
	Color bool
	// As is the person the console speaks as (directory name).
	As string
	// Fake is the fake clock for :advance; nil on the wall clock.
	Fake *clock.Fake
	// FilesDir is where the files of messages (Message.Files) are
	// written, created when the first one arrives; empty: they are
	// listed but not saved.
	FilesDir string
}

// Terminal is an interactive line editor (golang.org/x/term's Terminal).
type Terminal interface {
	ReadLine() (string, error)
	Write(p []byte) (int, error)
	SetPrompt(prompt string)
}

// Adapter is the console chat adapter.
type Adapter struct {
	engine Engine
	lines  LineReader
	out    io.Writer
	color  bool
	fake   *clock.Fake
	files  string

	mu       sync.Mutex
	as       bot.UserRef
	nextID   int
	lastBtns []bot.Button
	// btnsOn is the message lastBtns sit on (its id in sent), for the
	// press event and for an edit that removes them.
	btnsOn string
	// sent is where each message the console printed went, by id, so an
	// edit prints where the message did. Kept for the whole session (an
	// entry is a few words; the console is one person at a terminal), as a
	// chat keeps old messages editable.
	sent map[string]bot.Destination
	// recent are the last messages in the room, typed or printed, newest
	// last, for ":react N EMOJI" (and the typed ones for ":edit" and
	// ":delete").
	recent []recentMsg
}

// recentMsg is a message ":react" can name.
type recentMsg struct {
	ref    bot.MessageRef
	thread string
	text   string
	// typed is true for a line typed in the console (":edit" and
	// ":delete" change only those).
	typed bool
}

// maxRecent bounds the messages ":react" reaches back to.
const maxRecent = 50

// remember keeps a room message for ":react"; a.mu must be held.
func (a *Adapter) remember(m recentMsg) {
	a.recent = append(a.recent, m)
	if len(a.recent) > maxRecent {
		a.recent = a.recent[len(a.recent)-maxRecent:]
	}
}

var _ bot.Adapter = (*Adapter)(nil)

// New checks the options. It does no I/O.
func New(o Options) (*Adapter, error) {
	if o.Engine == nil {
		return nil, errors.New("console: an engine is required")
	}
	a := &Adapter{engine: o.Engine, color: o.Color, fake: o.Fake, files: o.FilesDir, sent: map[string]bot.Destination{}}
	switch {
	case o.Terminal != nil:
		a.lines, a.out = o.Terminal, o.Terminal
	case o.In != nil && o.Out != nil:
		sc := bufio.NewScanner(o.In)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		a.lines, a.out = &scannerReader{sc}, o.Out
	default:
		return nil, errors.New("console: needs a terminal, or both In and Out")
	}
	a.as = UserRef(o.As)
	return a, nil
}

// UserRef is the console account of a directory name.
func UserRef(name string) bot.UserRef {
	return bot.UserRef{Adapter: bot.AdapterConsole, ID: strings.TrimPrefix(name, "@")}
}

type scannerReader struct{ sc *bufio.Scanner }

func (s *scannerReader) ReadLine() (string, error) {
	if s.sc.Scan() {
		return s.sc.Text(), nil
	}
	if err := s.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// Name is "console".
func (a *Adapter) Name() string { return bot.AdapterConsole }

// Run reads lines until end of input or ctx ends. It returns nil at end of
// input, so a scripted session exits 0.
func (a *Adapter) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		line, err := a.lines.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("console: read: %w", err)
		}
		if quit := a.handleLine(ctx, line); quit {
			return nil
		}
	}
}

// handleLine handles one line of input and reports whether to quit.
func (a *Adapter) handleLine(ctx context.Context, line string) bool {
	line = strings.TrimSpace(line)
	switch {
	case line == "" || strings.HasPrefix(line, "#"):
		return false
	case strings.HasPrefix(line, ":"):
		return a.meta(ctx, line)
	}
	ev := bot.Event{Room: bot.ConsoleRoom, User: a.speaker(), Prefix: "/sec"}
	if text, ok := commandText(line); ok {
		ev.Kind, ev.Text = bot.EventCommand, text
	} else {
		ev.Kind, ev.Text = bot.EventMessage, line
		// Typed messages get ids as printed ones do, so a reaction can
		// name them (the war-room timeline keeps them by id).
		a.mu.Lock()
		a.nextID++
		ev.Message = bot.MessageRef{Room: bot.ConsoleRoom, ID: fmt.Sprintf("m%d", a.nextID)}
		a.remember(recentMsg{ref: ev.Message, text: line, typed: true})
		a.mu.Unlock()
	}
	a.dispatch(ctx, ev)
	return false
}

// commandText recognises "/sec ..." and "!sec ..." (and a bare "/sec").
func commandText(line string) (string, bool) {
	for _, p := range []string{"/sec", "!sec"} {
		if line == p {
			return "", true
		}
		if strings.HasPrefix(line, p+" ") {
			return strings.TrimSpace(line[len(p):]), true
		}
	}
	return "", false
}

func (a *Adapter) speaker() bot.UserRef {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.as
}

func (a *Adapter) dispatch(ctx context.Context, ev bot.Event) {
	a.engine.HandleEvent(ctx, ev)
	// Run whatever fell due meanwhile and deliver queued messages now, so
	// a script sees the effects of a line before the next one.
	a.engine.Step(ctx)
}

const metaHelp = `Console commands:
  /sec VERB ...     run a Vigil command (also !sec)
  :advance DUR|TIME move the fake clock (36h, 2d, 1w, 90m, or 2026-01-12T09:00:00Z) and run what falls due
  :now              show the clock
  :as NAME          speak as another person from the directory
  :press N          press button N of the last message with buttons
  :react N EMOJI    react to the N-th last message (1 = the last), e.g. :react 2 📌
  :edit N TEXT      edit the N-th last message typed here (1 = the last) to TEXT
  :delete N         delete the N-th last message typed here
  :help             this list
  :quit             leave (end of input does too)
Any other line is an ordinary message (answers to a form go here).`

func (a *Adapter) meta(ctx context.Context, line string) bool {
	word, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch word {
	case ":quit", ":exit", ":q":
		return true
	case ":help", ":h":
		a.printf("%s\n", metaHelp)
	case ":now":
		a.printf("%s\n", a.engine.Clock().Now().Format(time.RFC3339))
	case ":advance":
		a.advance(ctx, arg)
	case ":as":
		name := strings.TrimPrefix(arg, "@")
		if name == "" {
			a.printf("usage: :as NAME\n")
			break
		}
		if _, ok := a.engine.Directory().ByName(name); !ok {
			a.printf("note: %s is not in the people directory; speaking as a stranger\n", name)
		}
		a.mu.Lock()
		a.as = UserRef(name)
		a.mu.Unlock()
		a.printf("now speaking as %s\n", name)
	case ":press":
		a.press(ctx, arg)
	case ":react":
		a.react(ctx, arg)
	case ":edit":
		a.edit(ctx, arg)
	case ":delete":
		a.delete(ctx, arg)
	default:
		a.printf("unknown console command %s; try :help\n", word)
	}
	return false
}

func (a *Adapter) advance(ctx context.Context, arg string) {
	if a.fake == nil {
		a.printf("the clock is real; start with --clock TIME to rehearse with :advance\n")
		return
	}
	now := a.fake.Now()
	var target time.Time
	if t, err := time.Parse(time.RFC3339, arg); err == nil {
		target = t
	} else if d, err := ParseDuration(arg); err == nil {
		target = now.Add(d)
	} else {
		a.printf("usage: :advance DURATION|TIME (e.g. 36h, 2d, 1w2d, 2026-01-12T09:00:00Z): %v\n", err)
		return
	}
	if target.Before(now) {
		a.printf("the clock only moves forward (now %s)\n", now.Format(time.RFC3339))
		return
	}
	if err := a.engine.AdvanceTo(ctx, a.fake, target); err != nil {
		a.printf("advance stopped at %s: %v\n", a.fake.Now().Format(time.RFC3339), err)
		return
	}
	a.printf("⏱ %s\n", a.fake.Now().Format("Mon 2006-01-02 15:04 MST"))
}

func (a *Adapter) press(ctx context.Context, arg string) {
	a.mu.Lock()
	buttons, on := a.lastBtns, a.btnsOn
	to := a.sent[on]
	a.mu.Unlock()
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(buttons) {
		if len(buttons) == 0 {
			a.printf("there is no message with buttons now\n")
		} else {
			a.printf("usage: :press N, with N from 1 to %d\n", len(buttons))
		}
		return
	}
	b := buttons[n-1]
	// The event names the message the button sat on (and its thread), as
	// Slack's and Matrix's do, so the engine can edit that message.
	ev := bot.Event{
		Kind: bot.EventButton, Room: bot.ConsoleRoom, User: a.speaker(),
		Message: bot.MessageRef{Room: bot.ConsoleRoom, ID: on},
		Action:  b.Action, Value: b.Value, Prefix: "/sec",
	}
	if !to.IsDM() && !to.Thread.IsZero() {
		ev.Thread = bot.ThreadRef{Room: bot.ConsoleRoom, ID: to.Thread.ID}
	}
	a.dispatch(ctx, ev)
}

// react sends a reaction to one of the recent room messages. The event
// carries the message's text too: the console knows it, and a feature can
// then record a message of Vigil's own that it never saw as an event.
func (a *Adapter) react(ctx context.Context, arg string) {
	nArg, emoji, _ := strings.Cut(arg, " ")
	emoji = strings.TrimSpace(emoji)
	a.mu.Lock()
	recent := a.recent
	a.mu.Unlock()
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 1 || n > len(recent) || emoji == "" {
		a.printf("usage: :react N EMOJI, with N from 1 (the last message) to %d\n", len(recent))
		return
	}
	m := recent[len(recent)-n]
	ev := bot.Event{Kind: bot.EventReaction, Room: bot.ConsoleRoom, User: a.speaker(), Message: m.ref, Reaction: emoji, Text: m.text, Prefix: "/sec"}
	if m.thread != "" {
		ev.Thread = bot.ThreadRef{Room: bot.ConsoleRoom, ID: m.thread}
	}
	a.dispatch(ctx, ev)
}

// typedMessage finds the n-th last typed message (1 = the last) in recent.
// It returns its index, or -1 and how many typed messages there are.
func typedMessage(recent []recentMsg, nArg string) (int, int) {
	var typed []int
	for i, m := range recent {
		if m.typed {
			typed = append(typed, i)
		}
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 1 || n > len(typed) {
		return -1, len(typed)
	}
	return typed[len(typed)-n], len(typed)
}

// edit changes one of the recent typed messages, as a person edits a
// message in a chat client: the engine gets an EventEdit with the new text.
func (a *Adapter) edit(ctx context.Context, arg string) {
	nArg, text, _ := strings.Cut(arg, " ")
	text = strings.TrimSpace(text)
	a.mu.Lock()
	i, count := typedMessage(a.recent, nArg)
	var m recentMsg
	if i >= 0 && text != "" {
		a.recent[i].text = text
		m = a.recent[i]
	}
	a.mu.Unlock()
	if i < 0 || text == "" {
		a.printf("usage: :edit N TEXT, with N from 1 (the last message typed here) to %d\n", count)
		return
	}
	a.dispatch(ctx, bot.Event{Kind: bot.EventEdit, Room: bot.ConsoleRoom, User: a.speaker(), Message: m.ref, Text: text, Prefix: "/sec"})
}

// delete removes one of the recent typed messages: the engine gets an
// EventDelete, and ":react" can no longer name it.
func (a *Adapter) delete(ctx context.Context, arg string) {
	a.mu.Lock()
	i, count := typedMessage(a.recent, strings.TrimSpace(arg))
	var m recentMsg
	if i >= 0 {
		m = a.recent[i]
		a.recent = append(a.recent[:i:i], a.recent[i+1:]...)
	}
	a.mu.Unlock()
	if i < 0 {
		a.printf("usage: :delete N, with N from 1 (the last message typed here) to %d\n", count)
		return
	}
	a.dispatch(ctx, bot.Event{Kind: bot.EventDelete, Room: bot.ConsoleRoom, User: a.speaker(), Message: m.ref, Prefix: "/sec"})
}

var durationPart = regexp.MustCompile(`(\d+)(w|d|h|m|s)`)

// ParseDuration reads durations with weeks and days as well: "1w2d",
// "36h", "90m".
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("no duration given")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, errors.New("negative duration")
		}
		return d, nil
	}
	matches := durationPart.FindAllStringSubmatchIndex(s, -1)
	var total time.Duration
	pos := 0
	for _, m := range matches {
		if m[0] != pos {
			break
		}
		n, err := strconv.Atoi(s[m[2]:m[3]])
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}[s[m[4]:m[5]]]
		total += time.Duration(n) * unit
		pos = m[1]
	}
	if pos != len(s) || len(matches) == 0 {
		return 0, fmt.Errorf("duration %q: use a number with w, d, h, m or s, like 1w2d or 36h", s)
	}
	return total, nil
}

func (a *Adapter) printf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.out, format, args...)
}

// Send prints a message. The console accepts everything: it is its own
// private room and every DM is printed with its recipient.
func (a *Adapter) Send(_ context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	id := fmt.Sprintf("m%d", a.nextID)
	a.sent[id] = to
	if len(msg.Buttons) > 0 {
		a.lastBtns, a.btnsOn = msg.Buttons, id
	}
	if !to.IsDM() {
		a.remember(recentMsg{ref: bot.MessageRef{Room: bot.ConsoleRoom, ID: id}, thread: to.Thread.ID, text: msg.PlainText()})
	}
	fmt.Fprint(a.out, Render(to, msg, a.color))
	for _, f := range msg.Files {
		fmt.Fprint(a.out, a.saveFile(f))
	}
	return bot.MessageRef{Room: bot.ConsoleRoom, ID: id}, nil
}

// Edit prints the new version of a message the console printed, marked
// "(edited)", where the message went. Its buttons become the ones ":press"
// presses; an edit that takes the buttons off the message whose buttons
// those were leaves nothing to press. A message typed here, or an id the
// console never gave out, is an error naming the message.
func (a *Adapter) Edit(_ context.Context, ref bot.MessageRef, msg bot.Message) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	to, ok := a.sent[ref.ID]
	if !ok || ref.Room != bot.ConsoleRoom {
		return fmt.Errorf("console: edit message %s/%s: not a message the console printed", ref.Room, ref.ID)
	}
	switch {
	case len(msg.Buttons) > 0:
		a.lastBtns, a.btnsOn = msg.Buttons, ref.ID
	case a.btnsOn == ref.ID:
		a.lastBtns, a.btnsOn = nil, ""
	}
	for i := range a.recent {
		if a.recent[i].ref == ref {
			a.recent[i].text = msg.PlainText()
		}
	}
	fmt.Fprint(a.out, spans{{"(edited) ", styleDim}}.paint(a.color)+Render(to, msg, a.color))
	return nil
}
