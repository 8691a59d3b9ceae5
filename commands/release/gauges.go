package release

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// Gauges are the release clocks in breach at one instant.
type Gauges struct {
	// NoticeBreaches counts releases not announced by their deadline:
	// MinNotice (48h) before the public time, or the public time itself
	// for an expedited release (whose notice was waived, with a reason,
	// but which must still be announced).
	NoticeBreaches int
	// PublishBreaches counts releases merged and not published by
	// PublishDue (merge + the publication window).
	PublishBreaches int
	// Truncated: there were more active releases than the limit.
	Truncated bool
}

// Gauges reads the active releases (at most limit, store.ManyChunk per
// round trip) and counts the clocks in breach at now. A release removed
// meanwhile is skipped.
func (r *Releases) Gauges(ctx context.Context, now time.Time, limit int) (Gauges, error) {
	ids, err := r.e.Store().SetMembers(ctx, activeSet)
	if err != nil {
		return Gauges{}, fmt.Errorf("active releases: %w", err)
	}
	var g Gauges
	if len(ids) > limit {
		ids, g.Truncated = ids[:limit], true
	}
	rels, err := store.GetManyJSON[Release](ctx, r.e.Store(), releaseColl, ids)
	if err != nil {
		return Gauges{}, fmt.Errorf("active releases: %w", err)
	}
	for _, rel := range rels {
		if r.noticeBreached(rel, now) {
			g.NoticeBreaches++
		}
		if rel.State == StateMerged && rel.LateAt(now) {
			g.PublishBreaches++
		}
	}
	return g, nil
}

// noticeBreached: the release is still only planned past the time it had
// to be announced by.
func (r *Releases) noticeBreached(rel *Release, now time.Time) bool {
	if rel.State != StatePlanned {
		return false
	}
	deadline := rel.PublicAt.Add(-r.o.MinNotice)
	if rel.Expedited {
		deadline = rel.PublicAt
	}
	return !now.Before(deadline)
}
