package duty

import (
	"context"

	"github.com/vigil-sec/vigil/store"
)

// AllRotations reads every stored rotation, in name order, for the stats
// (who covered which shifts: Rotation.Segments).
func AllRotations(ctx context.Context, st store.Documents) ([]*Rotation, error) {
	return store.ListJSON[Rotation](ctx, st, collection)
}
