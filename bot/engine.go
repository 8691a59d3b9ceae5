// Package bot is Vigil's chat-neutral engine: events in, messages out, with
// the router, forms, the persistent scheduler, the outbox, the privacy rule
// and the audit log. It knows no Slack, no Matrix and no Redis: adapters turn
// platform events into Events, and everything durable goes through the
// store.Store interface.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Adapter delivers messages to one chat platform. It is defined here, where
// it is used; adapters implement it.
type Adapter interface {
	// Name is the adapter's name as used in references ("slack").
	Name() string
	// Send delivers a message and returns a reference to it (its id is the
	// thread id for replies to it). Errors wrap ErrRateLimited,
	// ErrUnavailable or ErrRejected so the outbox can decide to retry.
	Send(ctx context.Context, to Destination, msg Message) (MessageRef, error)
}

// FormPresenter is implemented by adapters with native dialogs (Slack
// modals). Adapters without one get the engine's step-by-step conversation.
type FormPresenter interface {
	// PresentForm opens a dialog for the session in answer to ev (which
	// carries the adapter's Trigger). The adapter later calls
	// Engine.SubmitForm with the session id and the values.
	PresentForm(ctx context.Context, ev Event, s FormSession, f *Form) error
}

// Options configure an Engine. Store and Clock are required.
type Options struct {
	Store store.Store
	Clock clock.Clock
	// People is the directory from configuration; admins may extend it
	// in chat (stored edits are layered on top).
	People []Person
	// PrivateRooms are the rooms where report details may be shown.
	PrivateRooms []RoomRef
	Logger       *slog.Logger
	// Instance names this replica in leases; random when empty.
	Instance string
	// LeaseTTL is how long the scheduler lease lasts without renewal;
	// a killed leader is replaced after at most this long. Default 15s.
	LeaseTTL time.Duration
	// Tick is how often each background loop goes round: the jobs loop
	// takes or renews the lease and runs due jobs, the delivery loop
	// flushes the outbox (at once when a message is queued). Default 1s.
	Tick time.Duration
	// Observer receives measurements (metrics); none by default.
	Observer Observer
	// TeamZone is the zone times are shown in for rooms on adapters that
	// cannot show each reader their own (see resolveTokens); UTC when nil.
	TeamZone *time.Location

	// Delivery and job bounds (docs/DELIVERY.md); zero takes the default.
	//
	// SendTimeout bounds one adapter send (DefaultSendTimeout, 30s). A
	// message's send lease lasts twice this and a conversation claim four
	// times, so no other replica can take a message while it is sent.
	SendTimeout time.Duration
	// OutboxMaxAttempts: after this many refused tries a message is set
	// aside as a dead letter (DefaultOutboxMaxAttempts, 20). Tries that
	// could not reach the chat service do not count.
	OutboxMaxAttempts int
	// OutboxMaxAge: a message still failing this long after it was posted
	// is set aside (DefaultOutboxMaxAge, 24h). Messages held for a private
	// room that is not ready are not capped.
	OutboxMaxAge time.Duration
	// JobTimeout bounds one scheduled job; it must be shorter than the
	// job hold (5 minutes). Default 4 minutes.
	JobTimeout time.Duration
	// ShutdownTimeout bounds how long Run waits, once its context ends,
	// for a send under way to finish and be recorded (DefaultShutdownTimeout, 10s).
	ShutdownTimeout time.Duration
}

// Engine is the chat-neutral core. Create it with New, register commands,
// jobs, forms and adapters, then call Run.
type Engine struct {
	store    store.Store // the cache in front of Options.Store
	cache    *cachedStore
	clock    clock.Clock
	log      *slog.Logger
	observer Observer
	teamZone *time.Location
	instance string
	leaseTTL time.Duration
	tick     time.Duration
	shutdown time.Duration

	base      []Person
	directory *Directory
	// peopleStamp is the stamp of the people edits the directory was
	// built from by an event (-1: not yet).
	peopleStamp atomic.Int64
	router      *Router
	sched       *Scheduler
	outbox      *Outbox
	audit       *Audit
	forms       *formRunner
	mux         *http.ServeMux

	mu       sync.RWMutex
	adapters map[string]Adapter
	private  map[RoomRef]bool
	demoted  map[RoomRef]string
	// configured are the security rooms from the configuration (and the
	// console's): "the security room" is one of them, never a war room
	// Vigil created.
	configured map[RoomRef]bool
	actions    map[string]*Action
	onMessage  []func(context.Context, *Request) error
	onReact    []func(context.Context, *Request) error
	onEdit     []func(context.Context, *Request) error
	onDelete   []func(context.Context, *Request) error
	zoneSource ZoneSource

	// wake nudges the delivery loop when there is new work (a queued
	// message, a promoted room), so it goes out now rather than on the
	// next tick.
	wake chan struct{}

	// jobsMu and outboxMu serialise running jobs and flushing the outbox
	// between the background loops and synchronous callers (Step,
	// AdvanceTo), so console output stays in order. They are separate so a
	// job stuck on a slow service never holds up the delivery of messages.
	jobsMu   sync.Mutex
	outboxMu sync.Mutex
}

// New validates the options and builds an engine. It does no I/O.
func New(o Options) (*Engine, error) {
	var problems []error
	if o.Store == nil {
		problems = append(problems, errors.New("a store is required"))
	}
	if o.Clock == nil {
		problems = append(problems, errors.New("a clock is required"))
	}
	dir, err := NewDirectory(o.People)
	if err != nil {
		problems = append(problems, fmt.Errorf("people directory: %w", err))
	}
	if o.JobTimeout >= jobHold {
		problems = append(problems, fmt.Errorf("the job timeout (%s) must be shorter than the job hold (%s), or a slow job could run on two replicas at once", o.JobTimeout, jobHold))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("bot: %w", errors.Join(problems...))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Instance == "" {
		o.Instance = "vigil-" + randomID(6)
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 15 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.TeamZone == nil {
		o.TeamZone = time.UTC
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.OutboxMaxAttempts <= 0 {
		o.OutboxMaxAttempts = DefaultOutboxMaxAttempts
	}
	if o.OutboxMaxAge <= 0 {
		o.OutboxMaxAge = DefaultOutboxMaxAge
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	cache := newCachedStore(o.Store)
	cache.cacheDocs(peopleCollection, "")
	e := &Engine{
		store:     cache,
		cache:     cache,
		clock:     o.Clock,
		log:       o.Logger,
		observer:  o.Observer,
		teamZone:  o.TeamZone,
		instance:  o.Instance,
		leaseTTL:  o.LeaseTTL,
		tick:      o.Tick,
		base:      o.People,
		directory: dir,
		mux:       http.NewServeMux(),
		adapters:  map[string]Adapter{},
		private:   map[RoomRef]bool{},
		demoted:   map[RoomRef]string{},
		actions:   map[string]*Action{},
		wake:      make(chan struct{}, 1),
		shutdown:  o.ShutdownTimeout,
	}
	e.peopleStamp.Store(-1)
	e.configured = map[RoomRef]bool{}
	for _, r := range o.PrivateRooms {
		e.private[r] = true
		e.configured[r] = true
	}
	e.router = newRouter()
	e.audit = &Audit{store: o.Store, clock: o.Clock}
	e.sched = &Scheduler{store: o.Store, clock: o.Clock, log: o.Logger, observer: o.Observer, handlers: map[string]JobHandler{},
		jobTimeout: o.JobTimeout, shutdownTimeout: o.ShutdownTimeout}
	e.outbox = newOutbox(e, o)
	e.forms = &formRunner{engine: e, forms: map[string]*Form{}}
	e.registerBuiltins()
	return e, nil
}

// Store returns the engine's store, for commands that keep their own
// documents. The documents of collections registered with CacheDocs are
// served from memory while an event is handled, when unchanged.
func (e *Engine) Store() store.Store { return e.store }

// CacheDocs asks the engine to keep the documents of a collection (set
// empty), or of the members of set, in memory, for rarely-changing data a
// command reads every time (rotations, the open reports). Each event reads
// their version stamps in the round trip that marks it seen, and its reads
// of them (Store().Get and List of a collection, store.Docs of either)
// come from memory while the stamps are those of the copy in memory, so a
// change made on another replica is seen by the next event. Call it at
// registration.
func (e *Engine) CacheDocs(collection, set string) { e.cache.cacheDocs(collection, set) }

// Clock returns the injected clock.
func (e *Engine) Clock() clock.Clock { return e.clock }

// Logger returns the engine's logger.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Directory returns the people directory.
func (e *Engine) Directory() *Directory { return e.directory }

// Scheduler returns the persistent job scheduler.
func (e *Engine) Scheduler() *Scheduler { return e.sched }

// Outbox returns the durable outbound queue.
func (e *Engine) Outbox() *Outbox { return e.outbox }

// Audit returns the audit log.
func (e *Engine) Audit() *Audit { return e.audit }

// Router returns the command router.
func (e *Engine) Router() *Router { return e.router }

// HTTP returns the mux on which features mount routes (webhooks, intake
// API, feeds). cmd/vigil serves it when http.listen is configured.
func (e *Engine) HTTP() *http.ServeMux { return e.mux }

// Instance is this replica's name in leases.
func (e *Engine) Instance() string { return e.instance }

// Register adds a command to the router.
func (e *Engine) Register(c *Command) error { return e.router.Register(c) }

// MustRegister is Register for built-in commands whose definitions are
// static; a bad definition is a programming error.
func (e *Engine) MustRegister(c *Command) {
	if err := e.Register(c); err != nil {
		panic(err)
	}
}

// AddAdapter connects an adapter. Messages for its name go to it.
func (e *Engine) AddAdapter(a Adapter) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.adapters[a.Name()] = a
	if a.Name() == AdapterConsole {
		// The console is the operator's own terminal: it counts as the
		// private security room.
		e.private[ConsoleRoom] = true
		e.configured[ConsoleRoom] = true
	}
}

// ConsoleRoom is the console adapter's one room.
var ConsoleRoom = RoomRef{Adapter: AdapterConsole, ID: "security"}

func (e *Engine) adapter(name string) (Adapter, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, ok := e.adapters[name]
	return a, ok
}

// Action is a handler for a button.
type Action struct {
	// Name is the Button.Action it answers.
	Name string
	// Roles, Where: as for commands.
	Roles []Role
	Where Where
	Run   func(ctx context.Context, req *Request, value string) error
	// Confirm, when set, makes the action ask before it runs (reject,
	// close, publish, announce, decline): it writes the question for a
	// button's value. Buttons of the action carry it (Button.Confirm,
	// filled at delivery); where the platform did not ask (Event.Confirmed
	// unset) the engine asks the presser to reply "yes" (confirm.go).
	Confirm func(value string) Confirm
}

// HandleAction registers a button handler.
func (e *Engine) HandleAction(a *Action) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.actions[a.Name] = a
}

// OnMessage registers a hook for ordinary messages (not commands and not
// answers to a running form).
func (e *Engine) OnMessage(fn func(context.Context, *Request) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onMessage = append(e.onMessage, fn)
}

// OnReaction registers a hook for reactions.
func (e *Engine) OnReaction(fn func(context.Context, *Request) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onReact = append(e.onReact, fn)
}

// HandleJob registers the handler for a kind of scheduled job.
func (e *Engine) HandleJob(kind string, h JobHandler) { e.sched.Handle(kind, h) }

// RegisterForm makes a form available to Request.StartForm.
func (e *Engine) RegisterForm(f *Form) error { return e.forms.register(f) }

// deliver sends one message now, through the privacy rule. It is the one
// door to the adapters: replies use it directly, the outbox through its
// retry stage (which sets msg.DeliveryID). It writes people and times in
// the message for the destination (resolveTokens).
func (e *Engine) deliver(ctx context.Context, to Destination, msg Message) (MessageRef, error) {
	return e.deliverTo(ctx, nil, to, msg)
}

// deliverTo is deliver for an answer to ev (nil for the outbox): a
// message for to.Only goes through the adapter's PrivateReplier when it
// has one.
func (e *Engine) deliverTo(ctx context.Context, ev *Event, to Destination, msg Message) (MessageRef, error) {
	e.learnPrivateRoom(ctx, to, msg)
	if err := checkFiles(msg.Files); err != nil {
		return MessageRef{}, fmt.Errorf("send to %s: %w: %w", to, ErrRejected, err)
	}
	// Files are part of the message: a sensitive message's files go only
	// where its text may go.
	if err := e.checkPrivacy(to, msg); err != nil {
		return MessageRef{}, err
	}
	a, ok := e.adapter(to.Adapter())
	if !ok {
		return MessageRef{}, fmt.Errorf("%w: no %q adapter is connected", ErrRejected, to.Adapter())
	}
	msg = e.withConfirms(e.resolveTokens(ctx, to, msg))
	var (
		ref MessageRef
		err error
	)
	if pr, ok := a.(PrivateReplier); ok && ev != nil && !to.Only.IsZero() {
		ref, err = e.replyPrivately(ctx, a, pr, *ev, to, msg)
	} else {
		ref, err = a.Send(ctx, to, msg)
	}
	e.observer.Delivered(a.Name(), err)
	if err != nil {
		return MessageRef{}, fmt.Errorf("send to %s: %w", to, err)
	}
	if ref.Room.IsZero() && !to.IsDM() {
		// Followers find a thread's room from its root's reference.
		ref.Room = to.Room
	}
	return ref, nil
}

// Post queues a durable message: it is stored before it is sent, retried
// until the chat service takes it (within the caps of docs/DELIVERY.md),
// and sent once per id (an empty id gets a random one). Use it for anything
// that must not be lost. Ids are at most 400 bytes.
func (e *Engine) Post(ctx context.Context, id string, to Destination, msg Message) error {
	return e.outbox.Enqueue(ctx, id, to, msg)
}

// PostRoot is Post for a message that starts a thread (a report): once it
// is posted, messages sent ToThreadOf(room, id) go into its thread.
func (e *Engine) PostRoot(ctx context.Context, id string, to Destination, msg Message) error {
	if id == "" {
		return errors.New("PostRoot needs an id to thread under")
	}
	return e.outbox.enqueue(ctx, id, to, msg, true)
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
