package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

func (r *Reports) load(ctx context.Context, id string) (*Report, int64, error) {
	rep, version, err := store.GetJSON[Report](ctx, r.e.Store(), reportColl, strings.ToUpper(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, bot.Usagef("there is no report %s", strings.ToUpper(id))
	}
	return rep, version, err
}

// update changes a report with compare-and-swap (store.UpdateJSON, which
// reads again and retries on conflict), then takes a closed report off the
// open list and tells the watchers what changed. An error from change is
// returned as it is, so a usage error still reads as one.
func (r *Reports) update(ctx context.Context, id string, change func(rep *Report) error) (*Report, error) {
	id = strings.ToUpper(id)
	var before Report
	var changeErr error
	rep, err := store.UpdateJSON(ctx, r.e.Store(), reportColl, id, func(rep *Report) error {
		// Taken on every try: a retry starts again from what is stored.
		before = *rep
		before.Adjudications = append([]Adjudication(nil), rep.Adjudications...)
		changeErr = change(rep)
		return changeErr
	})
	switch {
	case changeErr != nil:
		return nil, changeErr
	case errors.Is(err, store.ErrNotFound):
		return nil, bot.Usagef("there is no report %s", id)
	case err != nil:
		return nil, fmt.Errorf("save report %s: %w", id, err)
	}
	if !rep.open() {
		if err := r.e.Store().SetRemove(ctx, openSet, rep.ID); err != nil {
			return nil, fmt.Errorf("report %s: take off the open list: %w", rep.ID, err)
		}
	}
	// The summary at the top of the thread shows the report as it is now
	// (state, assignee, checklist, buttons): edited in place, the last
	// version winning if several changes are waiting. It notifies the
	// assignee only when the assignee changed, not on every tick.
	summary := r.summary(rep)
	if before.Assignee == rep.Assignee {
		summary.Mentions = nil
	}
	if err := r.e.EditRoot(ctx, rootID(rep.ID), summary); err != nil {
		return rep, fmt.Errorf("report %s changed, but its summary was not updated: %w", rep.ID, err)
	}
	if before.State != rep.State || before.EffectiveSeverity() != rep.EffectiveSeverity() {
		for _, w := range r.watchers {
			if err := w(ctx, &before, rep); err != nil {
				return rep, fmt.Errorf("report %s changed, but a follower failed: %w", rep.ID, err)
			}
		}
	}
	return rep, nil
}

// openReports lists the reports still needing work, oldest first.
func (r *Reports) openReports(ctx context.Context) ([]*Report, error) {
	// One round trip (none while they are unchanged: the engine caches
	// them); an id on the list without its report is left out.
	out, err := store.DocsJSON[Report](ctx, r.e.Store(), reportColl, openSet)
	if err != nil {
		return nil, fmt.Errorf("open reports: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out, nil
}

// nextID allocates VIG-<year>-<n> from the store's atomic counter for the
// year, so concurrent intake on any replica never collides or retries.
func (r *Reports) nextID(ctx context.Context, year int) (string, error) {
	n, err := r.e.Store().Incr(ctx, "report:"+strconv.Itoa(year))
	if err != nil {
		return "", fmt.Errorf("report counter: %w", err)
	}
	return fmt.Sprintf("VIG-%d-%d", year, n), nil
}

func (r *Reports) bySource(ctx context.Context, key string) (*Report, error) {
	doc, err := r.e.Store().Get(ctx, sourceColl, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report source %s: %w", key, err)
	}
	rep, _, err := r.load(ctx, string(doc.Data))
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return nil, nil // index without its report: file it again
	}
	return rep, err
}
