package console

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
)

// Rendering a neutral message for a terminal; untrusted text made inert.

// Render formats a message for the terminal. Vigil's own text has its
// markup rendered: *bold*, _italic_ and `code` with ANSI attributes when
// color is set and as plain text otherwise, links as "label (url)", people
// (<@adapter:id|Name>) as @Name and times (<!time:unix|text>) as their
// text. Untrusted runs (bot.Untrusted) are shown as they are, markup and
// links and all. Neither can move the cursor, change colours or retitle the
// terminal: every control character but newline and tab is shown as a
// visible symbol (ESC as ␛), and the invisible characters that reorder or
// hide text (bidi controls, zero-width ones) as ⟨U+202E⟩. Vigil's own
// attributes are added here, around the text, after that.
func Render(to bot.Destination, msg bot.Message, color bool) string {
	var b strings.Builder
	line := func(s spans) { b.WriteString(s.paint(color) + "\n") }
	switch {
	case to.IsDM():
		line(spans{{"→ DM to " + Inert(to.DM.ID) + ":", styleAccent}})
	case !to.Thread.IsZero():
		line(spans{{"↳ in thread " + Inert(to.Thread.ID) + ":", styleDim}})
	}
	if msg.Header != "" {
		s := spans{{"== ", styleBold}}
		s.markup(msg.Header, styleBold)
		s.plain(" ==", styleBold)
		line(s)
	}
	if msg.Text != "" {
		var s spans
		s.markup(msg.Text, 0)
		line(s)
	}
	for _, f := range msg.Fields {
		s := spans{{"  ", 0}}
		s.markup(f.Label, styleBold)
		s.plain(":", styleBold)
		s.plain(" ", 0)
		s.markup(f.Value, 0)
		line(s)
	}
	if len(msg.Buttons) > 0 {
		s := spans{{"  ", 0}}
		for i, btn := range msg.Buttons {
			if i > 0 {
				s.plain(" ", 0)
			}
			s.plain(fmt.Sprintf("[%d ", i+1), 0)
			s.markup(btn.Label, 0)
			s.plain("]", 0)
		}
		s.plain("  (:press N)", styleDim)
		line(s)
	}
	if msg.Context != "" {
		s := spans{{"  ", styleDim}}
		s.markup(msg.Context, styleDim)
		line(s)
	}
	return b.String()
}

// text renders one of a message's texts without colour: Vigil's markup
// rendered, untrusted runs as they are; all of it inert.
func text(s string) string {
	var sp spans
	sp.markup(s, 0)
	return sp.paint(false)
}

// Inert makes s safe to print on a terminal: newline and tab stay; other
// C0 controls become their Unicode control pictures (ESC is ␛, NUL ␀, CR
// ␍), DEL ␡, C1 controls and the characters that reorder or hide text
// (bidi embeddings, overrides and isolates, zero-width spaces and joiners,
// the byte-order mark) ⟨U+XXXX⟩, and invalid UTF-8 the replacement
// character. An escape sequence thus prints as text ("␛[31m") and does
// nothing.
func Inert(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || needsPicture(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune('\u2421')
		case needsPicture(r):
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsPicture(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2069, r == 0xfeff:
		return true
	case r == bot.UntrustedOpen || r == bot.UntrustedClose:
		return true
	}
	return false
}
