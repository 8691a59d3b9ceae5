package bot

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// cachedStore is the store the engine hands to features (Engine.Store). It
// is the configured store, except that the documents of the collections a
// feature asked to cache (Engine.CacheDocs: rotations, the directory's
// people, the open reports) are served from memory while an event is
// handled, as long as their version stamps, read in the same round trip as
// the event's seen-once mark (begin), say they did not change. Another
// replica's change moves the stamp, so it is seen by the very next event;
// the cache only saves the reading of unchanged documents.
//
// Outside an event (jobs, HTTP routes) there is no stamp read, and every
// read goes to the store as before. A store that cannot read in batches
// (store.Reader) leaves the cache off.
type cachedStore struct {
	store.Store
	r store.Reader // nil: no cache

	mu      sync.Mutex
	views   []docsView           // registered at start
	fields  []string             // the stamps of the views, each once
	stampQs []store.Query        // a StampQuery per field
	entries map[docsView]*cached // what was last loaded, per view
}

// docsView is what one cache entry holds: the documents of a collection,
// or of the members of a set.
type docsView struct{ coll, set string }

func (v docsView) stamps() []string {
	if v.set == "" {
		return []string{store.StampField(v.coll, "")}
	}
	return []string{store.StampField(v.coll, ""), store.StampField("", v.set)}
}

// cached is one view as loaded, with the stamps it was loaded at.
type cached struct {
	stamp, setStamp int64
	docs            []store.Doc // sorted by id; never changed once stored
}

// observed holds the stamps one event read; it lives in the event's
// context. A write of the event through the cache forgets the stamps it
// moved, so the event's next read loads what it wrote.
type observed struct {
	mu     sync.Mutex
	stamps map[string]int64
}

type observedKey struct{}

func newCachedStore(s store.Store) *cachedStore {
	c := &cachedStore{Store: s, entries: map[docsView]*cached{}}
	c.r, _ = s.(store.Reader)
	return c
}

// cacheDocs registers a view (at start, before events arrive).
func (c *cachedStore) cacheDocs(collection, set string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := docsView{collection, set}
	if slices.Contains(c.views, v) {
		return
	}
	c.views = append(c.views, v)
	for _, f := range v.stamps() {
		if !slices.Contains(c.fields, f) {
			c.fields = append(c.fields, f)
			coll, set := fromStampField(f)
			c.stampQs = append(c.stampQs, store.StampQuery(coll, set))
		}
	}
}

// begin marks the event seen (when seenKey is not empty) and reads the
// stamps of every view, in one round trip. It returns the context that
// carries the stamps, and whether the event is new. On an error the event
// counts as new and its reads go to the store, as if there were no cache.
func (c *cachedStore) begin(ctx context.Context, seenKey string, now time.Time) (context.Context, bool, error) {
	if c.r == nil {
		if seenKey == "" {
			return ctx, true, nil
		}
		first, err := c.Store.MarkSeen(ctx, seenKey, now, 24*time.Hour)
		return ctx, first || err != nil, err
	}
	c.mu.Lock()
	fields := c.fields
	qs := make([]store.Query, 0, len(c.stampQs)+1)
	if seenKey != "" {
		qs = append(qs, store.MarkSeenQuery(seenKey, now, 24*time.Hour))
	}
	qs = append(qs, c.stampQs...)
	c.mu.Unlock()
	answers, err := c.r.Read(ctx, qs...)
	if err != nil {
		return ctx, true, err
	}
	first := true
	if seenKey != "" {
		first, answers = answers[0].First, answers[1:]
	}
	obs := &observed{stamps: make(map[string]int64, len(fields))}
	for i, f := range fields {
		obs.stamps[f] = answers[i].Stamp
	}
	return context.WithValue(ctx, observedKey{}, obs), first, nil
}

func fromStampField(f string) (coll, set string) {
	if s, ok := strings.CutPrefix(f, "s:"); ok {
		return "", s
	}
	return strings.TrimPrefix(f, "d:"), ""
}

func observedIn(ctx context.Context) *observed {
	o, _ := ctx.Value(observedKey{}).(*observed)
	return o
}

// stamp returns the stamp the event read for a field, if it did and did
// not write there since.
func (o *observed) stamp(field string) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.stamps[field]
	return s, ok
}

func (o *observed) set(field string, s int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stamps[field] = s
}

func (o *observed) forget(field string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.stamps, field)
}

// view returns the registered view for (coll, set), if any.
func (c *cachedStore) view(coll, set string) (docsView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := docsView{coll, set}
	return v, slices.Contains(c.views, v)
}

// docs returns the view's documents, from memory when the entry was
// loaded at the stamps this event read, else loaded anew (one round trip)
// with the stamps of that instant, which the event then goes by. ok is
// false outside an event: the caller reads the store itself.
func (c *cachedStore) docs(ctx context.Context, v docsView) (_ []store.Doc, ok bool, _ error) {
	obs := observedIn(ctx)
	if obs == nil || c.r == nil {
		return nil, false, nil
	}
	fields := v.stamps()
	stamp, okColl := obs.stamp(fields[0])
	setStamp, okSet := int64(0), true
	if v.set != "" {
		setStamp, okSet = obs.stamp(fields[1])
	}
	c.mu.Lock()
	e := c.entries[v]
	c.mu.Unlock()
	if e != nil && okColl && okSet && e.stamp == stamp && e.setStamp == setStamp {
		return e.docs, true, nil
	}
	answers, err := c.r.Read(ctx, store.DocsQuery(v.coll, v.set))
	if err != nil {
		return nil, true, err
	}
	a := answers[0]
	e = &cached{stamp: a.Stamp, setStamp: a.SetStamp, docs: a.Docs}
	c.mu.Lock()
	c.entries[v] = e
	c.mu.Unlock()
	obs.set(fields[0], a.Stamp)
	if v.set != "" {
		obs.set(fields[1], a.SetStamp)
	}
	return e.docs, true, nil
}

// cloned copies a cached document, so no caller can change the cache.
func cloned(d store.Doc) store.Doc {
	d.Data = bytes.Clone(d.Data)
	return d
}

// Docs returns the documents of a view (see store.Docs): from the cache
// during an event, else from the store.
func (c *cachedStore) Docs(ctx context.Context, collection, set string) ([]store.Doc, error) {
	if v, ok := c.view(collection, set); ok {
		docs, served, err := c.docs(ctx, v)
		if served {
			if err != nil {
				return nil, err
			}
			out := make([]store.Doc, len(docs))
			for i, d := range docs {
				out[i] = cloned(d)
			}
			return out, nil
		}
	}
	return store.Docs(ctx, c.Store, collection, set)
}

// Get serves a document of a cached collection from its view.
func (c *cachedStore) Get(ctx context.Context, collection, id string) (store.Doc, error) {
	if v, ok := c.view(collection, ""); ok {
		docs, served, err := c.docs(ctx, v)
		if served && err == nil {
			i, found := slices.BinarySearchFunc(docs, id, func(d store.Doc, id string) int { return strings.Compare(d.ID, id) })
			if !found {
				// As the store words it, with the operation named.
				return store.Doc{}, &notFoundError{collection: collection, id: id}
			}
			return cloned(docs[i]), nil
		}
		if served {
			return store.Doc{}, err
		}
	}
	return c.Store.Get(ctx, collection, id)
}

// notFoundError is a cached Get of a missing document.
type notFoundError struct{ collection, id string }

func (e *notFoundError) Error() string {
	return "cache: get docs/" + e.collection + "/" + e.id + ": " + store.ErrNotFound.Error()
}
func (e *notFoundError) Unwrap() error { return store.ErrNotFound }

// List serves the ids of a cached collection from its view.
func (c *cachedStore) List(ctx context.Context, collection string) ([]string, error) {
	if v, ok := c.view(collection, ""); ok {
		docs, served, err := c.docs(ctx, v)
		if served {
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(docs))
			for i, d := range docs {
				ids[i] = d.ID
			}
			return ids, nil
		}
	}
	return c.Store.List(ctx, collection)
}

// wrote forgets, for this event, the stamps a write moved (or may have
// moved: a failed write too, a version conflict above all, so the retry
// reads what is stored now).
func (c *cachedStore) wrote(ctx context.Context, fields ...string) {
	if obs := observedIn(ctx); obs != nil {
		for _, f := range fields {
			obs.forget(f)
		}
	}
}

func (c *cachedStore) Put(ctx context.Context, collection, id string, data []byte, expect int64) (int64, error) {
	defer c.wrote(ctx, store.StampField(collection, ""))
	return c.Store.Put(ctx, collection, id, data, expect)
}

func (c *cachedStore) Delete(ctx context.Context, collection, id string, expect int64) error {
	defer c.wrote(ctx, store.StampField(collection, ""))
	return c.Store.Delete(ctx, collection, id, expect)
}

func (c *cachedStore) SetAdd(ctx context.Context, set string, members ...string) error {
	defer c.wrote(ctx, store.StampField("", set))
	return c.Store.SetAdd(ctx, set, members...)
}

func (c *cachedStore) SetRemove(ctx context.Context, set string, members ...string) error {
	defer c.wrote(ctx, store.StampField("", set))
	return c.Store.SetRemove(ctx, set, members...)
}

func (c *cachedStore) Apply(ctx context.Context, ops ...store.Op) ([]int64, error) {
	defer func() {
		for _, o := range ops {
			switch o.Kind() {
			case store.OpPut, store.OpDelete:
				c.wrote(ctx, store.StampField(o.Name(), ""))
			case store.OpSetAdd, store.OpSetRemove:
				c.wrote(ctx, store.StampField("", o.Name()))
			}
		}
	}()
	return c.Store.Apply(ctx, ops...)
}
