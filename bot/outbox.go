package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

const (
	outboxCollection = "outbox"
	outboxQueue      = "outbox"
	// outboxHold: how long one replica owns a conversation while sending.
	outboxHold = 2 * time.Minute
	// sentTTL: how long a "sent" record keeps a message from going twice.
	sentTTL = 30 * 24 * time.Hour
	// outboxMaxWait caps the retry backoff: a chat service that is down
	// for hours is tried at least this often.
	outboxMaxWait = 5 * time.Minute
)

// Outbox is the durable delivery path, a small pipeline in the manner of
// Alertmanager's notifier: store first, then for each conversation in order
// -> privacy rule -> dedup against the sent log -> send -> record as sent.
// A failure that may pass (rate limit, outage) retries the conversation with
// backoff, keeping its order; a permanent one is logged and dropped.
type Outbox struct {
	engine *Engine
	store  store.Store
	clock  clock.Clock
	log    *slog.Logger
	seq    atomic.Int64
}

// outboxItem is a stored outbound message.
type outboxItem struct {
	ID       string      `json:"id"`
	To       Destination `json:"to"`
	Msg      Message     `json:"msg"`
	Created  time.Time   `json:"created"`
	Seq      int64       `json:"seq"`
	Attempts int         `json:"attempts,omitempty"`
	// KeepRef records the posted message's reference, so later messages
	// can go into its thread (Destination.InThreadOf).
	KeepRef bool `json:"keep_ref,omitempty"`
}

const refCollection = "outbox.refs"

func conversationSet(conv string) string { return "outbox:" + conv }

// Enqueue stores a message for delivery. Enqueueing an id that is already
// queued or was sent is a no-op, so a job that runs twice posts once.
func (o *Outbox) Enqueue(ctx context.Context, id string, to Destination, msg Message) error {
	return o.enqueue(ctx, id, to, msg, false)
}

func (o *Outbox) enqueue(ctx context.Context, id string, to Destination, msg Message, keepRef bool) error {
	if id == "" {
		id = randomID(12)
	}
	if to.Adapter() == "" {
		return fmt.Errorf("outbox: message %s has no destination", id)
	}
	now := o.clock.Now()
	if sent, err := o.store.WasSeen(ctx, sentKey(id), now); err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", id, err)
	} else if sent {
		return nil
	}
	item := outboxItem{ID: id, To: to, Msg: msg, Created: now, Seq: o.nextSeq(now), KeepRef: keepRef}
	data, err := json.Marshal(item)
	if err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", id, err)
	}
	// An id that is already stored keeps its first content and place in
	// line, but the index and queue writes below still run: if an earlier
	// Enqueue stopped half-way (the store went away), posting again repairs
	// it instead of leaving a message that is never delivered.
	if _, err := o.store.Put(ctx, outboxCollection, id, data, store.NewDoc); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("outbox: enqueue %s: %w", id, err)
	}
	conv := to.key()
	if err := o.store.SetAdd(ctx, conversationSet(conv), id); err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", id, err)
	}
	// Scheduling at "now" also re-arms a conversation that a sender holds
	// at this moment, so the new message is not stranded.
	if err := o.store.Schedule(ctx, outboxQueue, conv, now); err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", id, err)
	}
	o.engine.wakeUp()
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

func sentKey(id string) string { return "sent:" + id }

// Depth returns how many conversations wait for delivery.
func (o *Outbox) Depth(ctx context.Context) (int, error) {
	items, err := o.store.Pending(ctx, outboxQueue, 10000)
	return len(items), err
}

// Flush delivers every conversation that is due and returns how many
// messages went out.
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	sent := 0
	for {
		claims, err := o.store.ClaimDue(ctx, outboxQueue, o.clock.Now(), outboxHold, 50)
		if err != nil {
			return sent, fmt.Errorf("claim outbox: %w", err)
		}
		// Conversations go in the order their oldest waiting message was
		// posted, so a hand-off announced in the room and then by DM
		// arrives in that order, whatever the queue's tie-breaking.
		convs := make([]conversation, 0, len(claims))
		for _, c := range claims {
			conv, err := o.loadConversation(ctx, c)
			if err != nil {
				return sent, err
			}
			convs = append(convs, conv)
		}
		sort.SliceStable(convs, func(i, j int) bool { return convs[i].head() < convs[j].head() })
		for _, conv := range convs {
			n, err := o.deliverConversation(ctx, conv)
			sent += n
			if err != nil {
				return sent, err
			}
		}
		if len(claims) < 50 {
			return sent, nil
		}
	}
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
			o.log.Error("dropping an unreadable outbox message", "id", id, "err", err)
			o.drop(ctx, c.Key, id)
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

func (o *Outbox) deliverConversation(ctx context.Context, conv conversation) (int, error) {
	c, items, versions := conv.claim, conv.items, conv.versions
	sent := 0
	for _, it := range items {
		err := o.deliverOne(ctx, it)
		switch {
		case err == nil:
			sent++
			o.drop(ctx, c.Key, it.ID)
		case errors.Is(err, store.ErrUnavailable):
			return sent, err
		case errors.Is(err, ErrRejected) || errors.Is(err, ErrPrivacy):
			// Retrying cannot help; keep order for the rest.
			o.log.Error("outbox message dropped", "id", it.ID, "to", it.To.String(), "err", err)
			_ = o.engine.audit.Record(ctx, AuditEntry{Actor: "vigil", Action: "outbox.dropped", Target: it.ID, Detail: err.Error(), Where: it.To.String()})
			o.drop(ctx, c.Key, it.ID)
		default:
			// Keep this and everything after it, in order, for later.
			it.Attempts++
			wait := outboxBackoff(it.Attempts)
			var ra *RetryAfterError
			if errors.As(err, &ra) && ra.After > wait {
				wait = ra.After
			}
			o.log.Warn("delivery failed; will retry", "id", it.ID, "to", it.To.String(), "attempt", it.Attempts, "in", wait, "err", err)
			if data, mErr := json.Marshal(it); mErr == nil {
				_, _ = o.store.Put(ctx, outboxCollection, it.ID, data, versions[it.ID])
			}
			if err := o.store.Schedule(ctx, outboxQueue, c.Key, o.clock.Now().Add(wait)); err != nil {
				return sent, fmt.Errorf("outbox %s: reschedule: %w", c.Key, err)
			}
			return sent, nil
		}
	}
	// Removes the conversation unless a new message re-armed it meanwhile.
	if _, err := o.store.Complete(ctx, outboxQueue, c); err != nil {
		return sent, fmt.Errorf("outbox %s: %w", c.Key, err)
	}
	return sent, nil
}

// deliverOne is the per-message pipeline: dedup, send, record.
func (o *Outbox) deliverOne(ctx context.Context, it outboxItem) error {
	now := o.clock.Now()
	// The conversation claim makes this replica the only sender, so the
	// check and the record need not be one atomic step. The record is
	// written only after a successful send: a crash between the two may
	// send once more, but never loses a message.
	if sent, err := o.store.WasSeen(ctx, sentKey(it.ID), now); err != nil {
		return err
	} else if sent {
		return nil
	}
	to := it.To
	if to.InThreadOf != "" {
		root, ok, err := o.PostedRef(ctx, to.InThreadOf)
		if err != nil {
			return err
		}
		if !ok {
			// The root is queued (perhaps waiting out an outage itself):
			// try again later rather than post outside the thread.
			return fmt.Errorf("%w: thread root %s is not posted yet", ErrUnavailable, to.InThreadOf)
		}
		to.Thread = ThreadRef{Room: to.Room, ID: root.ID}
	}
	ref, err := o.engine.deliver(ctx, to, it.Msg)
	if err != nil {
		return err
	}
	if it.KeepRef {
		data, _ := json.Marshal(ref)
		if _, err := o.store.Put(ctx, refCollection, it.ID, data, store.AnyVersion); err != nil {
			o.log.Warn("thread root posted but its reference not recorded", "id", it.ID, "err", err)
		}
	}
	if _, err := o.store.MarkSeen(ctx, sentKey(it.ID), now, sentTTL); err != nil {
		o.log.Warn("message sent but not recorded as sent", "id", it.ID, "err", err)
	}
	return nil
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

func (o *Outbox) drop(ctx context.Context, conv, id string) {
	if err := o.store.Delete(ctx, outboxCollection, id, store.AnyVersion); err != nil {
		o.log.Warn("outbox cleanup", "id", id, "err", err)
	}
	if err := o.store.SetRemove(ctx, conversationSet(conv), id); err != nil {
		o.log.Warn("outbox cleanup", "id", id, "err", err)
	}
}

// outboxBackoff: 1s, 2s, 4s ... capped at outboxMaxWait.
func outboxBackoff(attempt int) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < outboxMaxWait; i++ {
		d *= 2
	}
	return min(d, outboxMaxWait)
}
