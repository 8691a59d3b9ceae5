package config

import (
	"fmt"
	"net/mail"
	"strings"
)

// Reports configures vulnerability report intake and triage.
type Reports struct {
	// AckWindow is how long the team has to acknowledge a report (48h).
	AckWindow Duration `yaml:"ack_window"`
	// RoomPingBefore: the private room is pinged this long before the
	// acknowledgement deadline (8h, so at 40h of 48h).
	RoomPingBefore Duration `yaml:"room_ping_before"`
	// APIToken enables POST /api/v1/reports with this bearer token.
	APIToken Secret `yaml:"api_token" env:"VIGIL_REPORTS_API_TOKEN"`
	// Rotation reports are assigned from; empty means the default one.
	Rotation  string     `yaml:"rotation"`
	Operators []Operator `yaml:"operators"`
}

// Operator runs the software for others; operator-specific reports are
// forwarded to its security contact.
type Operator struct {
	Name    string `yaml:"name"`
	Domain  string `yaml:"domain"`
	Contact string `yaml:"contact"`
}

func validateReports(c *Config, report func(key, msg string)) {
	r := c.Reports
	if r.AckWindow < 0 {
		report("reports.ack_window", msgf("must not be negative, got %s", r.AckWindow))
	}
	if r.RoomPingBefore < 0 {
		report("reports.room_ping_before", msgf("must not be negative, got %s", r.RoomPingBefore))
	}
	window := r.AckWindow
	if window == 0 {
		window = Duration(48 * 60 * 60 * 1e9)
	}
	if r.RoomPingBefore != 0 && r.RoomPingBefore >= window {
		report("reports.room_ping_before", msgf("must be shorter than the acknowledgement window (%s)", window))
	}
	seen := map[string]bool{}
	for i, op := range r.Operators {
		key := fmt.Sprintf("reports.operators[%d]", i)
		if strings.TrimSpace(op.Name) == "" {
			report(key+".name", "an operator needs a name")
		} else if seen[strings.ToLower(op.Name)] {
			report(key+".name", msgf("operator %q is listed twice", op.Name))
		}
		seen[strings.ToLower(op.Name)] = true
		if _, err := mail.ParseAddress(op.Contact); err != nil {
			report(key+".contact", msgf("%q is not an email address", op.Contact))
		}
	}
}
