package report

import (
	"context"

	"github.com/vigil-sec/vigil/store"
)

// All reads every stored report, open or finished, in id order: the
// history the stats are computed from. It reads the store directly so the
// yearly report (`vigil stats`) needs no running feature.
func All(ctx context.Context, st store.Documents) ([]*Report, error) {
	return store.ListJSON[Report](ctx, st, reportColl)
}
