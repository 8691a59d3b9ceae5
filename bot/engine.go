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
	"sort"
	"strings"
	"sync"
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
	// Tick is how often the background loop renews the lease, runs due
	// jobs and flushes the outbox. Default 1s.
	Tick time.Duration
	// Observer receives measurements (metrics); none by default.
	Observer Observer

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
	store    store.Store
	clock    clock.Clock
	log      *slog.Logger
	observer Observer
	instance string
	leaseTTL time.Duration
	tick     time.Duration
	shutdown time.Duration

	base      []Person
	directory *Directory
	router    *Router
	sched     *Scheduler
	outbox    *Outbox
	audit     *Audit
	forms     *formRunner
	mux       *http.ServeMux

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

	// wake nudges the background loop when there is new work (a queued
	// message), so it goes out now rather than on the next tick.
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
	e := &Engine{
		store:     o.Store,
		clock:     o.Clock,
		log:       o.Logger,
		observer:  o.Observer,
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
// documents.
func (e *Engine) Store() store.Store { return e.store }

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

// IsPrivate reports whether report details may be shown in room.
func (e *Engine) IsPrivate(room RoomRef) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.private[room] && e.demoted[room] == ""
}

// DemoteRoom withdraws a configured room's private status for now: the
// adapter found the channel public, the bot not a member, the room not
// encrypted, or could not check it yet. Sensitive content is not shown
// there until PromoteRoom; messages the outbox holds for it wait. Calling
// it again with the same reason changes nothing (adapters re-check rooms
// periodically), so only a change is logged.
func (e *Engine) DemoteRoom(room RoomRef, reason string) {
	if reason == "" {
		reason = "not usable"
	}
	e.mu.Lock()
	prev := e.demoted[room]
	e.demoted[room] = reason
	e.mu.Unlock()
	if prev != reason {
		e.log.Warn("security room not usable for report details; messages for it wait", "room", room.String(), "reason", reason)
	}
}

// PromoteRoom ends a demotion: the adapter checked the room again and it
// is private (invite-only, encrypted, the bot a member). Messages held for
// it go out at once. A room that was never configured or created private
// stays what it was: promotion restores, it never grants.
func (e *Engine) PromoteRoom(room RoomRef) {
	e.mu.Lock()
	prev, was := e.demoted[room]
	delete(e.demoted, room)
	e.mu.Unlock()
	if !was {
		return
	}
	e.log.Info("security room checked: private again, report details may be posted there", "room", room.String(), "was", prev)
	e.wakeUp()
}

// DemotionReason says why a room is demoted, or "" when it is not.
func (e *Engine) DemotionReason(room RoomRef) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.demoted[room]
}

// PrivateRooms returns the rooms that count as private now.
func (e *Engine) PrivateRooms() []RoomRef {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []RoomRef
	for r := range e.private {
		if e.demoted[r] == "" {
			out = append(out, r)
		}
	}
	return out
}

// adapterOrder lists the connected adapters in order of preference: the
// one asked for, then Slack, Matrix, any others by name, the console last.
func (e *Engine) adapterOrder(prefer string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rank := func(name string) int {
		switch name {
		case prefer:
			return 0
		case AdapterSlack:
			return 1
		case AdapterMatrix:
			return 2
		case AdapterConsole:
			return 4
		}
		return 3
	}
	names := make([]string, 0, len(e.adapters))
	for name := range e.adapters {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// DMFor returns the destination for a direct message to p, preferring the
// adapter given (the one the person just spoke on) and otherwise the first
// connected adapter the person has an account on.
func (e *Engine) DMFor(p *Person, prefer string) (Destination, bool) {
	for _, name := range e.adapterOrder(prefer) {
		if ref, ok := p.ChatRef(name); ok {
			return ToUser(ref), true
		}
	}
	return Destination{}, false
}

// SecurityRoom returns the destination for announcements in the private
// room of the preferred adapter (or any connected one): a configured
// security room that is usable now, never a room Vigil created.
func (e *Engine) SecurityRoom(prefer string) (Destination, bool) {
	var rooms []RoomRef
	e.mu.RLock()
	for r := range e.configured {
		if e.private[r] && e.demoted[r] == "" {
			rooms = append(rooms, r)
		}
	}
	e.mu.RUnlock()
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].String() < rooms[j].String() })
	for _, name := range e.adapterOrder(prefer) {
		for _, r := range rooms {
			if r.Adapter == name {
				return ToRoom(r, ThreadRef{}), true
			}
		}
	}
	return Destination{}, false
}

// checkPrivacy enforces the privacy rule: sensitive content goes only to a
// private security room or a DM with a person who is on the team or named
// in the message's audience.
func (e *Engine) checkPrivacy(to Destination, msg Message) error {
	if !msg.Sensitive {
		return nil
	}
	if to.IsDM() {
		p, ok := e.directory.ByChat(to.DM)
		if !ok {
			return fmt.Errorf("%w: %s is not in the people directory", ErrPrivacy, to.DM)
		}
		if p.OnTeam() {
			return nil
		}
		for _, name := range msg.Audience {
			if name == p.Name {
				return nil
			}
		}
		return fmt.Errorf("%w: @%s is not on the security team", ErrPrivacy, p.Name)
	}
	if !e.IsPrivate(to.Room) {
		return fmt.Errorf("%w: %s is not a private security room", ErrPrivacy, to.Room)
	}
	return nil
}

// deliver sends one message now, through the privacy rule. It is the one
// door to the adapters: replies use it directly, the outbox through its
// retry stage (which sets msg.DeliveryID).
func (e *Engine) deliver(ctx context.Context, to Destination, msg Message) (MessageRef, error) {
	e.learnPrivateRoom(ctx, to, msg)
	if err := e.checkPrivacy(to, msg); err != nil {
		return MessageRef{}, err
	}
	a, ok := e.adapter(to.Adapter())
	if !ok {
		return MessageRef{}, fmt.Errorf("%w: no %q adapter is connected", ErrRejected, to.Adapter())
	}
	ref, err := a.Send(ctx, to, msg)
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

// heldFor reports whether a message must wait for its room instead of
// being sent or refused: the room is a configured (or created) private
// room that cannot take it now, because its adapter is not connected yet
// or, for sensitive content, because an adapter found it not private yet
// (the bot not invited, the channel still public). Such a message waits
// uncapped and goes out when the room is promoted; a room that is not a
// private room at all is refused instead (checkPrivacy).
func (e *Engine) heldFor(to Destination, msg Message) (bool, string) {
	if to.IsDM() || to.Room.IsZero() {
		return false, ""
	}
	e.mu.RLock()
	private := e.private[to.Room]
	demoted := e.demoted[to.Room]
	a, connected := e.adapters[to.Room.Adapter]
	e.mu.RUnlock()
	if !private {
		return false, ""
	}
	if !connected {
		return true, fmt.Sprintf("the %s adapter is not connected yet", to.Room.Adapter)
	}
	if c, ok := a.(Connector); ok && !c.Connected() {
		return true, fmt.Sprintf("the %s adapter is not connected yet", to.Room.Adapter)
	}
	if demoted != "" && msg.Sensitive {
		return true, "the room is not usable as a private room yet: " + demoted
	}
	return false, ""
}

// roomsFingerprint sums up which rooms and adapters this replica can use
// now; the outbox re-arms held messages when it changes.
func (e *Engine) roomsFingerprint() string {
	rooms := e.PrivateRooms()
	parts := make([]string, 0, len(rooms)+4)
	for _, r := range rooms {
		parts = append(parts, r.String())
	}
	for name, up := range e.AdapterStates() {
		parts = append(parts, fmt.Sprintf("%s=%t", name, up))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
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

// Run runs the background work until ctx ends, in two loops: one keeps
// the scheduler lease (only the holder runs jobs), runs due jobs and
// refreshes the directory; the other delivers the outbox, at once when a
// message is queued. When ctx ends, a send under way is finished and
// recorded (within Options.ShutdownTimeout) before Run returns, so a clean
// restart posts nothing twice. On return it releases the lease so another
// replica can take over at once.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.LoadPeople(ctx); err != nil {
		e.log.Warn("could not load people edits from the store; using the configured directory", "err", err)
	}
	if err := e.loadPrivateRooms(ctx); err != nil {
		e.log.Warn("could not load the private rooms Vigil created", "err", err)
	}
	defer func() {
		// A fresh context: ours is done, but the release must still go out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := e.store.ReleaseLease(rctx, schedulerLease, e.instance); err != nil {
			e.log.Warn("could not release the scheduler lease", "err", err)
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { e.outboxLoop(ctx) })
	lastPeople := e.clock.Now()
	for {
		e.jobsMu.Lock()
		e.runJobs(ctx)
		e.jobsMu.Unlock()
		if now := e.clock.Now(); now.Sub(lastPeople) >= 30*time.Second {
			lastPeople = now
			if err := e.LoadPeople(ctx); err != nil {
				e.log.Debug("directory refresh failed", "err", err)
			}
			if err := e.loadPrivateRooms(ctx); err != nil {
				e.log.Debug("private rooms refresh failed", "err", err)
			}
		}
		if err := clock.Sleep(ctx, e.clock, e.tick); err != nil {
			wg.Wait()
			return nil
		}
	}
}

func (e *Engine) outboxLoop(ctx context.Context) {
	for {
		e.outboxMu.Lock()
		e.flushOutbox(ctx)
		e.outboxMu.Unlock()
		t := e.clock.NewTimer(e.tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.wake:
			t.Stop()
		case <-t.C():
		}
	}
}

// wakeUp asks the outbox loop for a round now. After a room is promoted it
// also releases the messages held for it (see rearmHeldIfRoomsChanged).
func (e *Engine) wakeUp() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

const schedulerLease = "scheduler"

// errLeaseLost ends the jobs of a replica that lost the scheduler lease.
var errLeaseLost = errors.New("the scheduler lease was lost")

// Step does one round of background work: renew or take the lease, run due
// jobs if leader, flush due outbox messages. Errors are logged: a store
// that is down now may be back on the next step.
func (e *Engine) Step(ctx context.Context) {
	e.jobsMu.Lock()
	defer e.jobsMu.Unlock()
	e.outboxMu.Lock()
	defer e.outboxMu.Unlock()
	e.step(ctx)
}

func (e *Engine) step(ctx context.Context) {
	e.runJobs(ctx)
	e.flushOutbox(ctx)
}

// runJobs runs due jobs if this replica holds the scheduler lease. The
// lease is renewed while the jobs run (every third of its TTL, on the
// engine clock); if it is lost, the running job's context ends and no
// further job of the batch starts, so a new leader never runs a job this
// replica is still running, as long as the job returns when its context
// ends and this process is not frozen past the job's claim (neither the
// lease nor the claim carries a fencing token).
func (e *Engine) runJobs(ctx context.Context) {
	leader, err := e.store.AcquireLease(ctx, schedulerLease, e.instance, e.clock.Now(), e.leaseTTL)
	if err != nil && ctx.Err() == nil { // errors from a shutdown are no news
		e.log.Warn("scheduler lease", "err", err)
	}
	if !leader {
		return
	}
	lctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	done := make(chan struct{})
	var renewer sync.WaitGroup
	renewer.Go(func() { e.renewLease(lctx, lose, done) })
	if _, err := e.sched.RunDue(lctx); err != nil && ctx.Err() == nil {
		e.log.Warn("running due jobs", "err", err)
	}
	close(done)
	renewer.Wait()
}

// renewLease keeps the scheduler lease while jobs run, and ends lctx with
// errLeaseLost when another replica holds it or it could not be renewed
// before it ran out.
func (e *Engine) renewLease(lctx context.Context, lose context.CancelCauseFunc, done <-chan struct{}) {
	every := max(e.leaseTTL/3, time.Millisecond)
	heldUntil := e.clock.Now().Add(e.leaseTTL)
	for {
		t := e.clock.NewTimer(every)
		select {
		case <-done:
			t.Stop()
			return
		case <-lctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		now := e.clock.Now()
		ok, err := e.store.AcquireLease(lctx, schedulerLease, e.instance, now, e.leaseTTL)
		switch {
		case err == nil && ok:
			heldUntil = now.Add(e.leaseTTL)
		case err == nil:
			e.log.Warn("another replica took the scheduler lease; stopping the jobs under way")
			lose(errLeaseLost)
			return
		case !now.Before(heldUntil):
			e.log.Warn("could not renew the scheduler lease before it ran out; stopping the jobs under way", "err", err)
			lose(errLeaseLost)
			return
		}
	}
}

func (e *Engine) flushOutbox(ctx context.Context) {
	if _, err := e.outbox.Flush(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("flushing the outbox", "err", err)
	}
}

// AdvanceTo is for fake clocks (the console's --clock and tests): it walks
// the clock forward to target, stopping at each job's due time to run it, so
// jobs run in order and each sees the time it was due. Jobs scheduled by
// jobs inside the window run too.
func (e *Engine) AdvanceTo(ctx context.Context, fake *clock.Fake, target time.Time) error {
	e.jobsMu.Lock()
	defer e.jobsMu.Unlock()
	e.outboxMu.Lock()
	defer e.outboxMu.Unlock()
	const maxSteps = 1_000_000 // a job rescheduling itself at the same instant forever
	for range maxSteps {
		next, ok, err := e.nextWakeup(ctx)
		if err != nil {
			return err
		}
		if !ok || next.After(target) {
			break
		}
		if next.After(fake.Now()) {
			fake.Set(next)
		}
		before := fake.Now()
		e.step(ctx)
		if again, ok, err := e.nextWakeup(ctx); err == nil && ok && !again.After(before) {
			// Something is due but did not run (store trouble or a job that
			// keeps failing without backoff): nudge time forward.
			fake.Set(before.Add(time.Second))
		}
	}
	fake.Set(target)
	e.step(ctx)
	return nil
}

func (e *Engine) nextWakeup(ctx context.Context) (time.Time, bool, error) {
	var best time.Time
	found := false
	for _, q := range []string{jobQueue, outboxQueue} {
		item, ok, err := e.store.NextDue(ctx, q)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("next due in %s: %w", q, err)
		}
		if ok && (!found || item.Due.Before(best)) {
			best, found = item.Due, true
		}
	}
	return best, found, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
