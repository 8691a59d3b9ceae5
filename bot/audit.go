package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

const auditLog = "audit"

// AuditEntry records one state change: who, what, when, from where.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Where  string    `json:"where,omitempty"`
}

// Audit is the append-only audit log.
type Audit struct {
	store store.Store
	clock clock.Clock
}

// Record appends an entry, stamping it with the engine clock.
func (a *Audit) Record(ctx context.Context, e AuditEntry) error {
	data, err := a.encode(e)
	if err != nil {
		return err
	}
	if _, err := a.store.Append(ctx, auditLog, data); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Op returns the write that records e (stamped like Record), for a feature
// that applies it in the same store.Apply as the change it records: the
// log then holds the entry exactly when the change happened, and it costs
// no round trip of its own.
func (a *Audit) Op(e AuditEntry) (store.Op, error) {
	data, err := a.encode(e)
	if err != nil {
		return store.Op{}, err
	}
	return store.AppendOp(auditLog, data), nil
}

func (a *Audit) encode(e AuditEntry) ([]byte, error) {
	if e.At.IsZero() {
		e.At = a.clock.Now()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return data, nil
}

// Last returns the last n entries, oldest first.
func (a *Audit) Last(ctx context.Context, n int) ([]AuditEntry, error) {
	raw, err := a.store.LastEntries(ctx, auditLog, n)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out := make([]AuditEntry, 0, len(raw))
	for _, r := range raw {
		var e AuditEntry
		if err := json.Unmarshal(r.Data, &e); err != nil {
			return nil, fmt.Errorf("audit entry %s: %w: %v", r.ID, store.ErrCorrupt, err)
		}
		out = append(out, e)
	}
	return out, nil
}
