package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-sec/vigil/store"
)

// Deployment modes.
const (
	modeSingle   = "server"
	modeSentinel = "sentinel"
	modeCluster  = "cluster"
)

// config is what New builds a client from.
type config struct {
	mode     string
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// parseURL turns Options.URL into client options. Its errors never contain
// the URL itself, which may carry a password.
func parseURL(raw string) (*config, error) {
	if raw == "" {
		return nil, fmt.Errorf("redis: %w: empty URL", store.ErrInvalid)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("redis: %w: URL has no scheme (want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://)", store.ErrInvalid)
	}
	base, marker, _ := strings.Cut(strings.ToLower(scheme), "+")
	inner := base + "://" + rest
	var (
		cfg = &config{}
		err error
	)
	switch {
	case marker == "" && (base == "redis" || base == "rediss" || base == "unix"):
		cfg.mode = modeSingle
		cfg.single, err = redis.ParseURL(inner)
	case marker == "sentinel" && (base == "redis" || base == "rediss"):
		cfg.mode = modeSentinel
		if inner, err = hostListToQuery(inner, true); err != nil {
			break
		}
		cfg.failover, err = redis.ParseFailoverURL(inner)
		if err == nil && cfg.failover.MasterName == "" {
			err = errors.New("a sentinel URL needs ?master_name=NAME")
		}
	case marker == "cluster" && (base == "redis" || base == "rediss"):
		cfg.mode = modeCluster
		if inner, err = hostListToQuery(inner, false); err != nil {
			break
		}
		cfg.cluster, err = redis.ParseClusterURL(inner)
	default:
		return nil, fmt.Errorf("redis: %w: unsupported URL scheme %q (want redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster)", store.ErrInvalid, scheme)
	}
	if err != nil {
		// url.Error repeats the whole URL; keep only the reason.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis: %w: bad %s URL: %w", store.ErrInvalid, scheme, err)
	}
	return cfg, nil
}

// hostListToQuery accepts the friendlier form the configuration documents,
// host1:port,host2:port[/master[/db]], and rewrites it into the form
// go-redis parses: the first host, the others as addr= options and the
// sentinel master as master_name=. URLs already in go-redis' form pass
// through unchanged.
func hostListToQuery(inner string, sentinel bool) (string, error) {
	// url.Parse refuses a comma-separated host list, so split it off first.
	scheme, rest, _ := strings.Cut(inner, "://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostList := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hostList = authority[:at+1], authority[at+1:]
	}
	hosts := strings.Split(hostList, ",")
	u, err := url.Parse(scheme + "://" + userinfo + hosts[0] + tail)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for _, h := range hosts[1:] {
		if h == "" {
			return "", errors.New("empty host in the host list")
		}
		q.Add("addr", h)
	}
	if sentinel && q.Get("master_name") == "" {
		master, db, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if master != "" {
			q.Set("master_name", master)
			u.Path = ""
			if db != "" {
				u.Path = "/" + db
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *config) applyTimeouts(d time.Duration) {
	set := func(p *time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	switch c.mode {
	case modeSentinel:
		o := c.failover
		set(&o.DialTimeout)
		set(&o.ReadTimeout)
		set(&o.WriteTimeout)
		set(&o.PoolTimeout)
		o.ContextTimeoutEnabled = true
		limitRetries(&o.MaxRetries, &o.DialerRetries)
	case modeCluster:
		o := c.cluster
		set(&o.DialTimeout)
		set(&o.ReadTimeout)
		set(&o.WriteTimeout)
		set(&o.PoolTimeout)
		o.ContextTimeoutEnabled = true
		limitRetries(&o.MaxRetries, &o.DialerRetries)
	default:
		o := c.single
		set(&o.DialTimeout)
		set(&o.ReadTimeout)
		set(&o.WriteTimeout)
		set(&o.PoolTimeout)
		o.ContextTimeoutEnabled = true
		limitRetries(&o.MaxRetries, &o.DialerRetries)
	}
}

// limitRetries keeps go-redis from multiplying the timeout: by default it
// retries a command 3 times and each dial 5 times. One command retry is
// kept so a connection broken by a Redis restart is replaced transparently;
// the engine's outbox and scheduler own any longer retrying.
func limitRetries(cmd, dial *int) {
	if *cmd == 0 {
		*cmd = 1
	}
	if *dial == 0 {
		*dial = 1
	}
}

// describe names the deployment without credentials.
func (c *config) describe() string {
	tlsOn := func(t *tls.Config) string {
		if t != nil {
			return " (TLS)"
		}
		return ""
	}
	switch c.mode {
	case modeSentinel:
		o := c.failover
		return fmt.Sprintf("redis sentinel master %q via %s db %d%s", o.MasterName, strings.Join(o.SentinelAddrs, ","), o.DB, tlsOn(o.TLSConfig))
	case modeCluster:
		o := c.cluster
		return fmt.Sprintf("redis cluster %s%s", strings.Join(o.Addrs, ","), tlsOn(o.TLSConfig))
	default:
		o := c.single
		if o.Network == "unix" {
			return fmt.Sprintf("redis unix socket %s db %d", o.Addr, o.DB)
		}
		return fmt.Sprintf("redis %s db %d%s", o.Addr, o.DB, tlsOn(o.TLSConfig))
	}
}
