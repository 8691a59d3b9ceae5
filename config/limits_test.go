package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"5/s": 5, "100/m": 100.0 / 60, "30/h": 30.0 / 3600, "1/10s": 0.1, " 2 / s ": 2, "0.5/s": 0.5} {
		r, err := ParseRate(in)
		if err != nil || r.PerSecond() != want {
			t.Errorf("ParseRate(%q) = %v (%v/s), %v; want %v/s", in, r, r.PerSecond(), err, want)
		}
		if back, err := ParseRate(r.String()); err != nil || back != r {
			t.Errorf("%q does not read back from %q", in, r.String())
		}
	}
	for _, bad := range []string{"5", "5/d", "-1/s", "0/s", "x/s", "1/0s", "1/-1s", ""} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestHTTPLimitsDefaultsAndOverrides(t *testing.T) {
	c, _, err := loadYAML(t, "http:\n  rate_limit: {burst: 50}\n  auth_failure_limit: {rate: 3/h, burst: 3}\n  trusted_proxies: [10.0.0.0/8, '::1']\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.RateLimit.Rate.PerSecond() != 5 || c.HTTP.RateLimit.Burst != 50 {
		t.Errorf("rate_limit = %+v, want the default rate with burst 50", c.HTTP.RateLimit)
	}
	if c.HTTP.AuthFailureLimit.Rate != (Rate{N: 3, Per: time.Hour}) || c.HTTP.AuthFailureLimit.Burst != 3 {
		t.Errorf("auth_failure_limit = %+v", c.HTTP.AuthFailureLimit)
	}
	d := Default()
	if d.HTTP.AuthFailureLimit.Rate.PerSecond() != 1.0/60 || d.HTTP.AuthFailureLimit.Burst != 10 {
		t.Errorf("default auth_failure_limit = %+v", d.HTTP.AuthFailureLimit)
	}
}

func TestLimitValidation(t *testing.T) {
	tests := []struct {
		name, src string
		key       string
		line      int
		msg       string
	}{
		{"rate syntax", "http:\n  rate_limit:\n    rate: 5\n", "http.rate_limit.rate", 3, "want a count per time"},
		{"burst zero", "http:\n  rate_limit:\n    burst: 0\n", "http.rate_limit.burst", 3, "between 1 and"},
		{"failure burst huge", "http:\n  auth_failure_limit:\n    burst: 1000000\n", "http.auth_failure_limit.burst", 3, "between 1 and"},
		{"trusted proxy", "http:\n  trusted_proxies: [10.0.0/8]\n", "http.trusted_proxies[0]", 2, "want an IP prefix"},
		{"any with others", "email:\n  smtp_receiver:\n    allowed_clients: [any, 10.0.0.0/8]\n", "email.smtp_receiver.allowed_clients", 3, "list it alone"},
		{"per client over total", "email:\n  smtp_receiver:\n    max_connections: 5\n    max_connections_per_client: 6\n", "email.smtp_receiver.max_connections_per_client", 4, "between 1 and max_connections (5)"},
		{"idle timeout", "email:\n  smtp_receiver:\n    idle_timeout: 1h\n", "email.smtp_receiver.idle_timeout", 3, "between 1s and 10m"},
		{"cert without key", "email:\n  smtp_receiver:\n    tls_cert_file: /c.pem\n", "email.smtp_receiver.tls_key_file", 2, "go together"},
		{"password without user", "email:\n  smtp_receiver:\n    password: SECRET-PW\n", "email.smtp_receiver.username", 2, "required when password is set"},
		{"auth in clear off loopback", "email:\n  smtp_receiver:\n    allowed_clients: [10.0.0.0/8]\n    username: relay\n    password: SECRET-PW\n", "email.smtp_receiver.password", 5, "only offered over TLS or to loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
	// AUTH in clear is fine when only loopback clients may connect.
	if _, _, err := loadYAML(t, "email:\n  smtp_receiver:\n    username: relay\n    password: pw\n", nil); err != nil {
		t.Errorf("loopback-only AUTH refused: %v", err)
	}
}
