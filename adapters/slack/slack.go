// Package slack is Vigil's Slack adapter. It connects through Socket Mode
// (an outbound WebSocket, the default) or the HTTP Events API, turns slash
// commands, mentions, messages, reactions, button presses and modal
// submissions into bot.Events, and renders the engine's messages as Block
// Kit and its forms as modals.
//
// Two rules shape it. Slack wants every envelope, command and interaction
// acknowledged within three seconds, so the adapter acknowledges first and
// hands the work to a per-conversation queue (slack-go would otherwise run
// handlers in parallel, out of order). And the outbox is the one place that
// retries: Send only sorts Slack's errors into bot.ErrRateLimited,
// bot.ErrUnavailable and bot.ErrRejected, and never retries by itself.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/serial"
)

// Engine is what the adapter needs of bot.Engine.
type Engine interface {
	HandleEvent(ctx context.Context, ev bot.Event)
	SubmitForm(ctx context.Context, ev bot.Event, sessionID string, values bot.FormValues) (map[string]string, error)
	DemoteRoom(room bot.RoomRef, reason string)
	Clock() clock.Clock
	HTTP() *http.ServeMux
}

// Mode is how Slack reaches Vigil.
type Mode string

// The connection modes.
const (
	// ModeSocket is Socket Mode: Vigil dials out, no public URL needed.
	ModeSocket Mode = "socket"
	// ModeHTTP is the Events API: Slack posts to routes on the engine's mux.
	ModeHTTP Mode = "http"
)

// HTTP routes mounted in ModeHTTP.
const (
	PathEvents       = "/slack/events"
	PathCommands     = "/slack/commands"
	PathInteractions = "/slack/interactions"
)

// Options configure the adapter.
type Options struct {
	Engine Engine
	Mode   Mode // default ModeSocket
	// BotToken (xoxb-) calls the Web API; AppToken (xapp-) opens the
	// Socket Mode connection; SigningSecret checks HTTP requests.
	BotToken      string
	AppToken      string
	SigningSecret string
	// Command is the slash command, "/sec" by default.
	Command string
	// APIURL replaces Slack's API (tests point it at slacktest).
	APIURL string
	// Rooms are the configured security channels, checked at start-up.
	Rooms  []string
	Logger *slog.Logger
	// HTTPClient for Web API calls; default has a 30s timeout.
	HTTPClient *http.Client
	// WorkingAfter is how long a command may run before the person gets a
	// "working on it" note (default 2s, on the engine's clock).
	WorkingAfter time.Duration
	// SubmitWait is how long a modal submission may take before Slack is
	// answered without inline errors (default 2.5s: Slack allows 3s).
	SubmitWait time.Duration
}

// Adapter is the Slack chat adapter.
type Adapter struct {
	engine        Engine
	api           *slack.Client
	mode          Mode
	appToken      string
	signingSecret string
	command       string
	rooms         []string
	log           *slog.Logger
	clock         clock.Clock
	workingAfter  time.Duration
	submitWait    time.Duration
	serial        *serial.Queues

	// started is closed once Run accepts events (after the room checks).
	started   chan struct{}
	startOnce sync.Once

	mu    sync.Mutex
	ready bool
	// socketUp tracks the Socket Mode connection for readiness; HTTP mode
	// has no connection of its own and is up while ready.
	socketUp  bool
	base      context.Context
	botUserID string
	dms       map[string]string    // user id -> DM channel id
	users     map[string]userEntry // user id -> users.info answer
}

var (
	_ bot.Adapter       = (*Adapter)(nil)
	_ bot.FormPresenter = (*Adapter)(nil)
)

// New checks the options and, in HTTP mode, mounts the routes on the
// engine's mux (so they exist before the listener serves). It does no I/O.
func New(o Options) (*Adapter, error) {
	var problems []error
	if o.Engine == nil {
		problems = append(problems, errors.New("an engine is required"))
	}
	if o.Mode == "" {
		o.Mode = ModeSocket
	}
	if o.BotToken == "" {
		problems = append(problems, errors.New("a bot token is required"))
	}
	switch o.Mode {
	case ModeSocket:
		if o.AppToken == "" {
			problems = append(problems, errors.New("socket mode needs an app-level token"))
		}
	case ModeHTTP:
		if o.SigningSecret == "" {
			problems = append(problems, errors.New("http mode needs the signing secret"))
		}
	default:
		problems = append(problems, fmt.Errorf("unknown mode %q (want socket or http)", o.Mode))
	}
	if o.Command == "" {
		o.Command = "/sec"
	}
	if !strings.HasPrefix(o.Command, "/") {
		problems = append(problems, fmt.Errorf("command %q must start with /", o.Command))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("slack: %w", errors.Join(problems...))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.WorkingAfter <= 0 {
		o.WorkingAfter = 2 * time.Second
	}
	if o.SubmitWait <= 0 {
		o.SubmitWait = 2500 * time.Millisecond
	}
	opts := []slack.Option{slack.OptionHTTPClient(o.HTTPClient)}
	if o.APIURL != "" {
		if !strings.HasSuffix(o.APIURL, "/") {
			o.APIURL += "/"
		}
		opts = append(opts, slack.OptionAPIURL(o.APIURL))
	}
	if o.Mode == ModeSocket {
		opts = append(opts, slack.OptionAppLevelToken(o.AppToken))
	}
	a := &Adapter{
		engine:        o.Engine,
		api:           slack.New(o.BotToken, opts...),
		mode:          o.Mode,
		appToken:      o.AppToken,
		signingSecret: o.SigningSecret,
		command:       o.Command,
		rooms:         append([]string(nil), o.Rooms...),
		log:           o.Logger.With("adapter", bot.AdapterSlack),
		clock:         o.Engine.Clock(),
		workingAfter:  o.WorkingAfter,
		submitWait:    o.SubmitWait,
		serial:        serial.New(),
		started:       make(chan struct{}),
		dms:           map[string]string{},
		users:         map[string]userEntry{},
	}
	if o.Mode == ModeHTTP {
		a.mountHTTP(o.Engine.HTTP())
	}
	return a, nil
}

// Started is closed once Run has checked the security channels and
// accepts events.
func (a *Adapter) Started() <-chan struct{} { return a.started }

// Name is "slack".
func (a *Adapter) Name() string { return bot.AdapterSlack }

// Run connects: it checks the bot token (auth.test) and the security
// channels, then serves events until ctx ends. In HTTP mode the routes are
// already mounted and Run only opens the gate; in socket mode it keeps the
// WebSocket (slack-go reconnects by itself after drops). On return, work
// already accepted is finished first.
func (a *Adapter) Run(ctx context.Context) error {
	auth, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack: checking the bot token (auth.test): %w", classify("auth.test", err))
	}
	a.mu.Lock()
	a.botUserID = auth.UserID
	a.mu.Unlock()
	a.log.Info("connected to Slack", "team", auth.Team, "bot_user", auth.UserID, "mode", string(a.mode))
	a.checkRooms(ctx)

	a.mu.Lock()
	a.ready, a.base = true, ctx
	a.mu.Unlock()
	a.startOnce.Do(func() { close(a.started) })
	defer func() {
		a.mu.Lock()
		a.ready = false
		a.mu.Unlock()
		a.serial.Wait()
	}()
	if a.mode == ModeSocket {
		return a.runSocket(ctx)
	}
	<-ctx.Done()
	return nil
}

// Connected reports whether Vigil can take Slack events now: started, and
// in Socket Mode with the WebSocket connected (/readyz, metrics).
func (a *Adapter) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mode == ModeSocket {
		return a.ready && a.socketUp
	}
	return a.ready
}

var _ bot.Connector = (*Adapter)(nil)

// checkRooms makes sure each configured security channel is private and
// that the bot is in it. A channel that fails is demoted in the engine, so
// report details are refused there rather than posted where outsiders (or
// nobody) can read them. A channel that cannot be checked at all is demoted
// too: failing closed is the safe side for a security bot.
func (a *Adapter) checkRooms(ctx context.Context) {
	for _, id := range a.rooms {
		room := bot.RoomRef{Adapter: bot.AdapterSlack, ID: id}
		ch, err := a.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
		var reason string
		switch {
		case err != nil:
			reason = fmt.Sprintf("Vigil could not look the channel up (%v); check the id in rooms.slack, invite the bot, and restart", err)
		case !ch.IsPrivate:
			reason = "it is a public channel; make a private channel the security channel"
		case !ch.IsMember:
			reason = "the bot is not a member; invite it with /invite @Vigil in the channel and restart"
		}
		if reason != "" {
			a.log.Error("security channel refused: sensitive content will not be posted there", "channel", id, "reason", reason)
			a.engine.DemoteRoom(room, reason)
			continue
		}
		a.log.Info("security channel is private and the bot is a member", "channel", id, "name", ch.Name)
	}
}

// botUser is the bot's own user id (known after auth.test).
func (a *Adapter) botUser() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.botUserID
}

// classify sorts a Slack error for the outbox: rate limits and outages may
// pass and are retried there; anything Slack refused for good is
// bot.ErrRejected. The adapter never retries by itself.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return &bot.RetryAfterError{Err: fmt.Errorf("slack %s: %w", op, bot.ErrRateLimited), After: rl.RetryAfter}
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return fmt.Errorf("slack %s: %w", op, bot.ErrRateLimited)
		case sc.Code >= 500:
			return fmt.Errorf("slack %s: HTTP %d: %w", op, sc.Code, bot.ErrUnavailable)
		default:
			return fmt.Errorf("slack %s: HTTP %d: %w", op, sc.Code, bot.ErrRejected)
		}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		switch se.Err {
		case "ratelimited", "rate_limited":
			return fmt.Errorf("slack %s: %s: %w", op, se.Err, bot.ErrRateLimited)
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return fmt.Errorf("slack %s: %s: %w", op, se.Err, bot.ErrUnavailable)
		default:
			// channel_not_found, not_in_channel, msg_too_long,
			// invalid_blocks, invalid_auth...: retrying cannot help.
			return fmt.Errorf("slack %s: %s: %w", op, se.Err, bot.ErrRejected)
		}
	}
	// Network trouble, timeouts, a cancelled context: try again later.
	return fmt.Errorf("slack %s: %v: %w", op, err, bot.ErrUnavailable)
}
