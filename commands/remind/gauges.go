package remind

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// Due counts the reminder items whose time has come at now and that have
// not been sent yet: those the dispatch job is about to send, and those
// held back by a maintainer's quiet hours. It reads the maintainers' queue,
// then the items due at now of each maintainer's own queue, store.ManyChunk
// queues per read (PendingMany: one round trip on Redis), at most limit
// entries of each; truncated says a limit was reached and the count is a
// lower bound.
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
	for len(maintainers) > 0 {
		chunk := maintainers[:min(len(maintainers), store.ManyChunk)]
		maintainers = maintainers[len(chunk):]
		queues := make([]string, len(chunk))
		for i, m := range chunk {
			queues[i] = maintainerQueue(m.Key)
		}
		// Only the items due at now, one more than the limit: the extra
		// one says the maintainer has more due than were counted.
		pending, err := st.PendingMany(ctx, queues, now, limit+1)
		if err != nil {
			return 0, false, fmt.Errorf("reminders due: %w", err)
		}
		for _, items := range pending {
			if len(items) > limit {
				items, truncated = items[:limit], true
			}
			n += len(items)
		}
	}
	return n, truncated, nil
}
