package incident

import (
	"context"

	"github.com/vigil-sec/vigil/store"
)

// All reads every stored incident, open or resolved, in id order, for
// the stats.
func All(ctx context.Context, st store.Documents) ([]*Incident, error) {
	return store.ListJSON[Incident](ctx, st, coll)
}
