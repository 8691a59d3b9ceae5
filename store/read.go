package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// QueryKind says what a Query reads.
type QueryKind uint8

// The kinds of read query. The zero QueryKind is a Query built without a
// constructor, which Read rejects as ErrInvalid.
const (
	QueryMarkSeen QueryKind = iota + 1
	QueryStamp
	QueryGet
	QueryDocs
)

// Query is one read of a Read batch; build it with the constructors below.
// Like Op it is a value, never changed after construction.
type Query struct {
	kind QueryKind
	name string // collection, or the seen key
	id   string // document id (QueryGet)
	set  string // QueryDocs: only the documents whose ids are members
	now  time.Time
	ttl  time.Duration
}

// MarkSeenQuery records key like Seen.MarkSeen; Answer.First says whether
// the caller is the first. It is the one write a Read may carry, so the
// seen-once mark of an event and the reads of its command travel together.
func MarkSeenQuery(key string, now time.Time, ttl time.Duration) Query {
	return Query{kind: QueryMarkSeen, name: key, now: now, ttl: ttl}
}

// StampQuery reads the version stamp of a collection (the documents) or,
// when set is not empty, of a set, into Answer.Stamp. Exactly one of
// collection and set is given.
func StampQuery(collection, set string) Query {
	return Query{kind: QueryStamp, name: collection, set: set}
}

// GetQuery reads one document like Documents.Get: Answer.Doc, or
// Answer.Err wrapping ErrNotFound.
func GetQuery(collection, id string) Query {
	return Query{kind: QueryGet, name: collection, id: id}
}

// DocsQuery reads every document of a collection (set empty) or those
// whose ids are members of set, sorted by id, with the collection's stamp
// (Answer.Stamp) and the set's (Answer.SetStamp) read at the same instant
// as the documents. A member without a document is left out.
func DocsQuery(collection, set string) Query {
	return Query{kind: QueryDocs, name: collection, set: set}
}

// Kind says what the query reads.
func (q Query) Kind() QueryKind { return q.kind }

// Name is the collection (QueryGet, QueryDocs, QueryStamp of a collection)
// or the seen key (QueryMarkSeen).
func (q Query) Name() string { return q.name }

// ID is the document id of a QueryGet.
func (q Query) ID() string { return q.id }

// Set is the set of a QueryDocs or of a QueryStamp of a set.
func (q Query) Set() string { return q.set }

// Now and TTL are MarkSeen's arguments.
func (q Query) Now() time.Time     { return q.now }
func (q Query) TTL() time.Duration { return q.ttl }

// String names the query for errors; names only, never data.
func (q Query) String() string {
	switch q.kind {
	case QueryMarkSeen:
		return "mark seen " + q.name
	case QueryStamp:
		if q.set != "" {
			return "stamp of set " + q.set
		}
		return "stamp of docs/" + q.name
	case QueryGet:
		return "get docs/" + q.name + "/" + q.id
	case QueryDocs:
		if q.set != "" {
			return "docs/" + q.name + " in set " + q.set
		}
		return "docs/" + q.name
	}
	return fmt.Sprintf("QueryKind(%d)", uint8(q.kind))
}

// Validate checks the query's names and arguments with the rules of the
// single-operation methods.
func (q Query) Validate() error {
	switch q.kind {
	case QueryMarkSeen:
		return first(ValidNames("key", q.name), positive("ttl", q.ttl))
	case QueryStamp:
		if (q.name == "") == (q.set == "") {
			return fmt.Errorf("%w: a stamp is of a collection or of a set", ErrInvalid)
		}
		if q.set != "" {
			return ValidNames("set", q.set)
		}
		return ValidNames("collection", q.name)
	case QueryGet:
		return ValidNames("collection", q.name, "id", q.id)
	case QueryDocs:
		if err := ValidNames("collection", q.name); err != nil {
			return err
		}
		if q.set != "" {
			return ValidNames("set", q.set)
		}
		return nil
	}
	return fmt.Errorf("%w: a query not made by a constructor (kind %d)", ErrInvalid, q.kind)
}

// Answer is what one Query read. Only the fields of its kind are set.
type Answer struct {
	// First: QueryMarkSeen, the caller is the first to mark the key.
	First bool
	// Doc: QueryGet.
	Doc Doc
	// Docs: QueryDocs, sorted by id.
	Docs []Doc
	// Stamp: QueryStamp; QueryDocs, the collection's.
	Stamp int64
	// SetStamp: QueryDocs with a set, the set's.
	SetStamp int64
	// Err: QueryGet of a missing document (wrapping ErrNotFound).
	Err error
}

// Reader reads several things in one round trip: one pipeline on Redis,
// one transaction on the embedded store.
//
// # Version stamps
//
// Every collection and every set has a version stamp: a number that every
// write to it (Put, Delete, SetAdd, SetRemove and their ops in Apply)
// changes atomically with the write itself, in the same script or
// transaction, so no reader can see new data with an old stamp or the
// reverse. A stamp that did not change means the data did not change; a
// write may move a stamp without a visible change (deleting a missing
// document with AnyVersion). Stamps start at 0 and only grow, unless the
// store loses data (a Redis flush or a failover that drops writes), after
// which a cache must treat any different stamp as a change.
type Reader interface {
	// Read runs the queries and returns their answers, index-aligned.
	// Each answer is consistent in itself (DocsQuery's documents with
	// their stamps); on Redis different answers may come from different
	// instants. An error means no answer can be trusted; a MarkSeenQuery
	// may have been recorded even so, as with MarkSeen. An empty Read is a
	// no-op.
	Read(ctx context.Context, qs ...Query) ([]Answer, error)
}

// ValidateQueries validates every query and names the first bad one.
func ValidateQueries(qs []Query) error {
	for i, q := range qs {
		if err := q.Validate(); err != nil {
			return fmt.Errorf("query %d of %d (%s): %w", i+1, len(qs), q, err)
		}
	}
	return nil
}

// StampField is how backends name the stamp of a collection (set empty)
// or of a set: "d:" or "s:" and the name, so the two never collide.
func StampField(collection, set string) string {
	if set != "" {
		return "s:" + set
	}
	return "d:" + collection
}

// Docs returns the documents of a collection (set empty) or of the members
// of set, sorted by id, the way s reads them best: a store that serves
// them itself (the engine's cache) does; a Reader reads them in one round
// trip; any other store lists the ids and gets each document.
func Docs(ctx context.Context, s Store, collection, set string) ([]Doc, error) {
	if d, ok := s.(interface {
		Docs(ctx context.Context, collection, set string) ([]Doc, error)
	}); ok {
		return d.Docs(ctx, collection, set)
	}
	if r, ok := s.(Reader); ok {
		a, err := r.Read(ctx, DocsQuery(collection, set))
		if err != nil {
			return nil, err
		}
		return a[0].Docs, nil
	}
	var ids []string
	var err error
	if set != "" {
		ids, err = s.SetMembers(ctx, set)
	} else {
		ids, err = s.List(ctx, collection)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Doc, 0, len(ids))
	for _, id := range ids {
		d, err := s.Get(ctx, collection, id)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile, or a member without a document
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
