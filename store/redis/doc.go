// Package redisstore implements store.Store on Redis (go-redis v9), using
// Redis' native types and Lua scripts for every read-modify-write.
//
// # URL forms
//
// Options.URL selects the deployment:
//
//	redis://[user:password@]host[:port][/db][?option=value...]    one server
//	rediss://...                                                   one server over TLS
//	unix://[user:password@]/path/to/redis.sock[?db=N]             one server, unix socket
//	redis+sentinel://[user:password@]host:port[,host:port...]/master[/db]
//	redis+sentinel://[user:password@]host:port[/db]?master_name=NAME[&addr=host2:port...]
//	rediss+sentinel://...                                          Sentinel, TLS
//	redis+cluster://[user:password@]host:port[,host:port...]
//	redis+cluster://[user:password@]host:port[?addr=host2:port...] Redis Cluster
//	rediss+cluster://...                                           Cluster, TLS
//
// The part after the "+sentinel"/"+cluster" marker is what go-redis'
// ParseFailoverURL and ParseClusterURL read; their query options
// (dial_timeout, pool_size, ...) are accepted. For Sentinel the userinfo
// authenticates to the sentinels and the query options username= and
// password= to the data nodes. Port defaults to 6379.
//
// # Keys
//
// Every key starts with the hash tag {P}, P being Options.Prefix (default
// "vigil"), so all keys of a deployment share one Redis Cluster slot and a
// script may touch any of them; Apply's batches span collections, sets and
// queues. Names in the middle of a key are escaped (% and : percent-encoded)
// so that a name can never reach into the next part; the document id comes
// last and is used as it is. Braces in names are harmless: Cluster hashes
// only the first {...}, the prefix.
//
//	{P}:doc:C:ids        SET    ids of collection C
//	{P}:doc:C:d:ID       HASH   v (version), data
//	{P}:set:S            SET    members
//	{P}:queue:Q:z        ZSET   key -> when it next becomes claimable (unix ms)
//	{P}:queue:Q:due      HASH   key -> original due time (unix ms)
//	{P}:queue:Q:held     HASH   key -> ClaimedUntil of the current claim (unix ms)
//	{P}:lease:L          HASH   h (holder), u (expiry, unix ms)
//	{P}:seen:K           STRING logical expiry (unix ms), PX ttl+1m for collection
//	{P}:log:L            STREAM entries with one field, d
//	{P}:counter:N        STRING the counter (INCR)
//	{P}:stamps           HASH   d:C / s:S -> version stamp of collection C / set S
//
// Every write to a collection or set bumps its stamp in the same script or
// MULTI/EXEC (store.Reader); Read sends its queries in one pipeline.
//
// Until the counters and batches arrived, each name had its own hash tag
// (P:{doc:C}:...). Vigil had no deployments then, so there is no migration:
// a store written with the old layout is simply not seen by this version.
//
// # Leases and seen keys compare their expiry with the caller's clock (the
//
// # Files
//
// redis.go builds the client and opens and closes it; url.go reads the URL
// forms above; keys.go builds the keys; documents.go, sets.go, queues.go,
// leases.go, seen.go, logs.go, counters.go, batch.go and read.go hold one
// primitive each. Arguments are checked once, by store.Validating, before any of them
// runs (see Store).
package redisstore
