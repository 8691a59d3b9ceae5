package duty

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// serveICal answers GET /duty/{rotation}.ics?token=... with the rotation's
// shifts from four weeks ago to half a year ahead, one event per stretch a
// person is on duty, so people see their shifts in their calendars.
func (d *Duty) serveICal(w http.ResponseWriter, r *http.Request) {
	if d.opts.ICalToken == "" {
		http.Error(w, "the duty calendar feed is not enabled (duty.ical_token)", http.StatusNotFound)
		return
	}
	token := r.URL.Query().Get("token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(d.opts.ICalToken)) != 1 {
		// Answered 401 and nothing else: the listener's middleware logs the
		// failure (route and client, never the query string that holds the
		// token), counts it, and throttles a client that keeps guessing.
		http.Error(w, "missing or wrong token", http.StatusUnauthorized)
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok {
		http.NotFound(w, r)
		return
	}
	rot, _, err := d.load(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such rotation", http.StatusNotFound)
		return
	}
	if err != nil {
		d.e.Logger().Error("duty calendar feed", "rotation", name, "err", err)
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	now := d.e.Clock().Now()
	body := renderICal(rot, now, now.Add(-28*24*time.Hour), now.Add(26*7*24*time.Hour), d.displayName)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, _ = w.Write([]byte(body))
}

func (d *Duty) displayName(name string) string {
	if p, ok := d.e.Directory().ByName(name); ok && p.DisplayName != "" {
		return p.DisplayName
	}
	return "@" + name
}

// renderICal writes an RFC 5545 calendar of a rotation's stretches.
func renderICal(r *Rotation, now, from, to time.Time, display func(string) string) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(foldICal(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Vigil//duty//EN")
	line("CALSCALE:GREGORIAN")
	line("X-WR-CALNAME:" + escapeICal("On duty: "+r.Name))
	stamp := now.UTC().Format("20060102T150405Z")
	for _, s := range mergeSegments(r.Segments(from, to)) {
		line("BEGIN:VEVENT")
		line(fmt.Sprintf("UID:%s-%s-%d@vigil", r.Name, s.Person, s.From.Unix()))
		line("DTSTAMP:" + stamp)
		line("DTSTART:" + s.From.UTC().Format("20060102T150405Z"))
		line("DTEND:" + s.To.UTC().Format("20060102T150405Z"))
		line("SUMMARY:" + escapeICal(fmt.Sprintf("On duty (%s): %s", r.Name, display(s.Person))))
		if s.Override != nil {
			line("DESCRIPTION:" + escapeICal("Override set by @"+s.Override.By))
		}
		line("TRANSP:TRANSPARENT")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.String()
}

// mergeSegments joins touching stretches of one person.
func mergeSegments(segs []Segment) []Segment {
	var out []Segment
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].Person == s.Person && out[n-1].To.Equal(s.From) && (out[n-1].Override == nil) == (s.Override == nil) {
			out[n-1].To = s.To
			continue
		}
		out = append(out, s)
	}
	return out
}

// escapeICal escapes TEXT values (RFC 5545 §3.3.11).
func escapeICal(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "").Replace(s)
}

// foldICal ends a content line with CRLF, folding it at 75 octets without
// splitting a UTF-8 character (RFC 5545 §3.1).
func foldICal(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}
