package config

import "fmt"

// Reminders configures remediation reminders to maintainers.
type Reminders struct {
	// Cadence by effective severity; an unset one keeps its default:
	// critical 168h (weekly), high 720h, medium 2184h, low 4368h.
	Cadence Cadence `yaml:"cadence"`
	// Window: items due this soon ride along with a batch (default 24h).
	Window Duration `yaml:"window"`
	// Quiet hours in each maintainer's time zone (default 20 to 8).
	QuietFrom  int `yaml:"quiet_from"`
	QuietUntil int `yaml:"quiet_until"`
}

func validateReminders(c *Config, report func(key, msg string)) {
	r := c.Reminders
	for sev, d := range r.Cadence.bySeverity() {
		if d < 0 {
			report("reminders.cadence."+sev, msgf("must be positive, got %s", d))
		}
	}
	if r.Window < 0 {
		report("reminders.window", msgf("must not be negative, got %s", r.Window))
	}
	for key, h := range map[string]int{"reminders.quiet_from": r.QuietFrom, "reminders.quiet_until": r.QuietUntil} {
		if h < 0 || h > 23 {
			report(key, fmt.Sprintf("must be an hour from 0 to 23, got %d", h))
		}
	}
}

// Cadence is the reminder period per severity.
type Cadence struct {
	Critical Duration `yaml:"critical"`
	High     Duration `yaml:"high"`
	Medium   Duration `yaml:"medium"`
	Low      Duration `yaml:"low"`
}

func (c Cadence) bySeverity() map[string]Duration {
	return map[string]Duration{"critical": c.Critical, "high": c.High, "medium": c.Medium, "low": c.Low}
}

// Periods returns the configured periods by lower-case severity, leaving
// out the unset ones.
func (c Cadence) Periods() map[string]Duration {
	out := map[string]Duration{}
	for k, v := range c.bySeverity() {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
