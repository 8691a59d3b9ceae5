package bot

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/textutil"
)

// The untrusted-text markers. Text that came from outside (a report's
// title, a mail, a GitHub advisory, a chat argument echoed back) is wrapped
// in these two runes from Unicode's Private Use Area whenever it is
// formatted into a Message, and each adapter's renderer makes what lies
// between them inert for its platform (docs/ESCAPING.md). They are the one
// definition: sources strip them from everything they take in
// (StripSentinels), so nobody outside can forge an "end of untrusted".
const (
	UntrustedOpen  = '\uE000'
	UntrustedClose = '\uE001'
)

const (
	openMark  = string(UntrustedOpen)
	closeMark = string(UntrustedClose)
)

// Untrusted is text that came from outside Vigil. Formatting it with fmt
// (%s, %v, %q) or calling String wraps it in the untrusted markers, so any
// Message text built from it carries the marking without anyone having to
// remember; only an explicit string(u) gives the raw text, for places that
// are not chat (GitHub API bodies, mail bodies, store keys, comparisons).
// It encodes to JSON as a plain string.
type Untrusted string

// String returns the text wrapped in the untrusted markers. Markers inside
// the text are dropped, so it cannot end its own marking early.
func (u Untrusted) String() string { return openMark + inner(u) + closeMark }

// inner is the text as it goes between the markers: markers dropped, and
// invalid UTF-8 replaced, so no stray byte can join a marker's bytes into
// another marker.
func inner(u Untrusted) string { return strings.ToValidUTF8(StripSentinels(string(u)), "\uFFFD") }

// Format makes every fmt verb keep the marking. %q quotes the raw text and
// marks the quoted form (quoting the marked text would turn the markers into
// visible \ue000 escapes and lose the marking).
func (u Untrusted) Format(f fmt.State, verb rune) {
	raw := inner(u)
	if verb == 'q' {
		raw = strconv.Quote(raw)
	}
	_, _ = io.WriteString(f, openMark+raw+closeMark)
}

// Truncate cuts the text to at most n characters, marking a cut with an
// ellipsis.
func (u Untrusted) Truncate(n int) Untrusted {
	return Untrusted(textutil.Truncate(string(u), n))
}

// TrimSpace returns the text without leading and trailing white space.
func (u Untrusted) TrimSpace() Untrusted { return Untrusted(strings.TrimSpace(string(u))) }

// FirstLine returns the text up to its first line break, trimmed.
func (u Untrusted) FirstLine() Untrusted {
	line, _, _ := strings.Cut(string(u), "\n")
	return Untrusted(strings.TrimSpace(line))
}

// JoinUntrusted joins untrusted texts with a separator of Vigil's own.
func JoinUntrusted(parts []Untrusted, sep string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// StripSentinels removes the untrusted markers from s. Every place that
// takes text in from outside calls it (intake normalisation, chat events),
// and renderers call it on what they show; sinks that are not chat (GitHub,
// mail) call it on message text so no marker leaks there.
func StripSentinels(s string) string {
	if !strings.ContainsRune(s, UntrustedOpen) && !strings.ContainsRune(s, UntrustedClose) {
		return s
	}
	// A replacer, not strings.Map: other bytes, even invalid UTF-8, stay
	// as they are (sanitising is intake's job, not the marker's). Removing
	// a marker can join invalid bytes around it into a new one, so repeat
	// until none is left; each pass shortens s.
	for strings.ContainsRune(s, UntrustedOpen) || strings.ContainsRune(s, UntrustedClose) {
		s = stripMarkers.Replace(s)
	}
	return s
}

var stripMarkers = strings.NewReplacer(openMark, "", closeMark, "")

// Segment is a run of a message's text: Vigil's own (which may carry
// Vigil's formatting) or untrusted (to be rendered inert).
type Segment struct {
	Text      string
	Untrusted bool
}

// Segments splits text into Vigil's own and untrusted runs, in order, with
// the markers removed. Malformed marking fails safe: after an open marker
// inside untrusted text (nesting, which String never produces) everything to
// the end is untrusted; a close marker with no open one (text cut from the
// middle of a marked string) makes everything before it untrusted; an open
// marker that is never closed (text cut short) runs to the end.
func Segments(text string) []Segment {
	if !strings.ContainsRune(text, UntrustedOpen) && !strings.ContainsRune(text, UntrustedClose) {
		if text == "" {
			return nil
		}
		return []Segment{{Text: text}}
	}
	var out []Segment
	add := func(s string, untrusted bool) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].Untrusted == untrusted {
			out[n-1].Text += s
			return
		}
		out = append(out, Segment{Text: s, Untrusted: untrusted})
	}
	rest := text
	for rest != "" {
		i := strings.IndexAny(rest, openMark+closeMark)
		if i < 0 {
			add(rest, false)
			break
		}
		r, size := utf8.DecodeRuneInString(rest[i:])
		if r == UntrustedClose {
			// A stray close: whatever came before may have been untrusted
			// text whose open marker was cut off.
			var all strings.Builder
			for _, s := range out {
				all.WriteString(s.Text)
			}
			all.WriteString(rest[:i])
			out = nil
			add(all.String(), true)
			rest = rest[i+size:]
			continue
		}
		add(rest[:i], false)
		rest = rest[i+size:]
		j := strings.IndexAny(rest, openMark+closeMark)
		if j < 0 {
			add(rest, true)
			break
		}
		r, size = utf8.DecodeRuneInString(rest[j:])
		if r == UntrustedOpen {
			// Nested marking: fail safe, untrusted to the end.
			add(StripSentinels(rest), true)
			break
		}
		add(rest[:j], true)
		rest = rest[j+size:]
	}
	return out
}

// HasUntrusted reports whether text carries any untrusted run.
func HasUntrusted(text string) bool {
	return strings.ContainsRune(text, UntrustedOpen) || strings.ContainsRune(text, UntrustedClose)
}

// HasUntrusted reports whether any text of the message carries untrusted
// runs (adapters then turn link previews off).
func (m Message) HasUntrusted() bool {
	if HasUntrusted(m.Header) || HasUntrusted(m.Text) || HasUntrusted(m.Context) || HasUntrusted(m.Fallback) {
		return true
	}
	for _, f := range m.Fields {
		if HasUntrusted(f.Label) || HasUntrusted(f.Value) {
			return true
		}
	}
	for _, b := range m.Buttons {
		if HasUntrusted(b.Label) {
			return true
		}
	}
	return false
}
