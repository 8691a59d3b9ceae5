package console

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
)

// style is a set of terminal attributes for a run of printed text.
type style uint8

const (
	styleBold style = 1 << iota
	styleDim
	styleItalic
	// styleAccent is cyan: code, and the "→ DM to" line.
	styleAccent
)

// Each attribute is its own escape sequence (never combined as "1;36"), so
// the hostile tests can take out exactly the sequences Vigil writes.
const (
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiItalic = "\x1b[3m"
	ansiCyan   = "\x1b[36m"
	ansiReset  = "\x1b[0m"
)

func (st style) escapes() string {
	var b strings.Builder
	for _, a := range []struct {
		bit  style
		code string
	}{{styleBold, ansiBold}, {styleDim, ansiDim}, {styleItalic, ansiItalic}, {styleAccent, ansiCyan}} {
		if st&a.bit != 0 {
			b.WriteString(a.code)
		}
	}
	return b.String()
}

// span is a run of text, already inert, in one style.
type span struct {
	text  string
	style style
}

// spans is one printed line or paragraph, built from Vigil's texts.
type spans []span

// plain adds text of Vigil's own as it is (no markup read in it).
func (s *spans) plain(text string, st style) {
	if text != "" {
		*s = append(*s, span{Inert(text), st})
	}
}

// paint writes the runs, with their attributes when color is set. Each
// line ends with a reset, so no attribute leaks into what follows.
func (s spans) paint(color bool) string {
	var b strings.Builder
	var cur style
	for _, sp := range s {
		for i, line := range strings.Split(sp.text, "\n") {
			if i > 0 {
				if color && cur != 0 {
					b.WriteString(ansiReset)
					cur = 0
				}
				b.WriteByte('\n')
			}
			if line == "" {
				continue
			}
			if color && sp.style != cur {
				if cur != 0 {
					b.WriteString(ansiReset)
				}
				b.WriteString(sp.style.escapes())
				cur = sp.style
			}
			b.WriteString(line)
		}
	}
	if color && cur != 0 {
		b.WriteString(ansiReset)
	}
	return b.String()
}

// Placeholders stand for untrusted runs while Vigil's markup is read, so
// markup can wrap an untrusted run (*%s* is bold) but never look inside
// one: its asterisks and backticks are shown as typed. They are
// private-use runes that are removed from Vigil's runs first.
const (
	holeOpen  = '\uE002'
	holeClose = '\uE003'
)

var holeRE = regexp.MustCompile("\uE002([0-9]+)\uE003")

// Vigil's markup, each matched at the start of what is left to read. URLs
// and ids are Vigil's own text: they cannot hold an untrusted run. Labels,
// names and fallbacks can (they are shown as text).
var (
	codeRE = regexp.MustCompile("^`([^`\n]+)`")
	// Bold and italics hug their text, as on Slack: "2 * 3 * 4" is
	// arithmetic, not bold.
	boldRE     = regexp.MustCompile(`^\*([^*\s](?:[^*\n]*[^*\s])?)\*`)
	italicRE   = regexp.MustCompile(`^_([^_\s](?:[^_\n]*[^_\s])?)_`)
	linkRE     = regexp.MustCompile(`^<(https?://[^|>\s\x{E002}\x{E003}]+)\|([^>\n]+)>`)
	bareLinkRE = regexp.MustCompile(`^<(https?://[^|>\s\x{E002}\x{E003}]+)>`)
	// <@ADAPTER:ID|Display Name>, or <@ADAPTER:ID> with no name.
	personRE = regexp.MustCompile(`^<@[^:|>\s\x{E002}\x{E003}]+:([^|>\s\x{E002}\x{E003}]+)(?:\|([^>\n]+))?>`)
	// <!time:UNIX|fallback>: the engine has put the reader's time in the
	// fallback before the console sees it.
	timeRE = regexp.MustCompile(`^<!time:(-?[0-9]+)(?:\|([^>\n]*))?>`)
)

// markup adds one of a message's texts: Vigil's runs with their markup
// rendered (bold, italic, code, links as "label (url)", people as @Name,
// times as their text), untrusted runs shown as typed. All of it is made
// inert.
func (s *spans) markup(text string, st style) {
	var skel strings.Builder
	var holes []string
	for _, seg := range bot.Segments(text) {
		if seg.Untrusted {
			skel.WriteRune(holeOpen)
			skel.WriteString(strconv.Itoa(len(holes)))
			skel.WriteRune(holeClose)
			holes = append(holes, seg.Text)
			continue
		}
		skel.WriteString(strings.Map(func(r rune) rune {
			if r == holeOpen || r == holeClose {
				return -1
			}
			return r
		}, seg.Text))
	}
	r := markupReader{out: s, holes: holes}
	r.inline(skel.String(), st)
}

type markupReader struct {
	out   *spans
	holes []string
}

// inline reads s left to right; at each markup character it tries the
// constructs that start with it, and the text between them is literal.
func (r *markupReader) inline(s string, st style) {
	lit := 0
	for i := 0; i < len(s); {
		n := r.construct(s, i, st, lit)
		if n == 0 {
			i++
			continue
		}
		i += n
		lit = i
	}
	r.text(s[lit:], st)
}

// construct renders the markup starting at s[i], first adding the literal
// text s[lit:i] before it, and returns its length; 0 if none starts there.
func (r *markupReader) construct(s string, i int, st style, lit int) int {
	rest := s[i:]
	var m []string
	switch rest[0] {
	case '`':
		if m = codeRE.FindStringSubmatch(rest); m != nil {
			r.text(s[lit:i], st)
			r.text(m[1], st|styleAccent)
		}
	case '*':
		if m = boldRE.FindStringSubmatch(rest); m != nil {
			r.text(s[lit:i], st)
			r.inline(m[1], st|styleBold)
		}
	case '_':
		if !wordBoundaryBefore(s[:i]) {
			return 0
		}
		if m = italicRE.FindStringSubmatch(rest); m != nil && !wordCharAt(rest[len(m[0]):]) {
			r.text(s[lit:i], st)
			r.inline(m[1], st|styleItalic)
		} else {
			m = nil
		}
	case '<':
		switch {
		case linkRE.MatchString(rest):
			m = linkRE.FindStringSubmatch(rest)
			r.text(s[lit:i], st)
			r.inline(m[2], st)
			r.text(" ("+m[1]+")", st)
		case bareLinkRE.MatchString(rest):
			m = bareLinkRE.FindStringSubmatch(rest)
			r.text(s[lit:i], st)
			r.text(m[1], st)
		case personRE.MatchString(rest):
			m = personRE.FindStringSubmatch(rest)
			name := m[2]
			if name == "" {
				name = m[1]
			}
			r.text(s[lit:i], st)
			r.text("@"+strings.TrimPrefix(name, "@"), st|styleBold)
		case timeRE.MatchString(rest):
			m = timeRE.FindStringSubmatch(rest)
			shown := m[2]
			if shown == "" {
				unix, err := strconv.ParseInt(m[1], 10, 64)
				if err != nil {
					return 0
				}
				shown = time.Unix(unix, 0).UTC().Format("Mon 2 Jan 2006 15:04 MST")
			}
			r.text(s[lit:i], st)
			r.text(shown, st)
		}
	}
	if m == nil {
		return 0
	}
	return len(m[0])
}

// text adds literal text, putting the untrusted runs back in its holes.
func (r *markupReader) text(s string, st style) {
	last := 0
	for _, h := range holeRE.FindAllStringSubmatchIndex(s, -1) {
		r.out.plain(s[last:h[0]], st)
		if n, err := strconv.Atoi(s[h[2]:h[3]]); err == nil && n < len(r.holes) {
			r.out.plain(r.holes[n], st)
		}
		last = h[1]
	}
	r.out.plain(s[last:], st)
}

// wordBoundaryBefore reports whether an underscore after before can open
// italics: at the start, or after a space or "(" (so snake_case stays).
func wordBoundaryBefore(before string) bool {
	if before == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(before)
	return unicode.IsSpace(r) || r == '('
}

// wordCharAt reports whether s starts with a letter or digit (a closing
// underscore followed by one is inside a word, not the end of italics).
func wordCharAt(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
