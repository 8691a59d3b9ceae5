package config

import (
	"strings"
	"time"
)

// Incidents configures incident war rooms and their public write-ups.
type Incidents struct {
	// Repository (owner/name) receives published write-ups as issues;
	// empty means write-ups cannot be published.
	Repository string `yaml:"repository" env:"VIGIL_INCIDENTS_REPOSITORY"`
	// Label marks write-up issues (created if missing); default
	// "security-incident".
	Label string `yaml:"label"`
	// PinReaction puts a war-room message on the timeline (default 📌);
	// EvidenceReaction keeps it as evidence (default 📎). An emoji or
	// Slack's name for it ("pushpin").
	PinReaction      string `yaml:"pin_reaction"`
	EvidenceReaction string `yaml:"evidence_reaction"`
	// PinnedFor is how long after resolution the write-up stays pinned
	// (default 7 days; at least 72h, so the community sees it).
	PinnedFor Duration `yaml:"pinned_for"`
}

// minIncidentPinned mirrors incident.MinPinned: config may not import
// the feature.
const minIncidentPinned = 72 * time.Hour

func validateIncidents(c *Config, report func(key, msg string)) {
	in := c.Incidents
	if in.Repository != "" && !repoRE.MatchString(in.Repository) {
		report("incidents.repository", msgf("%q is not owner/name", in.Repository))
	}
	if in.PinnedFor != 0 && in.PinnedFor.Std() < minIncidentPinned {
		report("incidents.pinned_for", msgf("a write-up stays pinned at least 72h after resolution, got %s", in.PinnedFor))
	}
	if strings.ContainsAny(in.Label, ",\n") {
		report("incidents.label", msgf("%q: one label, without commas", in.Label))
	}
	if in.PinReaction != "" && strings.EqualFold(strings.Trim(in.PinReaction, ":"), strings.Trim(in.EvidenceReaction, ":")) {
		report("incidents.evidence_reaction", "must differ from pin_reaction")
	}
}
