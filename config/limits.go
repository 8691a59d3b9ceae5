package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Rate is a number of events per span of time, written "5/s", "100/m",
// "30/h" or "1/10s". Written this way rather than as a bare number, a rate
// cannot be misread as per second when it was meant per minute.
type Rate struct {
	N   float64
	Per time.Duration
}

// PerSecond is the rate in events per second (0 for the zero Rate).
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return r.N / r.Per.Seconds()
}

// IsZero reports whether r is unset.
func (r Rate) IsZero() bool { return r.N == 0 && r.Per == 0 }

// String writes r back in the form it is read.
func (r Rate) String() string {
	if r.IsZero() {
		return ""
	}
	n := strconv.FormatFloat(r.N, 'f', -1, 64)
	switch r.Per {
	case time.Second:
		return n + "/s"
	case time.Minute:
		return n + "/m"
	case time.Hour:
		return n + "/h"
	}
	return n + "/" + r.Per.String()
}

// ParseRate reads "N/s", "N/m", "N/h" or "N/DURATION" (such as "1/10s").
func ParseRate(s string) (Rate, error) {
	bad := fmt.Errorf("invalid rate %q (want a count per time such as 5/s, 100/m, 30/h or 1/10s)", s)
	num, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, bad
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || n > 1e6 {
		return Rate{}, bad
	}
	var d time.Duration
	switch per = strings.TrimSpace(per); per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return Rate{}, bad
		}
	}
	return Rate{N: n, Per: d}, nil
}

// MarshalYAML writes the rate as a string, so a dump reads back.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// UnmarshalYAML parses a rate string.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a rate such as 5/s, got a %s", kindName(n.Kind))
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// RateLimit is a token bucket: Rate is how fast it refills, Burst how many
// tokens it holds.
type RateLimit struct {
	Rate  Rate `yaml:"rate"`
	Burst int  `yaml:"burst"`
}

// HTTP limit defaults (http.rate_limit, http.auth_failure_limit).
var (
	DefaultHTTPRateLimit        = RateLimit{Rate: Rate{N: 5, Per: time.Second}, Burst: 20}
	DefaultHTTPAuthFailureLimit = RateLimit{Rate: Rate{N: 1, Per: time.Minute}, Burst: 10}
)

// maxBurst bounds a burst: a bucket bigger than this is no limit.
const maxBurst = 100_000

func validateRateLimit(key string, l RateLimit, report func(key, msg string)) {
	if l.Rate.PerSecond() <= 0 {
		report(key+".rate", "required: a count per time such as 5/s")
	}
	if l.Burst < 1 || l.Burst > maxBurst {
		report(key+".burst", msgf("must be between 1 and %d, got %d", maxBurst, l.Burst))
	}
}

// validatePrefixes checks a list of IP prefixes or addresses.
func validatePrefixes(key string, list []string, report func(key, msg string)) {
	for i, s := range list {
		if _, err := ParsePrefix(s); err != nil {
			report(key+"["+strconv.Itoa(i)+"]", msgf("want an IP prefix such as 10.0.0.0/8 or an address, got %q", s))
		}
	}
}

// ParsePrefix reads a CIDR prefix or a single address (as a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
