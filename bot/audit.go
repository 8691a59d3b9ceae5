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
	if e.At.IsZero() {
		e.At = a.clock.Now()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := a.store.Append(ctx, auditLog, data); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
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
