package redisstore

import (
	"strconv"
	"strings"
	"time"
)

// esc makes a name safe as a middle part of a key: no ':' can end it early,
// and distinct names stay distinct ('%' is escaped too, so the encoding is
// reversible). Braces need no escaping: Redis Cluster hashes only the first
// {...} of a key, which is always the {prefix} in front.
func esc(name string) string {
	if !strings.ContainsAny(name, "%:") {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// key builds "{prefix}:kind:name". Every key of one deployment carries the
// same hash tag, {prefix}, so all of them live in one Redis Cluster slot and
// any script (Apply above all, whose batch may span collections, sets and
// queues) may touch any set of keys. Vigil's whole dataset is small enough
// for one node; what it needs from Cluster is failover, not sharding.
func (s *backend) key(kind, name string) string {
	return "{" + s.prefix + "}:" + kind + ":" + esc(name)
}

func (s *backend) docKeys(coll, id string) []string {
	c := s.key("doc", coll)
	return []string{c + ":d:" + id, c + ":ids"}
}

func (s *backend) setKey(set string) string { return s.key("set", set) }

// stampsKey is the hash of every collection's and set's version stamp
// (fields named by store.StampField). It carries the same hash tag as the
// keys it guards, so a write script can bump it with the write.
func (s *backend) stampsKey() string { return "{" + s.prefix + "}:stamps" }

func (s *backend) counterKey(name string) string { return s.key("counter", name) }

func (s *backend) queueKeys(q string) []string {
	k := s.key("queue", q)
	return []string{k + ":z", k + ":due", k + ":held"}
}

func msArg(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// expiry adds a ttl or hold in milliseconds, rounding a sub-millisecond
// remainder up so a positive duration always counts.
func expiry(now time.Time, d time.Duration) int64 {
	u := now.UnixMilli() + d.Milliseconds()
	if d%time.Millisecond != 0 {
		u++
	}
	return u
}
