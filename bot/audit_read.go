package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigil-sec/vigil/store"
)

// auditPage is how many entries ReadAudit reads per round trip.
const auditPage = 1000

// ReadAudit calls fn with every audit entry, oldest first, paging through
// the log. It takes the store rather than the engine so the yearly report
// (`vigil stats`) can read a store no engine runs on.
func ReadAudit(ctx context.Context, st store.Logs, fn func(AuditEntry) error) error {
	after := ""
	for {
		raw, err := st.ReadLog(ctx, auditLog, after, auditPage)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		for _, r := range raw {
			var e AuditEntry
			if err := json.Unmarshal(r.Data, &e); err != nil {
				return fmt.Errorf("audit entry %s: %w: %v", r.ID, store.ErrCorrupt, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(raw) < auditPage {
			return nil
		}
		after = raw[len(raw)-1].ID
	}
}
