package store

import (
	"context"
	"errors"
	"fmt"
)

// ListJSON decodes every document of a collection, in id order. It is for
// reading a feature's whole history (the stats): a document that went
// missing between the listing and its read is skipped, one that does not
// decode is an error wrapping ErrCorrupt.
func ListJSON[T any](ctx context.Context, d Documents, collection string) ([]*T, error) {
	ids, err := d.List(ctx, collection)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", collection, err)
	}
	out := make([]*T, 0, len(ids))
	for _, id := range ids {
		v, _, err := GetJSON[T](ctx, d, collection, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
