package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/textutil"
	"github.com/vigil-sec/vigil/store"
)

// Dead letters: messages the outbox gave up on, kept, audited, counted,
// and told to the team once (docs/DELIVERY.md).

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
	cause = textutil.Truncate(cause, maxCause)
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
