package config

import "fmt"

// Duty configures on-duty rotations. Rotations can also be created by
// admins in chat; the ones listed here are applied at every start (the
// file wins for the rotations it names).
type Duty struct {
	// ICalToken enables the calendar feed GET /duty/{rotation}.ics?token=...
	// (served on http.listen). Empty turns the feed off.
	ICalToken Secret `yaml:"ical_token" env:"VIGIL_DUTY_ICAL_TOKEN"`
	// NoticeBefore is how long before a shift its person gets a heads-up.
	NoticeBefore Duration   `yaml:"notice_before"`
	Rotations    []Rotation `yaml:"rotations"`
}

// Rotation is one rotation. Shift and hand-off syntax is checked by the
// duty feature (vigil check-config runs that check too).
type Rotation struct {
	Name string `yaml:"name"`
	// Members are people's names (@ optional), in turn order.
	Members []string `yaml:"members"`
	// Shift is whole days or weeks: 1w, 2w, 3d.
	Shift string `yaml:"shift"`
	// Handoff is "[Weekday] HH:MM [Zone]", e.g. "Mon 09:00 Europe/Paris".
	Handoff string `yaml:"handoff"`
	// Default makes this the rotation "/sec duty" means without a name.
	Default bool `yaml:"default"`
}

func validateDuty(c *Config, report func(key, msg string)) {
	if c.Duty.NoticeBefore < 0 {
		report("duty.notice_before", msgf("must not be negative, got %s", c.Duty.NoticeBefore))
	}
	people := map[string]bool{}
	for _, p := range c.People {
		people[p.Name] = true
	}
	for i, r := range c.Duty.Rotations {
		for j, m := range r.Members {
			name := m
			if len(name) > 0 && name[0] == '@' {
				name = name[1:]
			}
			if len(c.People) > 0 && !people[name] {
				report(fmt.Sprintf("duty.rotations[%d].members[%d]", i, j), msgf("%q is not in people", m))
			}
		}
	}
}
