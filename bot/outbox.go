package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

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
	// outboxMaxWait caps the retry backoff: a chat service that is down
	// for hours is tried at least this often.
	outboxMaxWait = 5 * time.Minute
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
}

type sendingMark struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// DeadLetter is a message the outbox gave up on, kept in the store.
type DeadLetter struct {
	ID     string      `json:"id"`
	To     Destination `json:"to"`
	Msg    Message     `json:"msg"`
	Posted time.Time   `json:"posted"`
	// Reason is one of the DeadReason values; Cause is the last error.
	Reason   DeadReason `json:"reason"`
	Cause    string     `json:"cause,omitempty"`
	Attempts int        `json:"attempts,omitempty"`
	At       time.Time  `json:"at"`
	By       string     `json:"by"`
	// Raw is the stored bytes of a message that could not be read.
	Raw []byte `json:"raw,omitempty"`
}

// DeadReason says why a message became a dead letter.
type DeadReason string

const (
	DeadRejected   DeadReason = "rejected"     // the chat service refused it for good
	DeadPrivacy    DeadReason = "privacy"      // sensitive, and the destination is not private
	DeadAttempts   DeadReason = "max_attempts" // refused Options.OutboxMaxAttempts times
	DeadAge        DeadReason = "max_age"      // still failing Options.OutboxMaxAge after it was posted
	DeadUnreadable DeadReason = "unreadable"   // the stored message could not be decoded
)

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

// Wake asks the delivery loop for a round now (after a batch from
// EnqueueOps was applied).
func (o *Outbox) Wake() { o.engine.wakeUp() }

func (o *Outbox) enqueueOps(ctx context.Context, id string, to Destination, msg Message, keepRef bool) ([]store.Op, error) {
	if err := validOutboxID(id); err != nil {
		return nil, err
	}
	if to.Adapter() == "" {
		return nil, fmt.Errorf("outbox: message %s has no destination", id)
	}
	now := o.clock.Now()
	// A message sent within sentTTL is not queued again. (Were it queued
	// in a race with its sender, the sent record checked under the send
	// lease would still keep it from going twice.)
	if sent, err := o.store.WasSeen(ctx, sentKey(id), now); err != nil {
		return nil, fmt.Errorf("outbox: enqueue %s: %w", id, err)
	} else if sent {
		return nil, nil
	}
	msg.DeliveryID = "" // set from the id at send time
	item := outboxItem{ID: id, To: to, Msg: msg, Created: now, Seq: o.nextSeq(now), KeepRef: keepRef}
	data, err := json.Marshal(item)
	if err != nil {
		return nil, fmt.Errorf("outbox: enqueue %s: %w", id, err)
	}
	conv := to.key()
	return []store.Op{
		store.PutOp(outboxCollection, id, data, store.NewDoc),
		store.SetAddOp(conversationSet(conv), id),
		store.ScheduleOp(outboxQueue, conv, now),
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

// DeadLetters returns the messages the outbox gave up on, by id.
func (o *Outbox) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	ids, err := o.store.List(ctx, deadCollection)
	if err != nil {
		return nil, fmt.Errorf("outbox: dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(ids))
	for _, id := range ids {
		d, _, err := store.GetJSON[DeadLetter](ctx, o.store, deadCollection, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("outbox: dead letter %s: %w", id, err)
		}
		out = append(out, *d)
	}
	return out, nil
}

// Flush delivers every conversation that is due and returns how many
// messages went out. When ctx ends it stops between messages: a send under
// way finishes and is recorded (within Options.ShutdownTimeout), and the
// conversations it claimed but did not reach are released at once.
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	o.rearmHeldIfRoomsChanged(ctx)
	sent := 0
	// Rounds go on while conversations are due: delivering one can make
	// another due at once (the followers of a thread root). The bound is
	// a guard against a conversation that keeps re-arming itself.
	for round := 0; ctx.Err() == nil && round < 100; round++ {
		claims, err := o.store.ClaimDue(ctx, outboxQueue, o.clock.Now(), o.hold, outboxBatch)
		if err != nil {
			return sent, fmt.Errorf("claim outbox: %w", err)
		}
		if len(claims) == 0 {
			return sent, nil
		}
		// Conversations go in the order their oldest waiting message was
		// posted, so a hand-off announced in the room and then by DM
		// arrives in that order, whatever the queue's tie-breaking.
		convs := make([]conversation, 0, len(claims))
		for _, c := range claims {
			conv, err := o.loadConversation(ctx, c)
			if err != nil {
				o.release(ctx, claims)
				return sent, err
			}
			convs = append(convs, conv)
		}
		sort.SliceStable(convs, func(i, j int) bool { return convs[i].head() < convs[j].head() })
		for i, conv := range convs {
			n, err := o.deliverConversation(ctx, conv)
			sent += n
			if err != nil || ctx.Err() != nil {
				rest := make([]store.Claim, 0, len(convs)-i)
				for _, c := range convs[i:] {
					rest = append(rest, c.claim)
				}
				o.release(ctx, rest)
				return sent, err
			}
		}
	}
	return sent, nil
}

// release hands claimed conversations back at once (their due time now),
// rather than leaving them hidden until the claim runs out: on shutdown,
// on store trouble, or when a claim is too short for another send.
func (o *Outbox) release(ctx context.Context, claims []store.Claim) {
	if len(claims) == 0 {
		return
	}
	bctx, cancel := o.bookkeeping(ctx)
	defer cancel()
	now := o.clock.Now()
	for _, c := range claims {
		if err := o.store.Schedule(bctx, outboxQueue, c.Key, now); err != nil {
			// The claim runs out by itself; it only delays the conversation.
			o.log.Debug("could not release an outbox conversation", "conversation", c.Key, "err", err)
			return
		}
	}
}

// bookkeeping is the context for the store writes that follow a send: not
// cut by a shutdown, but bounded by the shutdown timeout once it begins.
func (o *Outbox) bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return clock.Detached(ctx, o.clock, o.shutdownTimeout)
}

// conversation is a claimed conversation with its waiting messages in
// order.
type conversation struct {
	claim    store.Claim
	items    []outboxItem
	versions map[string]int64
}

func (c conversation) head() int64 {
	if len(c.items) == 0 {
		return 0
	}
	return c.items[0].Seq
}

func (o *Outbox) loadConversation(ctx context.Context, c store.Claim) (conversation, error) {
	conv := conversation{claim: c, versions: map[string]int64{}}
	ids, err := o.store.SetMembers(ctx, conversationSet(c.Key))
	if err != nil {
		return conv, fmt.Errorf("outbox %s: %w", c.Key, err)
	}
	for _, id := range ids {
		doc, err := o.store.Get(ctx, outboxCollection, id)
		if errors.Is(err, store.ErrNotFound) {
			_ = o.store.SetRemove(ctx, conversationSet(c.Key), id)
			continue
		}
		if err != nil {
			return conv, fmt.Errorf("outbox %s: %w", id, err)
		}
		var it outboxItem
		if err := json.Unmarshal(doc.Data, &it); err != nil {
			o.log.Error("setting aside an unreadable outbox message", "id", id, "err", err)
			o.deadLetterRaw(ctx, c.Key, id, doc.Data, err)
			continue
		}
		conv.items = append(conv.items, it)
		conv.versions[id] = doc.Version
	}
	sort.Slice(conv.items, func(i, j int) bool {
		if conv.items[i].Seq != conv.items[j].Seq {
			return conv.items[i].Seq < conv.items[j].Seq
		}
		return conv.items[i].ID < conv.items[j].ID
	})
	return conv, nil
}

// outcome is what became of one message in one round.
type outcome int

const (
	outSent    outcome = iota // delivered and recorded
	outSkipped                // already sent or gone: go on
	outDead                   // set aside as a dead letter: go on
	outBusy                   // another replica is sending it: leave the conversation briefly
	outHeld                   // its room is not usable yet: wait, uncapped
	outRetry                  // failed or waiting: retry the conversation later
)

// result is an outcome with the wait before the conversation is tried
// again (for outBusy, outHeld and outRetry) and, for outHeld, why.
type result struct {
	outcome outcome
	wait    time.Duration
	why     string
	// awaitRoot names the thread root the message waits for; the
	// conversation is re-armed when the root is posted or set aside.
	awaitRoot string
}

// awaitSet lists the conversations waiting for a thread root.
func awaitSet(rootID string) string { return "outbox.await:" + rootID }

func (o *Outbox) deliverConversation(ctx context.Context, conv conversation) (int, error) {
	c := conv.claim
	sent := 0
	for _, it := range conv.items {
		if ctx.Err() != nil {
			return sent, nil // Flush releases the claim
		}
		// Batches are sized to their hold: a message is started only if
		// the claim outlasts its send lease; otherwise the conversation
		// is handed back for a fresh claim (by any replica).
		if o.clock.Now().Add(o.leaseTTL).After(c.ClaimedUntil) {
			o.release(ctx, []store.Claim{c})
			return sent, nil
		}
		res, err := o.deliverOne(ctx, c.Key, it, conv.versions[it.ID])
		if err != nil {
			return sent, err
		}
		switch res.outcome {
		case outSent:
			sent++
			continue
		case outSkipped, outDead:
			continue
		case outHeld:
			bctx, cancel := o.bookkeeping(ctx)
			err := o.store.SetAdd(bctx, heldSet, c.Key)
			cancel()
			if err != nil {
				o.log.Warn("could not record a held conversation", "conversation", c.Key, "err", err)
			}
		case outRetry:
			if res.awaitRoot != "" {
				bctx, cancel := o.bookkeeping(ctx)
				err := o.store.SetAdd(bctx, awaitSet(res.awaitRoot), c.Key)
				cancel()
				if err != nil {
					o.log.Warn("could not record a conversation waiting for its thread root", "conversation", c.Key, "err", err)
				}
			}
		}
		bctx, cancel := o.bookkeeping(ctx)
		err = o.store.Schedule(bctx, outboxQueue, c.Key, o.clock.Now().Add(res.wait))
		cancel()
		if err != nil {
			return sent, fmt.Errorf("outbox %s: reschedule: %w", c.Key, err)
		}
		return sent, nil
	}
	// Removes the conversation unless a new message re-armed it meanwhile.
	bctx, cancel := o.bookkeeping(ctx)
	defer cancel()
	if _, err := o.store.Complete(bctx, outboxQueue, c); err != nil {
		return sent, fmt.Errorf("outbox %s: %w", c.Key, err)
	}
	return sent, nil
}

// deliverOne is the per-message pipeline: lease, dedup, resolve, hold or
// give up, mark in doubt, send, record. version is the stored version the
// item was loaded at; a message changed since (by another replica) is left
// for a fresh look. An error is store trouble: the round stops.
func (o *Outbox) deliverOne(parent context.Context, conv string, it outboxItem, version int64) (result, error) {
	if parent.Err() != nil {
		return result{outcome: outBusy}, nil
	}
	// From here on the work is not cut by a shutdown: a send that starts
	// is finished and recorded, within the shutdown timeout.
	ctx, cancel := o.bookkeeping(parent)
	defer cancel()
	now := o.clock.Now()
	lease := sendLease(it.ID)
	got, err := o.store.AcquireLease(ctx, lease, o.instance, now, o.leaseTTL)
	if err != nil {
		return result{}, fmt.Errorf("outbox %s: send lease: %w", it.ID, err)
	}
	if !got {
		return result{outcome: outBusy, wait: busyWait}, nil
	}
	defer func() {
		if err := o.store.ReleaseLease(ctx, lease, o.instance); err != nil {
			o.log.Debug("could not release a send lease; it runs out by itself", "id", it.ID, "err", err)
		}
	}()
	// Checked under the lease: a replica that sent this message recorded
	// it before letting the lease go.
	if sent, err := o.store.WasSeen(ctx, sentKey(it.ID), now); err != nil {
		return result{}, fmt.Errorf("outbox %s: %w", it.ID, err)
	} else if sent {
		o.forget(ctx, conv, it.ID)
		return result{outcome: outSkipped}, nil
	}

	to, msg, wait, err := o.resolve(ctx, it)
	if err != nil {
		return result{}, err
	}
	if wait != nil {
		return o.notNow(ctx, it, version, *wait, wait.why)
	}
	if held, why := o.engine.heldFor(to, msg); held {
		return o.notNow(ctx, it, version, result{outcome: outHeld, wait: o.heldBackoff(it)}, why)
	}
	if _, ok := o.engine.adapter(to.Adapter()); !ok {
		// An adapter that starts late (or was removed from the
		// configuration): wait, within the age cap.
		it.LastError = fmt.Sprintf("no %q adapter is connected", to.Adapter())
		return o.notNow(ctx, it, version, result{outcome: outRetry, wait: outboxBackoff(it.Tries + 1)}, "")
	}
	if it.Attempts >= o.maxAttempts {
		return o.deadLetter(ctx, conv, it, DeadAttempts, fmt.Sprintf("refused %d times; last error: %s", it.Attempts, it.LastError))
	}
	if it.Tries > 0 && now.Sub(it.Created) >= o.maxAge {
		return o.deadLetter(ctx, conv, it, DeadAge, fmt.Sprintf("not delivered within %s; last error: %s", o.maxAge, it.LastError))
	}
	msg.DeliveryID = it.ID

	// A message marked as being sent, with no sent record, may have
	// reached the chat service. An adapter that can look asks first.
	if it.Sending != nil {
		if dc, ok := o.adapterFor(to).(DeliveryChecker); ok {
			cctx, ccancel := clock.WithTimeout(ctx, o.clock, o.sendTimeout)
			ref, found, err := dc.WasDelivered(cctx, to, it.ID)
			ccancel()
			if err != nil {
				it.LastError = err.Error()
				return o.notNow(ctx, it, version, result{outcome: outRetry, wait: outboxBackoff(it.Tries + 1)}, "")
			}
			if found {
				if ref.Room.IsZero() && !to.IsDM() {
					ref.Room = to.Room
				}
				o.log.Info("a message in doubt had been delivered; recording it", "id", it.ID, "to", to.String())
				return o.recordSent(ctx, conv, it, ref)
			}
		}
		o.log.Warn("sending again a message that may have been delivered (its sender stopped mid-send)", "id", it.ID, "to", to.String(), "since", it.Sending.At)
	}

	// Durably in doubt from here until the sent record.
	it.Sending = &sendingMark{By: o.instance, At: now}
	newVersion, err := o.putItem(ctx, it, version)
	if errors.Is(err, store.ErrConflict) {
		return result{outcome: outBusy, wait: busyWait}, nil
	}
	if err != nil {
		return result{}, err
	}
	sctx, scancel := clock.WithTimeout(ctx, o.clock, o.sendTimeout)
	ref, sendErr := o.engine.deliver(sctx, to, msg)
	timedOut := sctx.Err() != nil
	scancel()
	// The record gets a window of its own: a send that used up the
	// shutdown grace must still be written down if at all possible.
	rctx, rcancel := o.bookkeeping(parent)
	defer rcancel()
	if sendErr == nil {
		return o.recordSent(rctx, conv, it, ref)
	}
	return o.sendFailed(rctx, conv, it, newVersion, to, msg, sendErr, timedOut)
}

// sendFailed sorts a failed send: set aside, hold, or retry later.
func (o *Outbox) sendFailed(ctx context.Context, conv string, it outboxItem, version int64, to Destination, msg Message, sendErr error, timedOut bool) (result, error) {
	it.LastError = sendErr.Error()
	switch {
	case errors.Is(sendErr, ErrPrivacy):
		it.Sending = nil // refused before any adapter saw it
		if held, why := o.engine.heldFor(to, msg); held {
			return o.notNow(ctx, it, version, result{outcome: outHeld, wait: o.heldBackoff(it)}, why)
		}
		return o.deadLetter(ctx, conv, it, DeadPrivacy, sendErr.Error())
	case errors.Is(sendErr, ErrRejected):
		return o.deadLetter(ctx, conv, it, DeadRejected, sendErr.Error())
	}
	wait := outboxBackoff(it.Tries + 1)
	switch {
	case timedOut || errors.Is(sendErr, ErrUnavailable):
		// The service could not be reached, or did not answer in time:
		// perhaps it took the message, so it stays in doubt. Outages
		// count toward the age cap only.
	case errors.Is(sendErr, ErrRateLimited):
		it.Sending = nil // refused, so certainly not delivered
		it.Attempts++
	default:
		it.Attempts++
	}
	var ra *RetryAfterError
	if errors.As(sendErr, &ra) && ra.After > wait {
		wait = ra.After
	}
	o.log.Warn("delivery failed; will retry", "id", it.ID, "to", to.String(), "attempt", it.Attempts, "tries", it.Tries+1, "in", wait, "err", sendErr)
	return o.notNow(ctx, it, version, result{outcome: outRetry, wait: wait}, "")
}

// notNow records a round that did not deliver the message (for the
// backoff) and returns res. A conflict means another replica changed the
// message meanwhile; its record stands.
func (o *Outbox) notNow(ctx context.Context, it outboxItem, version int64, res result, held string) (result, error) {
	if res.outcome == outHeld {
		// Nothing to record: a held message is not counted, and its
		// backoff follows its age.
		o.log.Info("message held until its room is usable", "id", it.ID, "to", it.To.String(), "why", held, "retry_in", res.wait)
		return res, nil
	}
	it.Tries++
	if _, err := o.putItem(ctx, it, version); err != nil && !errors.Is(err, store.ErrConflict) {
		return result{}, err
	}
	return res, nil
}

func (o *Outbox) putItem(ctx context.Context, it outboxItem, version int64) (int64, error) {
	data, err := json.Marshal(it)
	if err != nil {
		return 0, fmt.Errorf("outbox %s: %w", it.ID, err)
	}
	v, err := o.store.Put(ctx, outboxCollection, it.ID, data, version)
	if err != nil {
		return 0, fmt.Errorf("outbox %s: %w", it.ID, err)
	}
	return v, nil
}

// recordSent writes what follows a send: the reference (for a thread
// root) first, so followers can find the thread once the message counts
// as sent; then the sent record, the dedup truth; then the cleanup.
func (o *Outbox) recordSent(ctx context.Context, conv string, it outboxItem, ref MessageRef) (result, error) {
	if it.KeepRef {
		data, err := json.Marshal(ref)
		if err != nil {
			return result{}, fmt.Errorf("outbox %s: %w", it.ID, err)
		}
		if _, err := o.store.Put(ctx, refCollection, it.ID, data, store.AnyVersion); err != nil {
			// Still in doubt: the next try asks the adapter or sends
			// again with the same delivery id.
			return result{}, fmt.Errorf("outbox %s: sent, but its reference not recorded: %w", it.ID, err)
		}
	}
	if _, err := o.store.MarkSeen(ctx, sentKey(it.ID), o.clock.Now(), sentTTL); err != nil {
		return result{}, fmt.Errorf("outbox %s: sent, but not recorded as sent: %w", it.ID, err)
	}
	o.forget(ctx, conv, it.ID)
	if it.KeepRef {
		o.wakeFollowers(ctx, it.ID)
	}
	return result{outcome: outSent}, nil
}

// wakeFollowers makes the conversations waiting for a thread root due now
// that the root is posted (or set aside), instead of after their backoff.
func (o *Outbox) wakeFollowers(ctx context.Context, rootID string) {
	convs, err := o.store.SetMembers(ctx, awaitSet(rootID))
	if err != nil {
		o.log.Debug("could not read the followers of a thread root; they wait out their backoff", "root", rootID, "err", err)
		return
	}
	now := o.clock.Now()
	for _, conv := range convs {
		if err := o.store.Schedule(ctx, outboxQueue, conv, now); err != nil {
			o.log.Debug("could not wake a follower of a thread root", "conversation", conv, "err", err)
			return
		}
		_ = o.store.SetRemove(ctx, awaitSet(rootID), conv)
	}
}

// resolve works out where the message goes now: the symbolic security
// room becomes a real one, and a thread root's reference becomes the
// thread. A non-nil result means "not now" (held or waiting for the root).
func (o *Outbox) resolve(ctx context.Context, it outboxItem) (Destination, Message, *result, error) {
	noRoom := &result{outcome: outHeld, wait: o.heldBackoff(it), why: "no security room is usable yet"}
	to, msg := it.To, it.Msg
	if to.InThreadOf != "" {
		root, ok, err := o.PostedRef(ctx, to.InThreadOf)
		if err != nil {
			return to, msg, nil, err
		}
		switch {
		case ok:
			room := root.Room
			if room.IsZero() {
				room = to.Room
			}
			if room == SecurityRoomRef {
				// A root posted before rooms were recorded in references.
				sec, ok := o.engine.SecurityRoom("")
				if !ok {
					return to, msg, noRoom, nil
				}
				room = sec.Room
			}
			resolved := ToRoom(room, ThreadRef{ID: root.ID})
			resolved.InThreadOf = to.InThreadOf // what it was addressed to, for the record
			return resolved, msg, nil, nil
		default:
			dropped, err := o.rootDropped(ctx, to.InThreadOf, it)
			if err != nil {
				return to, msg, nil, err
			}
			if !dropped {
				// The root is queued (perhaps waiting out an outage or
				// held itself): try later rather than post outside the
				// thread.
				return to, msg, &result{outcome: outRetry, wait: outboxBackoff(it.Tries + 1), awaitRoot: to.InThreadOf}, nil
			}
			to = Destination{Room: to.Room}
			msg.Text = "(The first message of this thread could not be posted, so this one is posted in the room.)\n" + msg.Text
			if msg.Fallback != "" {
				msg.Fallback = "(The first message of this thread could not be posted.)\n" + msg.Fallback
			}
		}
	}
	if to.Room == SecurityRoomRef && !to.IsDM() {
		sec, ok := o.engine.SecurityRoom("")
		if !ok {
			return to, msg, noRoom, nil
		}
		to.Room = sec.Room
		if !to.Thread.IsZero() {
			to.Thread.Room = sec.Room
		}
	}
	return to, msg, nil, nil
}

// rootDropped reports whether a thread root will never be posted: it was
// set aside as a dead letter, or it is neither queued nor posted and the
// follower has waited out the age cap for it.
func (o *Outbox) rootDropped(ctx context.Context, rootID string, follower outboxItem) (bool, error) {
	if _, err := o.store.Get(ctx, deadCollection, rootID); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("outbox: thread root %s: %w", rootID, err)
	}
	if _, err := o.store.Get(ctx, outboxCollection, rootID); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("outbox: thread root %s: %w", rootID, err)
	}
	return o.clock.Now().Sub(follower.Created) >= o.maxAge, nil
}

func (o *Outbox) adapterFor(to Destination) Adapter {
	a, _ := o.engine.adapter(to.Adapter())
	return a
}

// deadLetter sets a message aside: the team is told (once: the notice has
// a deterministic outbox id), the message is kept in outbox.dead, audited
// and counted, and the conversation goes on. The notice is queued first,
// so a crash half-way repeats the whole step without a second notice.
func (o *Outbox) deadLetter(ctx context.Context, conv string, it outboxItem, reason DeadReason, cause string) (result, error) {
	now := o.clock.Now()
	if !strings.HasPrefix(it.ID, deadNoticePrefix) {
		if err := o.enqueue(ctx, deadNoticePrefix+it.ID, ToSecurityRoom(), deadNotice(it, reason, cause), false); err != nil {
			return result{}, fmt.Errorf("outbox %s: dead-letter notice: %w", it.ID, err)
		}
	}
	it.Sending = nil
	rec := DeadLetter{ID: it.ID, To: it.To, Msg: it.Msg, Posted: it.Created, Reason: reason, Cause: cause, Attempts: it.Attempts, At: now, By: o.instance}
	data, err := json.Marshal(rec)
	if err != nil {
		return result{}, fmt.Errorf("outbox %s: %w", it.ID, err)
	}
	_, err = o.store.Put(ctx, deadCollection, it.ID, data, store.NewDoc)
	switch {
	case errors.Is(err, store.ErrConflict):
		// Set aside before (a crash came after); announced and audited then.
	case err != nil:
		return result{}, fmt.Errorf("outbox %s: dead letter: %w", it.ID, err)
	default:
		o.log.Error("outbox message set aside as a dead letter", "id", it.ID, "to", it.To.String(), "reason", string(reason), "cause", cause)
		if err := o.engine.audit.Record(ctx, AuditEntry{Actor: "vigil", Action: "outbox.dead_letter", Target: it.ID, Detail: string(reason) + ": " + cause, Where: it.To.String()}); err != nil {
			o.log.Warn("could not audit a dead letter", "id", it.ID, "err", err)
		}
		o.engine.observer.DeadLettered(it.To.Adapter(), string(reason))
	}
	o.forget(ctx, conv, it.ID)
	if it.KeepRef {
		o.wakeFollowers(ctx, it.ID)
	}
	return result{outcome: outDead}, nil
}

// deadNotice is the team's note about a dead letter. It names the message
// by id, where it was going and why it was set aside, never its content
// (which may be report details).
func deadNotice(it outboxItem, reason DeadReason, cause string) Message {
	const maxCause = 300
	if len(cause) > maxCause {
		cause = cause[:maxCause] + "…"
	}
	return Message{
		Header: "A message could not be delivered",
		Text:   "Vigil gave up on a message and set it aside; nothing was deleted.",
		Fields: []Field{
			{Label: "Message", Value: it.ID},
			{Label: "To", Value: it.To.String()},
			{Label: "Why", Value: string(reason) + ": " + cause},
		},
		Context: fmt.Sprintf("Posted %s, kept in the store's outbox.dead collection.", it.Created.Format(time.RFC3339)),
	}
}

// deadLetterRaw sets aside a stored message that cannot be decoded.
func (o *Outbox) deadLetterRaw(ctx context.Context, conv, id string, raw []byte, cause error) {
	rec := DeadLetter{ID: id, Reason: DeadUnreadable, Cause: cause.Error(), At: o.clock.Now(), By: o.instance, Raw: raw}
	data, err := json.Marshal(rec)
	if err == nil {
		_, err = o.store.Put(ctx, deadCollection, id, data, store.NewDoc)
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		o.log.Warn("could not keep an unreadable outbox message", "id", id, "err", err)
		return
	}
	if err == nil {
		_ = o.engine.audit.Record(ctx, AuditEntry{Actor: "vigil", Action: "outbox.dead_letter", Target: id, Detail: string(DeadUnreadable), Where: conv})
		o.engine.observer.DeadLettered("", string(DeadUnreadable))
	}
	o.forget(ctx, conv, id)
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

// outboxBackoff: 1s, 2s, 4s ... capped at outboxMaxWait.
func outboxBackoff(attempt int) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < outboxMaxWait; i++ {
		d *= 2
	}
	return min(d, outboxMaxWait)
}

// heldBackoff grows with the time a message has waited (a quarter of it),
// from a second up to heldMaxWait, so a room that comes back soon is used
// soon and a long wait costs one look a minute.
func (o *Outbox) heldBackoff(it outboxItem) time.Duration {
	return min(max(o.clock.Now().Sub(it.Created)/4, time.Second), heldMaxWait)
}
