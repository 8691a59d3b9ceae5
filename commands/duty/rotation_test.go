package duty

import (
	"strings"
	"testing"
	"time"
)

var paris, _ = time.LoadLocation("Europe/Paris")

func weekly(t *testing.T, members ...string) *Rotation {
	t.Helper()
	h, err := ParseHandoff("Mon 09:00 Europe/Paris", 7)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, paris).UTC()
	return &Rotation{Name: "triage", Members: members, ShiftDays: 7, Handoff: h, Anchor: start}
}

// Over 120 weeks, through both daylight-saving changes each year, every
// shift starts on a Monday at 09:00 Paris time, shifts tile time with no
// gap or overlap, and ShiftAt agrees with ShiftStart at every boundary.
func TestShiftsKeepTheirLocalHourAcrossDST(t *testing.T) {
	r := weekly(t, "a", "b", "c")
	for k := int64(-10); k < 120; k++ {
		s := r.ShiftStart(k).In(paris)
		if s.Weekday() != time.Monday || s.Hour() != 9 || s.Minute() != 0 {
			t.Fatalf("shift %d starts %s, want Monday 09:00 Paris", k, s)
		}
		if got := r.ShiftAt(r.ShiftStart(k)); got != k {
			t.Fatalf("ShiftAt(start of %d) = %d", k, got)
		}
		if got := r.ShiftAt(r.ShiftStart(k).Add(-time.Nanosecond)); got != k-1 {
			t.Fatalf("ShiftAt(just before %d) = %d", k, got)
		}
		if d := r.ShiftStart(k + 1).Sub(r.ShiftStart(k)); d != 7*24*time.Hour && d != 7*24*time.Hour-time.Hour && d != 7*24*time.Hour+time.Hour {
			t.Fatalf("shift %d lasts %s", k, d)
		}
	}
	// The weeks with a DST change are an hour shorter or longer.
	spring := r.ShiftAt(time.Date(2026, 3, 29, 12, 0, 0, 0, paris))
	if d := r.ShiftStart(spring + 1).Sub(r.ShiftStart(spring)); d != 167*time.Hour {
		t.Errorf("the week of the spring change lasts %s, want 167h", d)
	}
}

// A daily hand-off at 02:30 meets a local time that does not exist on the
// spring-forward day: that shift starts at 03:30 instead, and no day is
// lost or doubled.
func TestDailyHandoffInTheDSTGap(t *testing.T) {
	h, err := ParseHandoff("02:30 Europe/Paris", 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &Rotation{Members: []string{"a", "b"}, ShiftDays: 1, Handoff: h, Anchor: time.Date(2026, 3, 1, 2, 30, 0, 0, paris).UTC()}
	days := map[string]bool{}
	for k := int64(0); k < 365; k++ {
		s := r.ShiftStart(k).In(paris)
		day := s.Format("2006-01-02")
		if days[day] {
			t.Fatalf("two shifts start on %s", day)
		}
		days[day] = true
		want := 2
		if day == "2026-03-29" {
			want = 3 // 02:30 does not exist that night
		}
		if s.Hour() != want || s.Minute() != 30 {
			t.Errorf("shift of %s starts at %s", day, s.Format("15:04 MST"))
		}
		if !r.ShiftStart(k + 1).After(r.ShiftStart(k)) {
			t.Fatalf("shift %d has no length", k)
		}
	}
}

func TestAssigneeSkipsPeopleAway(t *testing.T) {
	r := weekly(t, "a", "b", "c")
	r.Away = []Away{{Person: "b", From: r.ShiftStart(1).Add(48 * time.Hour), To: r.ShiftStart(1).Add(72 * time.Hour)}}
	want := []string{"a", "c", "c", "a", "b"}
	for k, w := range want {
		if got, _ := r.Assignee(int64(k)); got != w {
			t.Errorf("shift %d: %s, want %s", k, got, w)
		}
	}
	if _, skipped := r.Assignee(1); strings.Join(skipped, ",") != "b" {
		t.Errorf("shift 1 skipped %v, want b", skipped)
	}
	// Everyone away: the person whose turn it is keeps the shift.
	r.Away = append(r.Away, Away{Person: "a", From: r.ShiftStart(3), To: r.ShiftStart(4)}, Away{Person: "b", From: r.ShiftStart(3), To: r.ShiftStart(4)}, Away{Person: "c", From: r.ShiftStart(3), To: r.ShiftStart(4)})
	if got, _ := r.Assignee(3); got != "a" {
		t.Errorf("all away: %s, want a", got)
	}
}

func TestOverridesAndSegments(t *testing.T) {
	r := weekly(t, "a", "b")
	o := Override{Person: "c", From: r.ShiftStart(0).Add(24 * time.Hour), To: r.ShiftStart(0).Add(48 * time.Hour), By: "a"}
	r.Overrides = []Override{o}
	if got := r.OnDutyAt(o.From); got != "c" {
		t.Errorf("during the override: %s", got)
	}
	if got := r.OnDutyAt(o.To); got != "a" {
		t.Errorf("after the override: %s", got)
	}
	if got := r.NextChange(r.ShiftStart(0)); !got.Equal(o.From) {
		t.Errorf("next change after the shift start = %s, want the override start", got)
	}
	segs := r.Segments(r.ShiftStart(0), r.ShiftStart(2))
	var got []string
	for _, s := range segs {
		got = append(got, s.Person)
	}
	if strings.Join(got, ",") != "a,c,a,b" {
		t.Errorf("segments %v", got)
	}
}

func TestReplanKeepsTheCurrentHolder(t *testing.T) {
	r := weekly(t, "a", "b", "c")
	now := r.ShiftStart(4).Add(time.Hour) // shift 4: b
	if got, _ := r.Assignee(4); got != "b" {
		t.Fatalf("setup: shift 4 is %s", got)
	}
	replan(r, []string{"d", "c", "b", "a"}, 7, r.Handoff, now)
	if got := r.OnDutyAt(now); got != "b" {
		t.Errorf("after adding d and reordering, %s is on duty, want b to stay", got)
	}
	next, _ := r.Assignee(r.ShiftAt(now) + 1)
	if next != "a" {
		t.Errorf("next is %s, want a (the new order after b)", next)
	}
	h, _ := ParseHandoff("Thu 14:00 UTC", 14)
	replan(r, r.Members, 14, h, now)
	if got := r.OnDutyAt(now); got != "b" {
		t.Errorf("after changing the hand-off, %s is on duty, want b", got)
	}
	if s := r.ShiftStart(r.ShiftAt(now) + 1).UTC(); s.Weekday() != time.Thursday || s.Hour() != 14 {
		t.Errorf("next shift starts %s", s)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]int{"1w": 7, "2w": 14, "3d": 3, "1 week": 7, "10 days": 10} {
		if got, err := ParseShift(in); err != nil || got != want {
			t.Errorf("ParseShift(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0d", "1h", "w", "53w", "-1w"} {
		if _, err := ParseShift(in); err == nil {
			t.Errorf("ParseShift(%q) accepted", in)
		}
	}
	good := map[string]string{
		"Mon 09:00 Europe/Paris":      "Mon 09:00 Europe/Paris",
		"monday 9:30":                 "Mon 09:30 UTC",
		"Fri, 17:00 America/New_York": "Fri 17:00 America/New_York",
	}
	for in, want := range good {
		h, err := ParseHandoff(in, 7)
		if err != nil || h.String() != want {
			t.Errorf("ParseHandoff(%q) = %q, %v; want %q", in, h, err, want)
		}
	}
	bad := map[string]string{
		"09:00":               "needs a weekday",
		"Mon 25:00":           "not a time of day",
		"Mon 09:00 Mars/Base": "unknown time zone",
		"Mon 09:00 UTC extra": "want [Weekday] HH:MM [Zone]",
		"Moon 09:00":          "not a time of day",
		"":                    "want [Weekday]",
	}
	for in, want := range bad {
		if _, err := ParseHandoff(in, 7); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHandoff(%q) error %v, want %q", in, err, want)
		}
	}
	if _, err := ParseHandoff("Mon 09:00", 3); err == nil || !strings.Contains(err.Error(), "only makes sense for shifts of whole weeks") {
		t.Errorf("weekday with a 3-day shift: %v", err)
	}
	h, _ := ParseHandoff("Mon 09:00 Europe/Paris", 7)
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	times := map[string]time.Time{
		"now":                  now,
		"2026-01-12":           time.Date(2026, 1, 12, 9, 0, 0, 0, paris),
		"2026-07-01 18:30":     time.Date(2026, 7, 1, 18, 30, 0, 0, paris),
		"2026-07-01T18:30":     time.Date(2026, 7, 1, 18, 30, 0, 0, paris),
		"2026-07-01T18:30:00Z": time.Date(2026, 7, 1, 18, 30, 0, 0, time.UTC),
	}
	for in, want := range times {
		if got, err := parseTime(in, now, h); err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseTime("next tuesday", now, h); err == nil {
		t.Error("parseTime accepted prose")
	}
}

func TestICalRendering(t *testing.T) {
	r := weekly(t, "a", "b")
	r.Overrides = []Override{{Person: "c", From: r.ShiftStart(0).Add(24 * time.Hour), To: r.ShiftStart(0).Add(48 * time.Hour), By: "a"}}
	out := renderICal(r, r.ShiftStart(0), r.ShiftStart(0), r.ShiftStart(2), func(n string) string { return "Name, with; chars " + n })
	for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
	}
	unfolded := strings.ReplaceAll(out, "\r\n ", "")
	for _, w := range []string{
		"BEGIN:VCALENDAR\r\n", "DTSTART:20260105T080000Z", "DTEND:20260106T080000Z",
		`SUMMARY:On duty (triage): Name\, with\; chars a`, "DESCRIPTION:Override set by @a", "END:VCALENDAR\r\n",
	} {
		if !strings.Contains(unfolded, w) {
			t.Errorf("calendar lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "BEGIN:VEVENT"); n != 4 {
		t.Errorf("%d events, want 4 (a, c's override, a again, b)", n)
	}
}

func TestTeamZoneIsTheDefaultRotations(t *testing.T) {
	specs := []RotationSpec{
		{Name: "a", Shift: "1w", Handoff: "Mon 09:00 America/New_York"},
		{Name: "b", Shift: "1w", Handoff: "Mon 09:00 Europe/Paris", Default: true},
	}
	if got := TeamZone(specs); got == nil || got.String() != "Europe/Paris" {
		t.Errorf("TeamZone = %v, want the default rotation's Europe/Paris", got)
	}
	if got := TeamZone(specs[:1]); got == nil || got.String() != "America/New_York" {
		t.Errorf("TeamZone without a default = %v, want the first rotation's", got)
	}
	if got := TeamZone([]RotationSpec{{Name: "c", Shift: "1w", Handoff: "nonsense"}}); got != nil {
		t.Errorf("TeamZone of a bad hand-off = %v, want nil", got)
	}
}
