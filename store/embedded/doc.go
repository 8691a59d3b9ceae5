// Package embedded implements store.Store in a single bbolt file, for
// deployments without Redis.
//
// Layout (all keys raw bytes; "be" = big-endian, times are unix milliseconds
// stored as order-preserving uint64s so negative times sort correctly):
//
//	meta/format                       "1"
//	docs/<collection>/<id>            be(version) || data
//	sets/<set>/<member>               (empty)
//	queues/<queue>/items/<key>        be(due) || be(at) || held(1 byte)
//	queues/<queue>/due/be(at)||<key>  (empty)   index: ClaimDue seeks here
//	leases/<name>                     be(until) || holder
//	seen/<key>                        be(until)
//	seenexp/be(until)||<key>          (empty)   index: purge of run-out keys
//	logs/<log>/be(seq)                data
//	counters/<name>                   be(value)  (int64; added after format "1"
//	                                  shipped, so the bucket is created on
//	                                  Open and by Incr when missing)
//	stamps/d:<collection>, s:<set>    be(stamp)  bumped in the transaction of
//	                                  every write to it (created on Open)
//
// For a queue item, "at" is when it next becomes claimable: its due time, or
// ClaimedUntil while a claim holds it (held=1). The by-at index makes
// ClaimDue cost proportional to the items it claims, not the queue length.
//
// bbolt allows one writer at a time, so every method is one transaction and
// atomic against every other, including ClaimDue against itself. Apply runs
// all the ops of a batch in one transaction through the same helpers the
// single-operation methods use (putDoc, setAdd, schedule, ...), so a batch
// and the equivalent single calls cannot drift apart.
//
// # Files
//
// embedded.go opens and closes the file and runs transactions; layout.go
// holds the bucket names and key encodings above; documents.go, sets.go,
// queues.go, leases.go, seen.go, logs.go, counters.go, batch.go and read.go
// hold one primitive each. Arguments are checked once, by store.Validating, before
// any of them runs (see Store).
package embedded
