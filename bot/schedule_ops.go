package bot

import (
	"encoding/json"
	"fmt"

	"github.com/vigil-sec/vigil/store"
)

// ScheduleOps returns the writes Schedule makes for j (its document and its
// due-queue entry), so a feature can put a job in the same atomic batch as
// the state it belongs to: a report and its clock are stored together or
// not at all.
func (s *Scheduler) ScheduleOps(j Job) ([]store.Op, error) {
	if j.ID == "" || j.Kind == "" {
		return nil, fmt.Errorf("schedule: a job needs an id and a kind")
	}
	if j.Due.IsZero() {
		return nil, fmt.Errorf("schedule %s: no due time", j.ID)
	}
	data, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", j.ID, err)
	}
	return []store.Op{
		store.PutOp(jobCollection, j.ID, data, store.AnyVersion),
		store.ScheduleOp(jobQueue, j.ID, j.Due),
	}, nil
}
