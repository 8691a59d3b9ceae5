package config

import "fmt"

// Stats configures the process figures (docs/STATS.md).
type Stats struct {
	// MonthlySummary posts last month's figures and chart to the private
	// room on the first working day of each month (off by default).
	MonthlySummary bool `yaml:"monthly_summary"`
	// SummaryHour is the hour of that day, in the team's zone (default 9).
	SummaryHour int `yaml:"summary_hour"`
}

func validateStats(c *Config, report func(key, msg string)) {
	if h := c.Stats.SummaryHour; h < 0 || h > 23 {
		report("stats.summary_hour", fmt.Sprintf("must be an hour from 0 to 23, got %d", h))
	}
}
