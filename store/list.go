package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// ManyChunk is how many ids GetManyJSON asks for per GetMany: large enough
// that reading a history of thousands costs a handful of round trips, small
// enough that one pipeline neither holds Redis up nor builds one huge reply.
const ManyChunk = 500

// ListJSON decodes every document of a collection, in id order. It is for
// reading a feature's whole history (the stats): one List, then the
// documents ManyChunk at a time (GetManyJSON). A document that went missing
// between the listing and its read is skipped, one that does not decode is
// an error wrapping ErrCorrupt.
func ListJSON[T any](ctx context.Context, d Documents, collection string) ([]*T, error) {
	ids, err := d.List(ctx, collection)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", collection, err)
	}
	return GetManyJSON[T](ctx, d, collection, ids)
}

// GetManyJSON decodes the documents of ids, in the order of ids, reading
// them with GetMany ManyChunk ids at a time: one round trip per chunk on
// Redis rather than one per document. A missing document (removed
// meanwhile, or an index entry without one) is skipped; one that does not
// decode is an error wrapping ErrCorrupt that names it.
func GetManyJSON[T any](ctx context.Context, d Documents, collection string, ids []string) ([]*T, error) {
	out := make([]*T, 0, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), ManyChunk)]
		ids = ids[len(chunk):]
		docs, err := d.GetMany(ctx, collection, chunk)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			if doc.Version == 0 {
				continue
			}
			v := new(T)
			if err := json.Unmarshal(doc.Data, v); err != nil {
				return nil, fmt.Errorf("%s/%s: %w: %v", collection, doc.ID, ErrCorrupt, err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}
