package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetJSON reads a document and decodes it as JSON. Features keep their
// state as JSON documents; this is the one place that says how an
// unreadable one is reported (ErrCorrupt, with the document named).
func GetJSON[T any](ctx context.Context, d Documents, collection, id string) (*T, int64, error) {
	doc, err := d.Get(ctx, collection, id)
	if err != nil {
		return nil, 0, err
	}
	var v T
	if err := json.Unmarshal(doc.Data, &v); err != nil {
		return nil, 0, fmt.Errorf("%s/%s: %w: %v", collection, id, ErrCorrupt, err)
	}
	return &v, doc.Version, nil
}

// PutJSON encodes v as JSON and writes it under Put's version rule.
func PutJSON(ctx context.Context, d Documents, collection, id string, v any, expect int64) (int64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("%s/%s: encode: %w", collection, id, err)
	}
	return d.Put(ctx, collection, id, data, expect)
}
