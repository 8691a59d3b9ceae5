// Package matrix is Vigil's Matrix adapter, on mautrix-go. It syncs as one
// bot device, turns "!sec ..." messages, ordinary messages and reactions
// into bot.Events, and renders the engine's messages as m.notice events
// with an HTML body and a plain one, in the command's thread (m.thread).
//
// Security rooms on Matrix are end-to-end encrypted, so the adapter is too:
// mautrix's cryptohelper with the pure-Go goolm implementation (build tag
// goolm), its keys in a SQLite file (modernc, pure Go) under the data
// directory so the bot stays one stable device across restarts. A binary
// built without the tag refuses to start the adapter rather than talk in
// plain text (see crypto_goolm.go and crypto_nogoolm.go).
//
// Three rules shape it, as in the Slack adapter. Events of one conversation
// (room and thread) are handled one at a time, in order, while other
// conversations go on. The sync token is stored in Vigil's store only after
// a batch has been handled, so a restart neither replays nor skips commands.
// And the outbox is the one place that retries: Send only sorts the
// homeserver's errors into bot.ErrRateLimited (with bot.RetryAfterError for
// M_LIMIT_EXCEEDED's retry_after_ms), bot.ErrUnavailable and
// bot.ErrRejected; mautrix's own retries are turned off.
package matrix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/reconnect"
	"github.com/vigil-sec/vigil/internal/serial"
	"github.com/vigil-sec/vigil/store"
)

// Engine is what the adapter needs of bot.Engine.
type Engine interface {
	HandleEvent(ctx context.Context, ev bot.Event)
	DemoteRoom(room bot.RoomRef, reason string)
	PromoteRoom(room bot.RoomRef)
	Clock() clock.Clock
	Store() store.Store
	Directory() *bot.Directory
}

// Options configure the adapter.
type Options struct {
	Engine Engine
	// Homeserver is the client-server API's base URL.
	Homeserver string
	// UserID is the bot's account, @vigil:example.org.
	UserID string
	// Password logs in (the device id is then reused from the crypto
	// store); AccessToken is the alternative.
	Password    string
	AccessToken string
	// DeviceName is shown in people's device lists ("Vigil").
	DeviceName string
	// Prefix starts a command ("!sec").
	Prefix string
	// InviteServers: users of these servers may invite the bot even when
	// they are not in the directory.
	InviteServers []string
	// Rooms are the configured security rooms, checked at start-up.
	Rooms []string
	// DataDir holds the crypto store (crypto.db) and, without PickleKey,
	// the generated pickle key. Required.
	DataDir string
	// PickleKey encrypts the crypto store at rest; empty means a random key
	// kept in DataDir.
	PickleKey string
	Logger    *slog.Logger
	// HTTPClient for the homeserver; the default allows the 30 s sync long
	// poll plus a margin.
	HTTPClient *http.Client
	// Retry is the backoff, on the engine's clock, between tries to reach
	// the homeserver (at start, after a failed sync) and between room
	// checks that failed for a reason that may pass (default 1s doubling
	// to 1 min).
	Retry reconnect.Backoff
	// RecheckEvery is how often the security rooms are checked again for
	// what sync did not tell (default 5 min, on the engine's clock).
	RecheckEvery time.Duration
}

// Adapter is the Matrix chat adapter.
type Adapter struct {
	engine        Engine
	client        *mautrix.Client
	syncer        *syncer
	userID        id.UserID
	password      string
	deviceName    string
	prefix        string
	inviteServers map[string]bool
	rooms         []string
	dataDir       string
	pickleKey     string
	log           *slog.Logger
	serial        *serial.Queues
	retry         reconnect.Backoff
	recheckEvery  time.Duration
	// conn is the connection state /readyz reports.
	conn *reconnect.State
	// gate lets events and sends in once Run has checked the rooms, under
	// Run's context, and keeps queued events in order against shutdown.
	gate *reconnect.Gate
	// checkMu orders room checks, so an older answer never overwrites a
	// newer one.
	checkMu sync.Mutex

	mu      sync.Mutex
	batch   *[]bot.Event         // events of the sync batch being processed
	dms     map[id.UserID]string // person -> DM room
	dmRooms map[string]id.UserID // DM room -> person
	buttons map[id.EventID]buttonRecord
	// verdicts: the last verdict on each security room ("" private), so a
	// change is logged once.
	verdicts map[string]string
	// recheck: security rooms whose state changed in the sync batch being
	// processed, checked again once the batch is in the state store.
	recheck map[string]bool
	// nextRecheck is when the periodic room check runs next (tests).
	nextRecheck time.Time
}

var (
	_ bot.Adapter             = (*Adapter)(nil)
	_ bot.Connector           = (*Adapter)(nil)
	_ bot.ConnectionExplainer = (*Adapter)(nil)
)

// ErrNoCrypto is returned by New in a binary built without the goolm tag:
// a security bot must not fall back to unencrypted rooms.
var ErrNoCrypto = errors.New("this binary was built without end-to-end encryption; build it with -tags goolm")

// New checks the options and builds the client. It does no I/O.
func New(o Options) (*Adapter, error) {
	var problems []error
	if !cryptoBuilt {
		problems = append(problems, ErrNoCrypto)
	}
	if o.Engine == nil {
		problems = append(problems, errors.New("an engine is required"))
	}
	if u, err := url.Parse(o.Homeserver); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Errorf("homeserver %q is not an http(s) URL", o.Homeserver))
	}
	uid := id.UserID(o.UserID)
	if _, _, err := uid.Parse(); err != nil || o.UserID == "" {
		problems = append(problems, fmt.Errorf("user id %q: want @name:server", o.UserID))
	}
	if (o.Password == "") == (o.AccessToken == "") {
		problems = append(problems, errors.New("give a password or an access token (one of them)"))
	}
	if o.DataDir == "" {
		problems = append(problems, errors.New("a data directory is required for the crypto store"))
	}
	if o.Prefix == "" {
		o.Prefix = "!sec"
	}
	if strings.ContainsAny(o.Prefix, " \t\n") {
		problems = append(problems, fmt.Errorf("prefix %q must be one word", o.Prefix))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("matrix: %w", errors.Join(problems...))
	}
	if o.DeviceName == "" {
		o.DeviceName = "Vigil"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Retry.Min <= 0 {
		o.Retry = reconnect.DefaultBackoff
	}
	if o.RecheckEvery <= 0 {
		o.RecheckEvery = 5 * time.Minute
	}
	cli, err := mautrix.NewClient(o.Homeserver, uid, o.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	cli.Client = o.HTTPClient
	// The outbox is the one retrier; mautrix would otherwise sleep and
	// retry inside Send, out of the engine's sight.
	cli.DefaultHTTPRetries = 0
	cli.UserAgent = "Vigil (mautrix-go)"
	a := &Adapter{
		engine:        o.Engine,
		client:        cli,
		userID:        uid,
		password:      o.Password,
		deviceName:    o.DeviceName,
		prefix:        o.Prefix,
		inviteServers: map[string]bool{},
		rooms:         append([]string(nil), o.Rooms...),
		dataDir:       o.DataDir,
		pickleKey:     o.PickleKey,
		log:           o.Logger.With("adapter", bot.AdapterMatrix),
		serial:        serial.New(),
		dms:           map[id.UserID]string{},
		dmRooms:       map[string]id.UserID{},
		buttons:       map[id.EventID]buttonRecord{},
		retry:         o.Retry,
		recheckEvery:  o.RecheckEvery,
		conn:          reconnect.NewState(o.Engine.Clock()),
		verdicts:      map[string]string{},
		recheck:       map[string]bool{},
	}
	a.gate = reconnect.NewGate(a.conn, a.serial)
	// Until Run has checked them, the security rooms are not known to be
	// private and encrypted: report details wait in the outbox.
	for _, r := range a.rooms {
		o.Engine.DemoteRoom(roomRef(r), "not checked yet: Vigil has not reached the homeserver")
	}
	for _, s := range o.InviteServers {
		a.inviteServers[strings.ToLower(s)] = true
	}
	a.syncer = newSyncer(a)
	cli.Syncer = a.syncer
	cli.Store = &syncStore{a: a}
	return a, nil
}

// Name is "matrix".
func (a *Adapter) Name() string { return bot.AdapterMatrix }

// Started is closed once Run has logged in, checked the security rooms and
// begun syncing.
func (a *Adapter) Started() <-chan struct{} { return a.gate.Started() }

// UserID is the bot's account.
func (a *Adapter) UserID() string { return string(a.userID) }

// DeviceID is the bot's device (known once Run has logged in).
func (a *Adapter) DeviceID() string { return string(a.client.DeviceID) }

// Run logs in (reusing the stored device), sets up end-to-end encryption,
// checks the security rooms, then syncs until ctx ends. A homeserver that
// cannot be reached (a network error, a 5xx, a rate limit) does not stop
// Vigil: Run logs once, reports the adapter as not ready with the reason,
// and tries again with backoff on the engine's clock. A login the
// homeserver refuses (M_FORBIDDEN, M_UNKNOWN_TOKEN, any other 4xx) or a
// crypto store that cannot be opened ends Run with an error at once. On
// return, work already accepted is finished first.
func (a *Adapter) Run(ctx context.Context) error {
	closeCrypto, err := a.connect(ctx)
	if err != nil || closeCrypto == nil {
		return err
	}
	defer func() {
		if err := closeCrypto(); err != nil {
			a.log.Warn("closing the crypto store", "err", err)
		}
	}()
	a.log.Info("connected to Matrix", "user", a.userID, "device", a.client.DeviceID)
	if err := a.loadDMs(ctx); err != nil {
		return fmt.Errorf("matrix: %w", err)
	}
	failed := a.checkRooms(ctx, true)

	a.conn.Down("syncing", "")
	a.gate.Open(ctx)
	defer a.gate.Close()
	a.gate.Go(func(ctx context.Context) { a.recheckRooms(ctx, failed) })
	return a.syncLoop(ctx)
}

// connect logs in and sets up encryption, trying again while the
// homeserver cannot be reached. It returns nil, nil when ctx ends first.
func (a *Adapter) connect(ctx context.Context) (func() error, error) {
	var closeCrypto func() error
	err := reconnect.Until(ctx, a.engine.Clock(), a.conn, a.retry, a.log, "the homeserver", "connecting", func(ctx context.Context) error {
		c, err := a.setupCrypto(ctx)
		if err == nil {
			closeCrypto = c
			return nil
		}
		if !mayPass(err) {
			return fmt.Errorf("matrix: %w", classify("log in and set up encryption", err))
		}
		return &reconnect.Transient{Cause: "login: " + cause(err), After: retryAfterOf(err)}
	})
	if err != nil && ctx.Err() != nil {
		return nil, nil // stopped while waiting: no error to report
	}
	return closeCrypto, err
}

// mayPass reports whether a failure to reach the homeserver may pass: no
// answer at all (network trouble, a timeout), a 5xx or a rate limit. A
// refused login (4xx) and local trouble (the crypto store) do not.
func mayPass(err error) bool {
	if status := statusOf(err); status != 0 {
		return status >= 500 || status == http.StatusTooManyRequests
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return false
}

// statusOf is the HTTP status of a homeserver answer in err, or 0.
func statusOf(err error) int {
	if he, ok := errors.AsType[mautrix.HTTPError](err); ok && he.Response != nil {
		return he.Response.StatusCode
	}
	if he, ok := errors.AsType[*mautrix.HTTPError](err); ok && he.Response != nil {
		return he.Response.StatusCode
	}
	if re, ok := errors.AsType[mautrix.RespError](err); ok {
		return re.StatusCode
	}
	return 0
}

// retryAfterOf is the wait a rate limit asked for, or 0.
func retryAfterOf(err error) time.Duration {
	if ra, ok := errors.AsType[*bot.RetryAfterError](classify("", err)); ok {
		return ra.After
	}
	return 0
}

// cause says in a few words, without addresses, why a homeserver call
// failed.
func cause(err error) string {
	fallback := "unexpected answer"
	if status := statusOf(err); status != 0 {
		fallback = fmt.Sprintf("HTTP %d", status)
		if re, ok := errors.AsType[mautrix.RespError](err); ok && re.ErrCode != "" {
			fallback += " " + re.ErrCode
		}
	}
	return reconnect.Cause(err, fallback)
}

// Connected reports whether the adapter is logged in and its last sync
// worked (/readyz, metrics).
func (a *Adapter) Connected() bool { return a.gate.Connected() }

// NotConnectedReason says why the adapter is not connected, for /readyz:
// "connecting (login: connection refused), next try in 8s".
func (a *Adapter) NotConnectedReason() string { return a.gate.Reason() }

// syncLoop keeps syncing until ctx ends. A failed /sync, or a failure
// between syncs (creating the filter, storing the token after a batch),
// ends mautrix's loop (the syncer's OnFailedSync hands the error back
// rather than sleep on the wall clock); it is waited out here with backoff
// on the engine's clock, since a homeserver or store outage passes. Only a
// refused login stops the adapter.
func (a *Adapter) syncLoop(ctx context.Context) error {
	failures := 0
	for {
		err := a.client.SyncWithContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, mautrix.MUnknownToken) {
			return fmt.Errorf("matrix: the homeserver refused the bot's login: %w", err)
		}
		if a.conn.Connected() {
			failures = 0 // it worked since the last failure
		}
		failures++
		wait := a.retry.Wait(failures)
		why := "sync: " + cause(err)
		if failures == 1 {
			a.log.Warn("sync stopped; retrying", "err", classify("sync", err), "in", wait.String())
		} else {
			a.log.Debug("sync still failing", "cause", why, "attempt", failures, "in", wait.String())
		}
		armed := func() { a.conn.Retrying("reconnecting", why, a.engine.Clock().Now().Add(wait)) }
		if reconnect.Sleep(ctx, a.engine.Clock(), wait, armed) != nil {
			return nil
		}
	}
}

// classify sorts a homeserver error for the outbox: rate limits and
// outages may pass and are retried there; anything the homeserver refused
// for good is bot.ErrRejected. The adapter never retries by itself.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var status int
	var resp *mautrix.RespError
	var header http.Header
	if he, ok := errors.AsType[mautrix.HTTPError](err); ok {
		resp = he.RespError
		if he.Response != nil {
			status, header = he.Response.StatusCode, he.Response.Header
		}
	} else if he, ok := errors.AsType[*mautrix.HTTPError](err); ok {
		resp = he.RespError
		if he.Response != nil {
			status, header = he.Response.StatusCode, he.Response.Header
		}
	} else if re, ok := errors.AsType[mautrix.RespError](err); ok {
		resp, status = &re, re.StatusCode
	}
	code := ""
	if resp != nil {
		code = resp.ErrCode
		if status == 0 {
			status = resp.StatusCode
		}
	}
	switch {
	case code == "M_LIMIT_EXCEEDED" || status == http.StatusTooManyRequests:
		wrapped := fmt.Errorf("matrix %s: %w", op, bot.ErrRateLimited)
		if after := retryAfter(resp, header); after > 0 {
			return &bot.RetryAfterError{Err: wrapped, After: after}
		}
		return wrapped
	case status >= 500:
		return fmt.Errorf("matrix %s: HTTP %d: %w", op, status, bot.ErrUnavailable)
	case code == "M_UNKNOWN_TOKEN" || status == http.StatusUnauthorized:
		// Every send fails until an operator fixes the login; keeping the
		// messages queued loses nothing.
		return fmt.Errorf("matrix %s: the homeserver refused the bot's login (%s): %w", op, code, bot.ErrUnavailable)
	case status >= 400:
		return fmt.Errorf("matrix %s: HTTP %d %s: %w", op, status, code, bot.ErrRejected)
	}
	// Network trouble, timeouts, a cancelled context: try again later.
	return fmt.Errorf("matrix %s: %v: %w", op, err, bot.ErrUnavailable)
}

// retryAfter reads M_LIMIT_EXCEEDED's retry_after_ms, or a Retry-After
// header in seconds.
func retryAfter(resp *mautrix.RespError, h http.Header) time.Duration {
	if resp != nil {
		switch v := resp.ExtraData["retry_after_ms"].(type) {
		case float64:
			return time.Duration(v) * time.Millisecond
		case int:
			return time.Duration(v) * time.Millisecond
		}
	}
	if h != nil {
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}

func roomRef(room string) bot.RoomRef { return bot.RoomRef{Adapter: bot.AdapterMatrix, ID: room} }

func userRef(u id.UserID) bot.UserRef { return bot.UserRef{Adapter: bot.AdapterMatrix, ID: string(u)} }
