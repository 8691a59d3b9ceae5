package duty

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var shiftRE = regexp.MustCompile(`^(\d+)\s*(d|w|day|days|week|weeks)$`)

// ParseShift reads a shift length in whole days: "1w", "2w", "3d", "1 week".
func ParseShift(s string) (int, error) {
	m := shiftRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("shift %q: use whole days or weeks, like 1w, 2w or 3d", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 || n > 52*7 {
		return 0, fmt.Errorf("shift %q: must be from 1 day to 52 weeks", s)
	}
	if strings.HasPrefix(m[2], "w") {
		n *= 7
	}
	if n > 52*7 {
		return 0, fmt.Errorf("shift %q: must be from 1 day to 52 weeks", s)
	}
	return n, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseWeekday accepts "Mon", "monday", "Mon," and the like.
func parseWeekday(w string) (time.Weekday, bool) {
	w = strings.ToLower(strings.TrimSuffix(w, ","))
	if len(w) < 3 {
		return 0, false
	}
	wd, ok := weekdays[w[:3]]
	if !ok || !strings.HasPrefix(strings.ToLower(wd.String()), w) {
		return 0, false
	}
	return wd, true
}

// ParseHandoff reads "[Weekday] HH:MM [Zone]", e.g. "Mon 09:00
// Europe/Paris". The zone defaults to UTC. Shifts of whole weeks need a
// weekday; shorter ones must not have one.
func ParseHandoff(s string, shiftDays int) (Handoff, error) {
	fields := strings.Fields(s)
	var h Handoff
	if len(fields) > 0 {
		if wd, ok := parseWeekday(fields[0]); ok {
			h.Weekday, h.HasWeekday = wd, true
			fields = fields[1:]
		}
	}
	if len(fields) == 0 {
		return Handoff{}, fmt.Errorf("hand-off %q: want [Weekday] HH:MM [Zone], like \"Mon 09:00 Europe/Paris\"", s)
	}
	clock, err := time.Parse("15:04", fields[0])
	if err != nil {
		return Handoff{}, fmt.Errorf("hand-off %q: %q is not a time of day like 09:00", s, fields[0])
	}
	h.Hour, h.Minute = clock.Hour(), clock.Minute()
	h.Zone = "UTC"
	switch len(fields) {
	case 1:
	case 2:
		loc, err := time.LoadLocation(fields[1])
		if err != nil || fields[1] == "Local" {
			return Handoff{}, fmt.Errorf("hand-off %q: unknown time zone %q (use an IANA name like Europe/Paris)", s, fields[1])
		}
		h.Zone = loc.String()
	default:
		return Handoff{}, fmt.Errorf("hand-off %q: want [Weekday] HH:MM [Zone]", s)
	}
	if shiftDays%7 == 0 && !h.HasWeekday {
		return Handoff{}, fmt.Errorf("hand-off %q: a shift of whole weeks needs a weekday, like \"Mon 09:00 %s\"", s, h.Zone)
	}
	if shiftDays%7 != 0 && h.HasWeekday {
		return Handoff{}, fmt.Errorf("hand-off %q: a weekday only makes sense for shifts of whole weeks (this one is %d days)", s, shiftDays)
	}
	return h, nil
}

// parseTime reads a point in time for --from/--to: RFC 3339, or a local
// date and time in the rotation's zone ("2026-01-12 09:00",
// "2026-01-12T09:00", "2026-01-12" meaning the rotation's hand-off time),
// or "now".
func parseTime(s string, now time.Time, h Handoff) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "now") {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	loc := h.location()
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return time.Date(d.Year(), d.Month(), d.Day(), h.Hour, h.Minute, 0, 0, loc).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use 2026-01-12, \"2026-01-12 09:00\" (in %s), an RFC 3339 time, or now", s, h.Zone)
}

// TeamZone is the zone of the team's hand-offs: that of the default
// rotation in specs, or of the first; nil when no rotation names a valid
// one. The engine shows times in rooms in it (bot.Options.TeamZone).
func TeamZone(specs []RotationSpec) *time.Location {
	var zone *time.Location
	for _, s := range specs {
		days, err := ParseShift(s.Shift)
		if err != nil {
			continue
		}
		h, err := ParseHandoff(s.Handoff, days)
		if err != nil {
			continue
		}
		if zone == nil || s.Default {
			zone = h.location()
		}
		if s.Default {
			break
		}
	}
	return zone
}
