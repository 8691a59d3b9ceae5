// Package textutil holds the few text helpers that commands, adapters and
// the engine share: cutting text to a length without splitting a
// character (at a clean place where it can), and writing a duration the
// way people read it in chat.
package textutil

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Ellipsis marks where Truncate and TruncateBytes cut.
const Ellipsis = "…"

// Truncate returns s if it has at most n characters (runes); otherwise its
// first n-1 characters and an ellipsis, n characters in all. It never
// splits a multi-byte character.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return Ellipsis
	}
	count := 0
	for i := range s {
		if count == n-1 {
			return s[:i] + Ellipsis
		}
		count++
	}
	return s // not reached: s has more than n runes
}

// TruncateBytes is Truncate for limits counted in bytes (Slack's, which a
// byte count never exceeds however the platform counts characters): the
// result is at most n bytes, cut on a character boundary, with an
// ellipsis when there is room for one.
func TruncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < len(Ellipsis) {
		return s[:runeStart(s, max(n, 0))]
	}
	return s[:runeStart(s, n-len(Ellipsis))] + Ellipsis
}

// runeStart returns the largest index at most i at which a character of s
// starts (or len(s)).
func runeStart(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// cleanBreaks are the places Cut prefers to end a piece, best first: a
// paragraph break, a line break, the end of a sentence, a space.
var cleanBreaks = [][]string{{"\n\n"}, {"\n"}, {". ", "! ", "? "}, {" ", "\t"}}

// Cut splits s after at most n characters (runes), at the cleanest place
// in the second half of those n (see cleanBreaks), or after exactly n
// characters when there is none; it never splits a character. head+rest is
// s, so cutting again and again loses nothing and keeps the order. A text
// of at most n characters is all head.
func Cut(s string, n int) (head, rest string) {
	n = max(n, 1)
	end, half, count := len(s), 0, 0
	for i := range s {
		if count == n/2 {
			half = i
		}
		if count == n {
			end = i
			break
		}
		count++
	}
	if end == len(s) {
		return s, ""
	}
	window := s[:end]
	for _, seps := range cleanBreaks {
		best := -1
		for _, sep := range seps {
			if i := strings.LastIndex(window, sep); i >= half && i+len(sep) > best {
				best = i + len(sep)
			}
		}
		if best > 0 {
			return s[:best], s[best:]
		}
	}
	return window, s[end:]
}

// Split cuts s into pieces of at most n characters each with Cut, in
// order; joined, they are s.
func Split(s string, n int) []string {
	var pieces []string
	for s != "" {
		var head string
		head, s = Cut(s, n)
		pieces = append(pieces, head)
	}
	return pieces
}

// Duration writes d, to the minute, as days, hours and minutes: "1d 3h",
// "2h 5m", "45m", "0m". A negative d is written as its length, so callers
// say "ago" or "overdue by" themselves.
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days := int(d / (24 * time.Hour))
	h := int(d/time.Hour) % 24
	m := int(d/time.Minute) % 60
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	return strings.Join(parts, " ")
}
