package embedded

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-sec/vigil/store"
)

// Bucket names; the layout they make is in the package documentation.
var (
	bMeta     = []byte("meta")
	bDocs     = []byte("docs")
	bSets     = []byte("sets")
	bQueues   = []byte("queues")
	bLeases   = []byte("leases")
	bSeen     = []byte("seen")
	bSeenExp  = []byte("seenexp")
	bLogs     = []byte("logs")
	bCounters = []byte("counters")
	bItems    = []byte("items")
	bDue      = []byte("due")
	bStamps   = []byte("stamps")

	roots = [][]byte{bMeta, bDocs, bSets, bQueues, bLeases, bSeen, bSeenExp, bLogs, bCounters, bStamps}
)

// sub returns the child bucket name of root, or nil when it does not exist
// (reads treat that as empty).
func sub(tx *bolt.Tx, root []byte, name string) *bolt.Bucket {
	return tx.Bucket(root).Bucket([]byte(name))
}

func subCreate(tx *bolt.Tx, root []byte, name string) (*bolt.Bucket, error) {
	return tx.Bucket(root).CreateBucketIfNotExists([]byte(name))
}

// keys returns the keys of b, sorted bytewise as bbolt keeps them; an
// absent bucket has none.
func keys(b *bolt.Bucket) []string {
	if b == nil {
		return []string{}
	}
	var out []string
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		out = append(out, string(k))
	}
	return out
}

// ms converts to the stored resolution.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

// sortable maps an int64 to a uint64 whose big-endian bytes sort like the
// signed value.
func putSortable(b []byte, v int64) { binary.BigEndian.PutUint64(b, uint64(v)^(1<<63)) }

func getSortable(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// indexKey is be(at) || key: the key of the queue due index and of the
// seen expiry index, sorted by time first.
func indexKey(at int64, key string) []byte {
	b := make([]byte, 8+len(key))
	putSortable(b, at)
	copy(b[8:], key)
	return b
}

// expiry adds a ttl or hold, rounding a sub-millisecond remainder up so a
// positive duration always counts.
func expiry(now time.Time, ttl time.Duration) int64 {
	u := ms(now) + ttl.Milliseconds()
	if ttl%time.Millisecond != 0 {
		u++
	}
	return u
}

// bumpStamp moves the version stamp of a collection (set empty) or a set,
// inside the transaction of the write it stands for.
func bumpStamp(tx *bolt.Tx, collection, set string) error {
	b := tx.Bucket(bStamps)
	k := []byte(store.StampField(collection, set))
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(readStamp(b, k)+1))
	return b.Put(k, v)
}

// readStamp reads a stamp; 0 when it was never bumped.
func readStamp(b *bolt.Bucket, k []byte) int64 {
	if v := b.Get(k); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}
