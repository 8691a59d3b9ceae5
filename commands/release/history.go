package release

import (
	"context"

	"github.com/vigil-sec/vigil/store"
)

// All reads every stored release (planned, published or cancelled), in id
// order, for the stats.
func All(ctx context.Context, st store.Documents) ([]*Release, error) {
	return store.ListJSON[Release](ctx, st, releaseColl)
}
