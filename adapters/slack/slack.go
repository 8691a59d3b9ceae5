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
	"github.com/vigil-sec/vigil/internal/reconnect"
	"github.com/vigil-sec/vigil/internal/serial"
)

// Engine is what the adapter needs of bot.Engine.
type Engine interface {
	HandleEvent(ctx context.Context, ev bot.Event)
	OnMessage(fn func(context.Context, *bot.Request) error)
	SubmitForm(ctx context.Context, ev bot.Event, sessionID string, values bot.FormValues) (map[string]string, error)
	DemoteRoom(room bot.RoomRef, reason string)
	PromoteRoom(room bot.RoomRef)
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
	// Retry is the backoff, on the engine's clock, between tries to reach
	// Slack at start and between room checks that failed for a reason
	// that may pass (default 1s doubling to 1 min).
	Retry reconnect.Backoff
	// RecheckEvery is how often the security channels are checked again
	// for what no event told (default 5 min, on the engine's clock).
	RecheckEvery time.Duration
}

// Adapter is the Slack chat adapter.
type Adapter struct {
	engine        Engine
	api           *slack.Client
	httpClient    *http.Client // for response_url answers
	mode          Mode
	appToken      string
	signingSecret string
	command       string
	rooms         []string
	log           *slog.Logger
	clock         clock.Clock
	workingAfter  time.Duration
	submitWait    time.Duration
	retry         reconnect.Backoff
	recheckEvery  time.Duration
	serial        *serial.Queues
	// conn is the connection state /readyz reports: starting, waiting for
	// Slack (and why), Socket Mode up or reconnecting.
	conn *reconnect.State
	// gate lets events in once Run has checked the security channels,
	// under Run's context, and keeps them in order against shutdown.
	gate *reconnect.Gate
	// checkMu orders room checks, so an older answer never overwrites a
	// newer one.
	checkMu sync.Mutex

	mu sync.Mutex
	// rooms: the last verdict on each security channel ("" private), so
	// a change is logged once, not at every periodic check.
	verdicts map[string]string
	// nextRecheck is when the periodic room check runs next (tests wait
	// for it before moving the fake clock).
	nextRecheck time.Time
	botUserID   string
	dms         map[string]string    // user id -> DM channel id
	users       map[string]userEntry // user id -> users.info answer
	// partials: split messages in doubt found partly delivered, for the
	// Send that follows (see partialDelivery), by metadata id.
	partials map[string]partialDelivery
}

var (
	_ bot.Adapter             = (*Adapter)(nil)
	_ bot.FormPresenter       = (*Adapter)(nil)
	_ bot.Connector           = (*Adapter)(nil)
	_ bot.ConnectionExplainer = (*Adapter)(nil)
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
	if o.Retry.Min <= 0 {
		o.Retry = reconnect.DefaultBackoff
	}
	if o.RecheckEvery <= 0 {
		o.RecheckEvery = 5 * time.Minute
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
		httpClient:    o.HTTPClient,
		mode:          o.Mode,
		appToken:      o.AppToken,
		signingSecret: o.SigningSecret,
		command:       o.Command,
		rooms:         append([]string(nil), o.Rooms...),
		log:           o.Logger.With("adapter", bot.AdapterSlack),
		clock:         o.Engine.Clock(),
		workingAfter:  o.WorkingAfter,
		submitWait:    o.SubmitWait,
		retry:         o.Retry,
		recheckEvery:  o.RecheckEvery,
		serial:        serial.New(),
		conn:          reconnect.NewState(o.Engine.Clock()),
		verdicts:      map[string]string{},
		dms:           map[string]string{},
		users:         map[string]userEntry{},
		partials:      map[string]partialDelivery{},
	}
	a.gate = reconnect.NewGate(a.conn, a.serial)
	if o.Mode == ModeHTTP {
		a.mountHTTP(o.Engine.HTTP())
	}
	o.Engine.OnMessage(a.commandInDM)
	// Until Run has checked them, the security channels are not known to
	// be private: report details wait in the outbox rather than go to a
	// channel that may have been made public while Vigil was down.
	for _, id := range a.rooms {
		o.Engine.DemoteRoom(roomRef(id), "not checked yet: Vigil has not reached Slack")
	}
	return a, nil
}

// Started is closed once Run has checked the security channels and
// accepts events.
func (a *Adapter) Started() <-chan struct{} { return a.gate.Started() }

// Name is "slack".
func (a *Adapter) Name() string { return bot.AdapterSlack }

// Run connects: it checks the bot token (auth.test) and the security
// channels, then serves events until ctx ends. If Slack cannot be reached
// (a network error, a 5xx, a rate limit), Run does not fail: it logs once,
// reports the adapter as not ready with the reason, and tries again with
// backoff on the engine's clock while the rest of Vigil runs. A token
// Slack refuses (invalid_auth, not_authed, account_inactive,
// token_revoked...) ends Run with an error at once: retrying cannot fix
// it. In HTTP mode the routes are already mounted and Run only opens the
// gate; in socket mode it keeps the WebSocket (slack-go reconnects by
// itself after drops). On return, work already accepted is finished first.
func (a *Adapter) Run(ctx context.Context) error {
	auth, err := a.connect(ctx)
	if err != nil || auth == nil {
		return err
	}
	a.mu.Lock()
	a.botUserID = auth.UserID
	a.mu.Unlock()
	a.log.Info("connected to Slack", "team", auth.Team, "bot_user", auth.UserID, "mode", string(a.mode))
	failed := a.checkRooms(ctx)

	if a.mode == ModeSocket {
		a.conn.Down("connecting Socket Mode", "")
	} else {
		a.conn.Up()
	}
	a.gate.Open(ctx)
	defer a.gate.Close()
	// The periodic check stops with Run, also when Run ends on an error.
	a.gate.Go(func(ctx context.Context) { a.recheckRooms(ctx, failed) })
	if a.mode == ModeSocket {
		return a.runSocket(ctx)
	}
	<-ctx.Done()
	return nil
}

// connect calls auth.test until Slack answers. It returns nil, nil when
// ctx ends first, and an error only when Slack refused the token.
func (a *Adapter) connect(ctx context.Context) (*slack.AuthTestResponse, error) {
	var auth *slack.AuthTestResponse
	err := reconnect.Until(ctx, a.clock, a.conn, a.retry, a.log, "Slack", "connecting", func(ctx context.Context) error {
		r, err := a.api.AuthTestContext(ctx)
		if err == nil {
			auth = r
			return nil
		}
		cerr := classify("auth.test", err)
		if errors.Is(cerr, bot.ErrRejected) {
			return fmt.Errorf("slack: checking the bot token (auth.test): %w; check slack.bot_token", cerr)
		}
		t := &reconnect.Transient{Cause: "auth.test: " + cause(err)}
		if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			t.After = rl.RetryAfter
		}
		return t
	})
	if err != nil && ctx.Err() != nil {
		return nil, nil // stopped while waiting: no error to report
	}
	return auth, err
}

// cause says in a few words, without addresses, why a Slack call failed.
func cause(err error) string {
	fallback := "unexpected answer"
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		fallback = fmt.Sprintf("rate limited for %s", rl.RetryAfter)
	} else if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		fallback = fmt.Sprintf("HTTP %d", sc.Code)
	} else if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		fallback = se.Err
	}
	return reconnect.Cause(err, fallback)
}

// Connected reports whether Vigil can take Slack events now: started, and
// in Socket Mode with the WebSocket connected (/readyz, metrics).
func (a *Adapter) Connected() bool { return a.gate.Connected() }

// NotConnectedReason says why the adapter is not connected, for /readyz:
// "connecting (auth.test: connection refused), next try in 8s".
func (a *Adapter) NotConnectedReason() string { return a.gate.Reason() }

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
