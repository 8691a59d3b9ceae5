package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/reconnect"
	"github.com/vigil-sec/vigil/store"
)

// OutboxCollection is the collection of queued messages, for a feature
// that tells a conflict on one (an id already queued) in its own batch.
const OutboxCollection = outboxCollection

const (
	outboxCollection = "outbox"
	outboxQueue      = "outbox"
	// deadCollection keeps messages the outbox gave up on (dead letters),
	// by outbox id. It doubles as the record of dropped thread roots.
	deadCollection = "outbox.dead"
	// heldSet lists conversations waiting for a room to become usable, so
	// they are tried at once when one does.
	heldSet = "outbox.held"
	// sentTTL: how long a "sent" record keeps a message from going twice.
	sentTTL = 30 * 24 * time.Hour
	// heldMaxWait caps the backoff of a held message: a room promoted on
	// another replica (which this one learns only by trying) is used
	// within this long.
	heldMaxWait = time.Minute
	// busyWait: how long a replica leaves a conversation alone after
	// finding one of its messages being sent by another replica.
	busyWait = time.Second
	// outboxBatch is how many conversations one claim takes.
	outboxBatch = 50
	// maxOutboxID bounds ids so the derived store names (the send lease,
	// the sent record) stay within the store's 512-byte limit.
	maxOutboxID = 400
	// deadNoticePrefix marks the notices about dead letters; a notice
	// that cannot be delivered itself is not announced again.
	deadNoticePrefix = "outbox.dead-notice:"
)

// Delivery defaults; Options override them (see docs/DELIVERY.md).
const (
	DefaultSendTimeout       = 30 * time.Second
	DefaultOutboxMaxAttempts = 20
	DefaultOutboxMaxAge      = 24 * time.Hour
	DefaultShutdownTimeout   = 10 * time.Second
)

// SecurityRoomRef is a symbolic room: "the security room", resolved when a
// message is sent (Engine.SecurityRoom) rather than when it is posted. A
// message to it waits while no private room is usable (the bot not yet
// invited, the adapter not yet connected) and goes out once one is.
// ToThreadOf(SecurityRoomRef, rootID) goes into the thread of a root posted
// there, in whichever room the root went to.
var SecurityRoomRef = RoomRef{Adapter: "vigil", ID: "security-room"}

// ToSecurityRoom is the destination "the security room", resolved at
// delivery (see SecurityRoomRef).
func ToSecurityRoom() Destination { return Destination{Room: SecurityRoomRef} }

// DeliveryChecker is implemented by adapters that can tell whether a
// message with a given delivery id (Message.DeliveryID) reached the chat
// service. The outbox asks it before sending again a message that is in
// doubt (a replica died between the send and its record), so a platform
// without idempotent sends still shows it once.
type DeliveryChecker interface {
	// WasDelivered reports whether a message carrying deliveryID is in
	// the destination, and its reference if so. Errors wrap
	// ErrRateLimited or ErrUnavailable; the outbox retries later.
	WasDelivered(ctx context.Context, to Destination, deliveryID string) (MessageRef, bool, error)
}

// Outbox is the durable delivery path, a small pipeline in the manner of
// Alertmanager's notifier: store first, then for each conversation in
// order: claim the message -> resolve where it goes -> hold, give up or
// send -> record as sent. docs/DELIVERY.md states what it guarantees.
//
// Exclusion is per message: before sending, a replica takes the lease
// "outbox-send:<id>" (longer than the send's deadline) and marks the
// message as being sent; the conversation claim in the queue only spreads
// work. A replica that finds a message of a conversation leased by another
// leaves the whole conversation for a moment, so message n+1 is never sent
// before n is recorded as sent or set aside.
type Outbox struct {
	engine *Engine
	store  store.Store
	clock  clock.Clock
	log    *slog.Logger
	seq    atomic.Int64

	instance        string
	sendTimeout     time.Duration
	leaseTTL        time.Duration // > sendTimeout: covers the send and its record
	hold            time.Duration // conversation claim
	maxAttempts     int
	maxAge          time.Duration
	shutdownTimeout time.Duration

	readyMu   sync.Mutex
	lastReady string // fingerprint of usable rooms, to re-arm held messages
}

func newOutbox(e *Engine, o Options) *Outbox {
	return &Outbox{
		engine: e, store: o.Store, clock: o.Clock, log: o.Logger,
		instance:        o.Instance,
		sendTimeout:     o.SendTimeout,
		leaseTTL:        2 * o.SendTimeout,
		hold:            4 * o.SendTimeout,
		maxAttempts:     o.OutboxMaxAttempts,
		maxAge:          o.OutboxMaxAge,
		shutdownTimeout: o.ShutdownTimeout,
	}
}

// outboxItem is a stored outbound message.
type outboxItem struct {
	ID      string      `json:"id"`
	To      Destination `json:"to"`
	Msg     Message     `json:"msg"`
	Created time.Time   `json:"created"`
	Seq     int64       `json:"seq"`
	// Attempts counts tries the chat service refused (it answered, with
	// an error); they are capped by Options.OutboxMaxAttempts.
	Attempts int `json:"attempts,omitempty"`
	// Tries counts every round that did not deliver the message (refused,
	// unreachable, held, waiting for its thread root), for the backoff.
	Tries int `json:"tries,omitempty"`
	// LastError says why the last try failed (for the dead letter).
	LastError string `json:"last_error,omitempty"`
	// Sending is set, durably, just before the adapter is called: a
	// message found with it set and no sent record is in doubt (its
	// sender died or timed out mid-send).
	Sending *sendingMark `json:"sending,omitempty"`
	// KeepRef records the posted message's reference, so later messages
	// can go into its thread (Destination.InThreadOf).
	KeepRef bool `json:"keep_ref,omitempty"`
	// EditOf, when set, makes the item an edit of the message posted
	// with PostRoot under that id (Engine.EditRoot); To is unused.
	EditOf string `json:"edit_of,omitempty"`
}

type sendingMark struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

const refCollection = "outbox.refs"

func conversationSet(conv string) string { return "outbox:" + conv }
func sentKey(id string) string           { return "sent:" + id }
func sendLease(id string) string         { return "outbox-send:" + id }

// Enqueue stores a message for delivery. Enqueueing an id that is already
// queued or was sent is a no-op, so a job that runs twice posts once.
func (o *Outbox) Enqueue(ctx context.Context, id string, to Destination, msg Message) error {
	return o.enqueue(ctx, id, to, msg, false)
}

func (o *Outbox) enqueue(ctx context.Context, id string, to Destination, msg Message, keepRef bool) error {
	if id == "" {
		id = randomID(12)
	}
	ops, err := o.enqueueOps(ctx, id, to, msg, keepRef)
	if err != nil || len(ops) == 0 {
		return err
	}
	// One atomic write: the message, its place in the conversation and
	// the conversation's due time, or nothing. Scheduling at "now"
	// re-arms a conversation that a sender holds at this moment, so the
	// new message is not stranded; it ends that sender's claim, which is
	// safe: the claim only spreads work, and the per-message send lease
	// keeps a second replica from sending what the first is sending.
	_, err = o.store.Apply(ctx, ops...)
	var conflict *store.ConflictError
	if errors.As(err, &conflict) && conflict.Collection == outboxCollection && conflict.ID == id {
		// Already queued: it keeps its first content and place in line,
		// and the index and queue writes are applied again, which also
		// repairs a conversation whose entry was lost.
		_, err = o.store.Apply(ctx, ops[1:]...)
	}
	if err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", id, err)
	}
	o.engine.wakeUp()
	return nil
}

// EnqueueOps returns the store writes that queue a message (as Enqueue
// does), for a feature that stores it in one store.Apply together with its
// own documents (a report, its clock job and its announcement). They are,
// in order: the message document (NewDoc), its conversation index and the
// conversation's due time. No ops and no error: the message was already
// sent. A *store.ConflictError on the outbox document means the message is
// already queued; Enqueue handles that case by itself. After the batch is
// applied, Wake makes delivery start at once rather than on the next tick.
func (o *Outbox) EnqueueOps(ctx context.Context, id string, to Destination, msg Message) ([]store.Op, error) {
	if id == "" {
		return nil, errors.New("outbox: EnqueueOps needs a message id")
	}
	return o.enqueueOps(ctx, id, to, msg, false)
}

// EnqueueRootOps is EnqueueOps for a thread root (Engine.PostRoot).
func (o *Outbox) EnqueueRootOps(ctx context.Context, id string, to Destination, msg Message) ([]store.Op, error) {
	if id == "" {
		return nil, errors.New("outbox: EnqueueRootOps needs a message id")
	}
	return o.enqueueOps(ctx, id, to, msg, true)
}

// NewMessageOps is EnqueueOps (EnqueueRootOps when root) for a message whose
// id is new: derived from a document the same batch creates with
// store.NewDoc (a new report's announcement), so it cannot have been sent.
// It skips the sent-record check and so costs no round trip; were the id
// used before after all, the sender, which checks the sent record under the
// send lease, would still not send it twice. A *store.ConflictError on the
// outbox document means a message with that id is queued already.
func (o *Outbox) NewMessageOps(id string, to Destination, msg Message, root bool) ([]store.Op, error) {
	if id == "" {
		return nil, errors.New("outbox: NewMessageOps needs a message id")
	}
	item, err := o.newItem(id, to, msg, root)
	if err != nil {
		return nil, err
	}
	return item.ops()
}

// Wake asks the delivery loop for a round now (after a batch from
// EnqueueOps was applied).
func (o *Outbox) Wake() { o.engine.wakeUp() }

func (o *Outbox) enqueueOps(ctx context.Context, id string, to Destination, msg Message, keepRef bool) ([]store.Op, error) {
	item, err := o.newItem(id, to, msg, keepRef)
	if err != nil {
		return nil, err
	}
	// A message sent within sentTTL is not queued again. (Were it queued
	// in a race with its sender, the sent record checked under the send
	// lease would still keep it from going twice.)
	if sent, err := o.store.WasSeen(ctx, sentKey(id), item.Created); err != nil {
		return nil, fmt.Errorf("outbox: enqueue %s: %w", id, err)
	} else if sent {
		return nil, nil
	}
	return item.ops()
}

// newItem checks a message and makes its outbox item, created now.
func (o *Outbox) newItem(id string, to Destination, msg Message, keepRef bool) (outboxItem, error) {
	if err := validOutboxID(id); err != nil {
		return outboxItem{}, err
	}
	if to.Adapter() == "" {
		return outboxItem{}, fmt.Errorf("outbox: message %s has no destination", id)
	}
	if err := checkFiles(msg.Files); err != nil {
		// Refused here, where the feature can still say so, rather than
		// stored and refused by the chat service later.
		return outboxItem{}, fmt.Errorf("outbox: message %s: %w", id, err)
	}
	now := o.clock.Now()
	msg.DeliveryID = "" // set from the id at send time
	return outboxItem{ID: id, To: to, Msg: msg, Created: now, Seq: o.nextSeq(now), KeepRef: keepRef}, nil
}

// ops are the writes that queue the item: the message document (NewDoc),
// its conversation index and the conversation's due time (now).
func (it outboxItem) ops() ([]store.Op, error) {
	data, err := json.Marshal(it)
	if err != nil {
		return nil, fmt.Errorf("outbox: enqueue %s: %w", it.ID, err)
	}
	conv := it.To.key()
	return []store.Op{
		store.PutOp(outboxCollection, it.ID, data, store.NewDoc),
		store.SetAddOp(conversationSet(conv), it.ID),
		store.ScheduleOp(outboxQueue, conv, it.Created),
	}, nil
}

func validOutboxID(id string) error {
	if len(id) > maxOutboxID {
		return fmt.Errorf("outbox: message id is %d bytes, at most %d allowed", len(id), maxOutboxID)
	}
	if strings.ContainsRune(id, 0) {
		return errors.New("outbox: message id contains a NUL byte")
	}
	return nil
}

// nextSeq orders messages created in the same instant (a fake clock does
// not move between them).
func (o *Outbox) nextSeq(now time.Time) int64 {
	for {
		last := o.seq.Load()
		next := max(now.UnixNano(), last+1)
		if o.seq.CompareAndSwap(last, next) {
			return next
		}
	}
}

// Depth returns how many conversations wait for delivery.
func (o *Outbox) Depth(ctx context.Context) (int, error) {
	items, err := o.store.Pending(ctx, outboxQueue, 10000)
	return len(items), err
}

// PostedRef returns the chat reference of a message posted with PostRoot,
// once it has been posted.
func (o *Outbox) PostedRef(ctx context.Context, id string) (MessageRef, bool, error) {
	doc, err := o.store.Get(ctx, refCollection, id)
	if errors.Is(err, store.ErrNotFound) {
		return MessageRef{}, false, nil
	}
	if err != nil {
		return MessageRef{}, false, fmt.Errorf("outbox: posted ref %s: %w", id, err)
	}
	var ref MessageRef
	if err := json.Unmarshal(doc.Data, &ref); err != nil {
		return MessageRef{}, false, fmt.Errorf("outbox: posted ref %s: %w: %v", id, store.ErrCorrupt, err)
	}
	return ref, true, nil
}

// forget removes a message that is sent or set aside from the queue, in
// one write. If it fails, the next round finds the sent record (or the
// dead letter) and tries again.
func (o *Outbox) forget(ctx context.Context, conv, id string) {
	if _, err := o.store.Apply(ctx,
		store.DeleteOp(outboxCollection, id, store.AnyVersion),
		store.SetRemoveOp(conversationSet(conv), id),
	); err != nil {
		o.log.Warn("outbox cleanup", "id", id, "err", err)
	}
}

// rearmHeldIfRoomsChanged makes held conversations due at once when the
// rooms this replica can use changed (a room promoted, an adapter
// connected), so a held message goes out without waiting out its backoff.
// It needs no hook: any flush after the change, such as the one
// Engine.wakeUp asks for, notices it.
func (o *Outbox) rearmHeldIfRoomsChanged(ctx context.Context) {
	fp := o.engine.roomsFingerprint()
	o.readyMu.Lock()
	changed := fp != o.lastReady
	o.readyMu.Unlock()
	if !changed {
		return
	}
	convs, err := o.store.SetMembers(ctx, heldSet)
	if err != nil {
		o.log.Debug("could not read held conversations", "err", err)
		return
	}
	now := o.clock.Now()
	for _, conv := range convs {
		if err := o.store.Schedule(ctx, outboxQueue, conv, now); err != nil {
			o.log.Debug("could not re-arm a held conversation", "conversation", conv, "err", err)
			return
		}
		_ = o.store.SetRemove(ctx, heldSet, conv)
	}
	o.readyMu.Lock()
	o.lastReady = fp
	o.readyMu.Unlock()
}

// outboxBackoff is the wait before a message's next try: 1s, 2s, 4s ...
// up to 5 minutes, so a chat service that is down for hours is tried at
// least that often.
var outboxBackoff = reconnect.Backoff{Min: time.Second, Max: 5 * time.Minute}

// heldBackoff grows with the time a message has waited (a quarter of it),
// from a second up to heldMaxWait, so a room that comes back soon is used
// soon and a long wait costs one look a minute.
func (o *Outbox) heldBackoff(it outboxItem) time.Duration {
	return min(max(o.clock.Now().Sub(it.Created)/4, time.Second), heldMaxWait)
}
