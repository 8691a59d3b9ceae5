package remind

import (
	"context"
	"fmt"
	"time"
)

// Due counts the reminder items whose time has come at now and that have
// not been sent yet: those the dispatch job is about to send, and those
// held back by a maintainer's quiet hours. It reads the maintainers' queue
// and each maintainer's own queue, at most limit entries of each; truncated
// says a limit was reached and the count is a lower bound.
func (r *Reminders) Due(ctx context.Context, now time.Time, limit int) (n int, truncated bool, err error) {
	st := r.e.Store()
	// Every maintainer with items is in the global queue (at their earliest
	// item, or at the end of their quiet hours), so all are read, not only
	// those due there.
	maintainers, err := st.Pending(ctx, globalQueue, limit+1)
	if err != nil {
		return 0, false, fmt.Errorf("reminders due: %w", err)
	}
	if len(maintainers) > limit {
		maintainers, truncated = maintainers[:limit], true
	}
	for _, m := range maintainers {
		items, err := st.Pending(ctx, maintainerQueue(m.Key), limit+1)
		if err != nil {
			return 0, false, fmt.Errorf("reminders due for %s: %w", m.Key, err)
		}
		if len(items) > limit {
			items = items[:limit]
			// Cut short only if the cut-off ones could have been due.
			truncated = truncated || !items[limit-1].Due.After(now)
		}
		for _, it := range items {
			if it.Due.After(now) {
				break // in due order: the rest are later
			}
			n++
		}
	}
	return n, truncated, nil
}
