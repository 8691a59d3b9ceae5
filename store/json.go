package store

import (
	"context"
	"encoding/json"
	"errors"
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

// UpdateJSON reads a JSON document, applies change and writes it back with
// compare-and-swap, reading again and retrying when someone else wrote it
// meanwhile (up to five times). An error from change stops it and nothing
// is written. A missing document is an error wrapping ErrNotFound.
func UpdateJSON[T any](ctx context.Context, d Documents, collection, id string, change func(*T) error) (*T, error) {
	for range 5 {
		v, version, err := GetJSON[T](ctx, d, collection, id)
		if err != nil {
			return nil, err
		}
		if err := change(v); err != nil {
			return nil, err
		}
		_, err = PutJSON(ctx, d, collection, id, v, version)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("%s/%s: %w (five tries)", collection, id, ErrConflict)
}

// DocsJSON decodes the documents Docs returns (a collection, or the
// members of set), sorted by id.
func DocsJSON[T any](ctx context.Context, s Store, collection, set string) ([]*T, error) {
	docs, err := Docs(ctx, s, collection, set)
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(docs))
	for i, doc := range docs {
		out[i] = new(T)
		if err := json.Unmarshal(doc.Data, out[i]); err != nil {
			return nil, fmt.Errorf("%s/%s: %w: %v", collection, doc.ID, ErrCorrupt, err)
		}
	}
	return out, nil
}
