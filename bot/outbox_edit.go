package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Edits through the outbox (Engine.EditRoot). An edit is an outbox item
// with EditOf set, stored under one id per root ("edit:" + the root's id)
// in a conversation of its own, so a newer edit overwrites a waiting older
// one. It keeps no sent record: an edit may be sent any number of times
// (each shows the same version), so a resend after a crash is harmless,
// and a root can be edited again at once.

func editID(rootID string) string   { return "edit:" + rootID }
func editConv(rootID string) string { return "edit|" + rootID }

func (o *Outbox) enqueueEdit(ctx context.Context, rootID string, msg Message) error {
	if rootID == "" {
		return errors.New("outbox: an edit needs the id of the root it edits")
	}
	id := editID(rootID)
	if err := validOutboxID(id); err != nil {
		return err
	}
	now := o.clock.Now()
	msg.DeliveryID = ""
	data, err := json.Marshal(outboxItem{ID: id, EditOf: rootID, Msg: msg, Created: now, Seq: o.nextSeq(now)})
	if err != nil {
		return fmt.Errorf("outbox: edit of %s: %w", rootID, err)
	}
	conv := editConv(rootID)
	// Overwriting whatever version waits: the last state wins. An edit
	// being sent meanwhile finds its item changed and leaves this one in
	// place (deliverEdit deletes only the version it sent).
	if _, err := o.store.Apply(ctx,
		store.PutOp(outboxCollection, id, data, store.AnyVersion),
		store.SetAddOp(conversationSet(conv), id),
		store.ScheduleOp(outboxQueue, conv, now),
	); err != nil {
		return fmt.Errorf("outbox: edit of %s: %w", rootID, err)
	}
	o.engine.wakeUp()
	return nil
}

// deliverEdit is deliverOne for an edit, under the item's send lease: find
// where the root went, hold or wait as a send would, edit, and forget the
// version that was sent.
func (o *Outbox) deliverEdit(parent, ctx context.Context, conv string, it outboxItem, version int64) (result, error) {
	root, posted, err := o.PostedRef(ctx, it.EditOf)
	if err != nil {
		return result{}, err
	}
	if !posted {
		dropped, err := o.rootDropped(ctx, it.EditOf, it)
		if err != nil {
			return result{}, err
		}
		if dropped {
			return o.dropEdit(ctx, conv, it, version, "its message was never posted")
		}
		return o.notNow(ctx, it, version, result{outcome: outRetry, wait: outboxBackoff.Wait(it.Tries + 1), awaitRoot: it.EditOf}, "")
	}
	if root.Room == SecurityRoomRef {
		// A root posted before rooms were recorded in references.
		sec, ok := o.engine.SecurityRoom("")
		if !ok {
			return o.notNow(ctx, it, version, result{outcome: outHeld, wait: o.heldBackoff(it)}, "no security room is usable yet")
		}
		root.Room = sec.Room
	}
	to := ToRoom(root.Room, ThreadRef{})
	if held, why := o.engine.heldFor(to, it.Msg); held {
		return o.notNow(ctx, it, version, result{outcome: outHeld, wait: o.heldBackoff(it)}, why)
	}
	if _, ok := o.engine.adapter(to.Adapter()); !ok {
		it.LastError = fmt.Sprintf("no %q adapter is connected", to.Adapter())
		return o.notNow(ctx, it, version, result{outcome: outRetry, wait: outboxBackoff.Wait(it.Tries + 1)}, "")
	}
	now := o.clock.Now()
	if it.Attempts >= o.maxAttempts {
		return o.dropEdit(ctx, conv, it, version, fmt.Sprintf("refused %d times; last error: %s", it.Attempts, it.LastError))
	}
	if it.Tries > 0 && now.Sub(it.Created) >= o.maxAge {
		return o.dropEdit(ctx, conv, it, version, fmt.Sprintf("not delivered within %s; last error: %s", o.maxAge, it.LastError))
	}

	sctx, scancel := clock.WithTimeout(ctx, o.clock, o.sendTimeout)
	editErr := o.engine.edit(sctx, to, root, it.Msg)
	scancel()
	rctx, rcancel := o.bookkeeping(parent)
	defer rcancel()
	switch {
	case editErr == nil:
		o.forgetVersion(rctx, conv, it.ID, version)
		return result{outcome: outSent}, nil
	case errors.Is(editErr, ErrPrivacy), errors.Is(editErr, ErrRejected):
		return o.dropEdit(rctx, conv, it, version, editErr.Error())
	case errors.Is(editErr, ErrUnavailable):
		// Not counted, as for sends: an outage is ridden out.
	default:
		it.Attempts++
	}
	it.LastError = editErr.Error()
	wait := outboxBackoff.Wait(it.Tries + 1)
	var ra *RetryAfterError
	if errors.As(editErr, &ra) && ra.After > wait {
		wait = ra.After
	}
	o.log.Warn("edit failed; will retry", "id", it.ID, "message", root.ID, "attempt", it.Attempts, "in", wait, "err", editErr)
	return o.notNow(rctx, it, version, result{outcome: outRetry, wait: wait}, "")
}

// dropEdit gives up an edit: the message keeps the version it shows.
func (o *Outbox) dropEdit(ctx context.Context, conv string, it outboxItem, version int64, why string) (result, error) {
	o.log.Warn("dropping an edit; the message keeps its previous version", "id", it.ID, "why", why)
	o.forgetVersion(ctx, conv, it.ID, version)
	return result{outcome: outSkipped}, nil
}

// forgetVersion removes an item only if it is still the version that was
// handled: a newer edit stored meanwhile stays queued (its enqueue re-armed
// the conversation).
func (o *Outbox) forgetVersion(ctx context.Context, conv, id string, version int64) {
	_, err := o.store.Apply(ctx,
		store.DeleteOp(outboxCollection, id, version),
		store.SetRemoveOp(conversationSet(conv), id),
	)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		o.log.Warn("outbox cleanup", "id", id, "err", err)
	}
}
