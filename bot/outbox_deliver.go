package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Delivery: claiming conversations and sending their messages in order,
// one sender per message across replicas (docs/DELIVERY.md).

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
	if it.EditOf != "" {
		return o.deliverEdit(parent, ctx, conv, it, version)
	}
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
		return o.notNow(ctx, it, version, result{outcome: outRetry, wait: outboxBackoff.Wait(it.Tries + 1)}, "")
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
				return o.notNow(ctx, it, version, result{outcome: outRetry, wait: outboxBackoff.Wait(it.Tries + 1)}, "")
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
	wait := outboxBackoff.Wait(it.Tries + 1)
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
				return to, msg, &result{outcome: outRetry, wait: outboxBackoff.Wait(it.Tries + 1), awaitRoot: to.InThreadOf}, nil
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
