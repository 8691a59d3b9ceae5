package intake

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
)

// Text from outside (a reporter's title, a mail body, a GitHub advisory, an
// answer typed into a chat form) is written by strangers, some of them
// attackers. Every source runs it through CleanText (or Normalize) before it
// reaches the sink, so what is stored and later rendered is one kind of
// text whatever its origin:
//
//   - valid UTF-8 (invalid bytes become U+FFFD);
//   - line breaks are LF only (CRLF and a lone CR become LF);
//   - no control characters but LF and tab: C0, DEL and C1 are removed, and a
//     terminal escape sequence (ESC [ ... final byte, ESC ] ... BEL or ST,
//     and the other ESC forms) is removed as a whole, so no parameter
//     residue such as "[31m" is left behind;
//   - characters that change how text around them is displayed without
//     being visible themselves (bidi overrides, embeddings and isolates as
//     used by Trojan Source, zero-width spaces and joiners, the BOM) are
//     replaced by a visible marker such as ⟨U+202E⟩: the team sees that
//     they were there, and they no longer reorder or hide anything;
//   - private-use characters U+E000–U+F8FF are removed: renderers use a pair
//     of them to mark where untrusted text starts and ends, and a stranger
//     must not be able to forge those markers.
//
// Limits on these fields are counted in characters (runes), never bytes:
// see Len.

// Field limits for reports, in characters. Sources that refuse rather than
// cut (the intake API) answer with the field's name; mail and GitHub keep
// what they received and are bounded by their own size caps.
const (
	MaxTitleChars       = 300
	MaxNameChars        = 200
	MaxEmailChars       = 254 // RFC 5321's path limit
	MaxRepoChars        = 200 // GitHub: 39 for the owner, 100 for the name
	MaxRepositories     = 50
	MaxDescriptionChars = 100_000
)

// Len is the length of s in characters (runes), the unit of every limit on
// report text. Invalid bytes count one each, as CleanText turns each run of
// them into one U+FFFD at most.
func Len(s string) int { return utf8.RuneCountInString(s) }

// CleanText makes untrusted text safe to store and show (see the package
// comment above for the rules). It keeps line breaks and tabs. It is
// idempotent: CleanText(CleanText(s)) == CleanText(s).
func CleanText(s string) string {
	if isClean(s) {
		return s // the common case: plain text costs one scan
	}
	return showFormatChars(stripControls(s))
}

// CleanLine is CleanText for one-line fields (a title, a name, an address):
// line breaks and tabs become single spaces and the ends are trimmed, so a
// title cannot push a forged line ("Assignee: ...") under itself.
func CleanLine(s string) string {
	s = CleanText(s)
	if strings.ContainsAny(s, "\n\t") {
		s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\t' || r == ' ' }), " ")
	}
	return strings.TrimSpace(s)
}

// Normalize cleans every text field of in in place: one-line fields with
// CleanLine, the description and notes with CleanText. Ids keep their
// characters apart from what CleanLine removes, so the same delivery
// normalises to the same SourceID and deduplication still holds. Attachment
// data is bytes and left alone (attachments are listed, never shown).
func Normalize(in *Incoming) {
	in.SourceID = CleanLine(in.SourceID)
	in.Title = bot.Untrusted(CleanLine(string(in.Title)))
	in.Description = bot.Untrusted(CleanText(string(in.Description)))
	in.Reporter.Name = bot.Untrusted(CleanLine(string(in.Reporter.Name)))
	in.Reporter.Email = CleanLine(in.Reporter.Email)
	in.Reporter.GitHub = CleanLine(in.Reporter.GitHub)
	for i := range in.Repositories {
		in.Repositories[i] = CleanLine(in.Repositories[i])
	}
	for i := range in.Attachments {
		in.Attachments[i].Name = bot.Untrusted(CleanLine(string(in.Attachments[i].Name)))
		in.Attachments[i].ContentType = CleanLine(in.Attachments[i].ContentType)
	}
	for i := range in.Notes {
		in.Notes[i] = bot.Untrusted(CleanText(string(in.Notes[i])))
	}
	for i := range in.InReplyTo {
		in.InReplyTo[i] = CleanLine(in.InReplyTo[i])
	}
	in.GitHubRepo = CleanLine(in.GitHubRepo)
	in.GHSA = CleanLine(in.GHSA)
	in.URL = CleanLine(in.URL)
}

// isClean reports whether s is already clean: valid UTF-8 with nothing
// CleanText would change.
func isClean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if isC1(r) || isPrivateUse(r) || isHiddenFormat(r) {
			return false
		}
		i += size
	}
	return true
}

const esc = 0x1b

// stripControls makes s valid UTF-8 with LF line breaks and removes C0
// (but LF and tab), DEL, C1, whole escape sequences and private-use
// characters.
func stripControls(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\r':
			b.WriteByte('\n')
			i++
			if i < len(s) && s[i] == '\n' {
				i++
			}
			continue
		case c == esc:
			i += escapeLen(s[i:])
			continue
		case c == '\n' || c == '\t':
			b.WriteByte(c)
			i++
			continue
		case c < 0x20 || c == 0x7f:
			i++
			continue
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// One replacement character for a run of invalid bytes, as
			// strings.ToValidUTF8 does: a binary blob does not become a
			// wall of U+FFFD.
			b.WriteRune(utf8.RuneError)
			for i < len(s) {
				r, size = utf8.DecodeRuneInString(s[i:])
				if r != utf8.RuneError || size != 1 {
					break
				}
				i++
			}
			continue
		case isC1(r), isPrivateUse(r):
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeLen is how many bytes of s (which starts with ESC) form one escape
// sequence to drop. A sequence that is not terminated is not swallowed with
// the text after it: only the ESC goes, and the rest stays as plain text.
func escapeLen(s string) int {
	if len(s) < 2 {
		return 1
	}
	switch s[1] {
	case '[': // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E
		j := 2
		for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f {
			j++
		}
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
			return j + 1
		}
		return 1
	case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC: a string up to BEL or ST
		for j := 2; j < len(s); j++ {
			switch {
			case s[j] == 0x07 && s[1] == ']':
				return j + 1
			case s[j] == esc && j+1 < len(s) && s[j+1] == '\\':
				return j + 2
			case s[j] == 0xc2 && j+1 < len(s) && s[j+1] == 0x9c: // U+009C, the 8-bit ST
				return j + 2
			}
		}
		return 1
	}
	// Other forms: ESC, intermediates 0x20–0x2F, a final byte 0x30–0x7E
	// (charset designations such as ESC ( B, ESC c to reset the terminal).
	j := 1
	for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
		j++
	}
	if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
		return j + 1
	}
	return 1
}

// showFormatChars replaces invisible format characters with a visible
// marker. Zero-width joiner and non-joiner are kept between two non-ASCII
// characters: there they are spelling (Persian, the Indic scripts) or
// emoji sequences, not disguise; between ASCII letters ("pay\u200dpal")
// they are shown.
func showFormatChars(s string) string {
	if !strings.ContainsFunc(s, isHiddenFormat) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	var prev rune = -1
	for i, r := range s {
		if isHiddenFormat(r) {
			if (r == 0x200c || r == 0x200d) && joinsLetters(prev) {
				next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
				if joinsLetters(next) {
					b.WriteRune(r)
					prev = r
					continue
				}
			}
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		} else {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// joinsLetters reports whether r is a character a zero-width joiner or
// non-joiner may legitimately stand next to.
func joinsLetters(r rune) bool {
	return r > unicode.MaxASCII && r != utf8.RuneError && unicode.IsGraphic(r) && !isHiddenFormat(r) && r != '⟩' && r != '⟨'
}

func isC1(r rune) bool         { return r >= 0x80 && r <= 0x9f }
func isPrivateUse(r rune) bool { return r >= 0xe000 && r <= 0xf8ff }

// isHiddenFormat reports the invisible characters that can reorder or hide
// text: bidi embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069), the Arabic letter mark (U+061C), zero-width spaces,
// joiners and directional marks (U+200B–U+200F), word joiner and invisible
// operators (U+2060–U+2064), deprecated format characters (U+206A–U+206F)
// and the byte-order mark (U+FEFF).
func isHiddenFormat(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r >= 0x200b && r <= 0x200f,
		r >= 0x2060 && r <= 0x2064,
		r >= 0x206a && r <= 0x206f,
		r == 0x061c, r == 0xfeff:
		return true
	}
	return false
}
