package main

import (
	"time"

	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/config"
)

// teamZone is the zone times are shown in for rooms on Matrix and the
// console (Slack shows each reader their own): the zone of the default
// duty rotation's hand-off, else the release rooms' zone, else UTC.
func teamZone(cfg *config.Config) *time.Location {
	if zone := duty.TeamZone(dutyOptions(cfg).Rotations); zone != nil {
		return zone
	}
	return cfg.Releases.Timezone.Location()
}
