package duty

import (
	"fmt"
	"sort"
	"time"
)

// Handoff is when a shift changes hands: a time of day in a time zone, and
// for shifts of whole weeks a weekday.
type Handoff struct {
	// Weekday of the hand-off; meaningful when HasWeekday.
	Weekday    time.Weekday `json:"weekday"`
	HasWeekday bool         `json:"has_weekday"`
	Hour       int          `json:"hour"`
	Minute     int          `json:"minute"`
	// Zone is an IANA name; shifts are computed in it, so a daylight-saving
	// change never moves the hand-off hour.
	Zone string `json:"zone"`
}

func (h Handoff) location() *time.Location {
	loc, err := time.LoadLocation(h.Zone)
	if err != nil {
		return time.UTC // validated on the way in; a stored zone that vanished falls back
	}
	return loc
}

func (h Handoff) String() string {
	s := fmt.Sprintf("%02d:%02d %s", h.Hour, h.Minute, h.Zone)
	if h.HasWeekday {
		s = h.Weekday.String()[:3] + " " + s
	}
	return s
}

// Override is a span someone else covers.
type Override struct {
	ID     string    `json:"id"`
	Person string    `json:"person"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	By     string    `json:"by"`
	// Early marks the override made by "duty handoff" (hand over now).
	Early bool `json:"early,omitempty"`
}

// Away is a span in which a member is skipped by the rotation.
type Away struct {
	ID     string    `json:"id"`
	Person string    `json:"person"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	By     string    `json:"by"`
}

// Rotation is an ordered list of members taking shifts of ShiftDays days,
// changing hands at Handoff. Shift k starts at the hand-off time on the
// local date Anchor + k*ShiftDays days, so every shift starts at the same
// wall-clock time in the rotation's zone whatever the season.
type Rotation struct {
	Name      string   `json:"name"`
	Members   []string `json:"members"`
	ShiftDays int      `json:"shift_days"`
	Handoff   Handoff  `json:"handoff"`
	// Anchor is the start of shift 0.
	Anchor  time.Time `json:"anchor"`
	Default bool      `json:"default,omitempty"`
	// Assigned holds swapped shifts: shift index -> person.
	Assigned  map[int64]string `json:"assigned,omitempty"`
	Overrides []Override       `json:"overrides,omitempty"`
	Away      []Away           `json:"away,omitempty"`
	// FromConfig marks a rotation defined in the configuration file.
	FromConfig bool `json:"from_config,omitempty"`
}

// ShiftStart returns the start of shift k.
func (r *Rotation) ShiftStart(k int64) time.Time {
	loc := r.Handoff.location()
	a := r.Anchor.In(loc)
	return time.Date(a.Year(), a.Month(), a.Day()+int(k)*r.ShiftDays, r.Handoff.Hour, r.Handoff.Minute, 0, 0, loc).UTC()
}

// ShiftAt returns the index of the shift in effect at t.
func (r *Rotation) ShiftAt(t time.Time) int64 {
	// Days are 23 to 25 hours long around daylight-saving changes, so
	// estimate, then step to the exact shift.
	approx := int64(t.Sub(r.Anchor) / (time.Duration(r.ShiftDays) * 24 * time.Hour))
	k := approx
	for r.ShiftStart(k).After(t) {
		k--
	}
	for !r.ShiftStart(k + 1).After(t) {
		k++
	}
	return k
}

func mod(a, n int64) int64 { return ((a % n) + n) % n }

// awayDuring reports whether person is away at any time in [from, to).
func (r *Rotation) awayDuring(person string, from, to time.Time) bool {
	for _, a := range r.Away {
		if a.Person == person && a.From.Before(to) && from.Before(a.To) {
			return true
		}
	}
	return false
}

// Assignee is who holds shift k before overrides: a swap's assignee, or
// the member whose turn it is, skipping members away during the shift. If
// everyone is away, the member whose turn it is keeps it (someone must).
func (r *Rotation) Assignee(k int64) (person string, skipped []string) {
	if p, ok := r.Assigned[k]; ok {
		return p, nil
	}
	n := int64(len(r.Members))
	if n == 0 {
		return "", nil
	}
	from, to := r.ShiftStart(k), r.ShiftStart(k+1)
	for i := int64(0); i < n; i++ {
		p := r.Members[mod(k+i, n)]
		if !r.awayDuring(p, from, to) {
			return p, skipped
		}
		skipped = append(skipped, p)
	}
	return r.Members[mod(k, n)], nil
}

// overrideAt returns the override covering t, if any.
func (r *Rotation) overrideAt(t time.Time) (Override, bool) {
	for _, o := range r.Overrides {
		if !t.Before(o.From) && t.Before(o.To) {
			return o, true
		}
	}
	return Override{}, false
}

// OnDutyAt is who is on duty at t: an override's person, else the shift's
// assignee.
func (r *Rotation) OnDutyAt(t time.Time) string {
	if o, ok := r.overrideAt(t); ok {
		return o.Person
	}
	p, _ := r.Assignee(r.ShiftAt(t))
	return p
}

// NextChange returns the first moment after t at which the person on duty
// may change: the next shift start or an override boundary.
func (r *Rotation) NextChange(t time.Time) time.Time {
	next := r.ShiftStart(r.ShiftAt(t) + 1)
	for _, o := range r.Overrides {
		for _, b := range []time.Time{o.From, o.To} {
			if b.After(t) && b.Before(next) {
				next = b
			}
		}
	}
	return next
}

// Segment is a stretch of time one person is on duty.
type Segment struct {
	Person   string
	From, To time.Time
	// Override is set when the stretch is covered by an override.
	Override *Override
	// Shift is the shift the stretch belongs to.
	Shift int64
	// Swapped marks a shift assigned by a swap; Skipped lists members
	// passed over because they were away.
	Swapped bool
	Skipped []string
}

// Segments returns who is on duty from from to to, as consecutive stretches.
func (r *Rotation) Segments(from, to time.Time) []Segment {
	var out []Segment
	for t := from; t.Before(to); {
		end := r.NextChange(t)
		if end.After(to) {
			end = to
		}
		k := r.ShiftAt(t)
		seg := Segment{From: t, To: end, Shift: k}
		if o, ok := r.overrideAt(t); ok {
			o := o
			seg.Person, seg.Override = o.Person, &o
		} else {
			seg.Person, seg.Skipped = r.Assignee(k)
			_, seg.Swapped = r.Assigned[k]
		}
		out = append(out, seg)
		t = end
	}
	return out
}

// personSpans maps each person to their stretches on duty in [from, to),
// merged where they touch: what a person would be told changed.
func (r *Rotation) personSpans(from, to time.Time) map[string][][2]time.Time {
	spans := map[string][][2]time.Time{}
	for _, s := range r.Segments(from, to) {
		list := spans[s.Person]
		if n := len(list); n > 0 && list[n-1][1].Equal(s.From) {
			list[n-1][1] = s.To
		} else {
			list = append(list, [2]time.Time{s.From, s.To})
		}
		spans[s.Person] = list
	}
	return spans
}

// prune drops overrides, away spans and swaps that ended before cutoff, so
// a rotation document does not grow forever.
func (r *Rotation) prune(cutoff time.Time) {
	keepO := r.Overrides[:0]
	for _, o := range r.Overrides {
		if o.To.After(cutoff) {
			keepO = append(keepO, o)
		}
	}
	r.Overrides = keepO
	keepA := r.Away[:0]
	for _, a := range r.Away {
		if a.To.After(cutoff) {
			keepA = append(keepA, a)
		}
	}
	r.Away = keepA
	for k := range r.Assigned {
		if r.ShiftStart(k + 1).Before(cutoff) {
			delete(r.Assigned, k)
		}
	}
	sort.Slice(r.Overrides, func(i, j int) bool { return r.Overrides[i].From.Before(r.Overrides[j].From) })
}

// anchorFor returns the most recent hand-off at or before now under h, to
// be the start of shift 0 for a new or re-planned rotation.
func anchorFor(h Handoff, shiftDays int, now time.Time) time.Time {
	loc := h.location()
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), h.Hour, h.Minute, 0, 0, loc)
	if h.HasWeekday {
		back := (int(t.Weekday()) - int(h.Weekday) + 7) % 7
		t = time.Date(l.Year(), l.Month(), l.Day()-back, h.Hour, h.Minute, 0, 0, loc)
	}
	for t.After(now) {
		step := 1
		if h.HasWeekday {
			step = 7
		}
		t = time.Date(t.Year(), t.Month(), t.Day()-step, h.Hour, h.Minute, 0, 0, loc)
	}
	return t.UTC()
}
