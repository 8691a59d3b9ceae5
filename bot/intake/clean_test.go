package intake

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
)

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "Heap overflow in parse()\n\tline 2", "Heap overflow in parse()\n\tline 2"},
		{"non-ASCII is unchanged", "Überlauf in ×parse — 日本語 🙂", "Überlauf in ×parse — 日本語 🙂"},
		{"NUL removed", "a\x00b", "ab"},
		{"C0 controls removed, LF and tab kept", "a\x01\x07\x08\x0b\x0c\x1f\tb\nc", "a\tb\nc"},
		{"DEL removed", "a\x7fb", "ab"},
		{"C1 controls removed", "a\u0085b\u009bc\u009fd", "abcd"},
		{"CRLF and CR become LF", "a\r\nb\rc\n\rd", "a\nb\nc\n\nd"},
		{"CSI colour sequence removed whole", "\x1b[31mred\x1b[0m text", "red text"},
		{"CSI with private parameters", "\x1b[?25lhidden cursor\x1b[2J", "hidden cursor"},
		{"OSC hyperlink removed whole (BEL)", "\x1b]8;;https://evil.example\x07docs\x1b]8;;\x07", "docs"},
		{"OSC window title removed whole (ST)", "\x1b]0;pwned\x1b\\after", "after"},
		{"OSC with 8-bit ST", "\x1b]0;pwned\u009cafter", "after"},
		{"charset designation and reset", "\x1b(Bx\x1bcy", "xy"},
		{"unterminated OSC keeps the text", "\x1b]0;not a title", "]0;not a title"},
		{"unterminated CSI keeps the text", "\x1b[31", "[31"},
		{"lone ESC at the end", "abc\x1b", "abc"},
		{"invalid UTF-8 replaced once per run", "a\xff\xfe\xfdb\xc3", "a\uFFFDb\uFFFD"},
		{"bidi override shown", "access\u202e\u2066level", "access⟨U+202E⟩⟨U+2066⟩level"},
		{"all bidi controls shown", "\u202a\u202b\u202c\u202d\u2067\u2068\u2069\u061c", "⟨U+202A⟩⟨U+202B⟩⟨U+202C⟩⟨U+202D⟩⟨U+2067⟩⟨U+2068⟩⟨U+2069⟩⟨U+061C⟩"},
		{"zero-width space and BOM shown", "pay\u200bpal\ufeff", "pay⟨U+200B⟩pal⟨U+FEFF⟩"},
		{"word joiner and invisible operators shown", "a\u2060b\u2064c", "a⟨U+2060⟩b⟨U+2064⟩c"},
		{"ZWJ between ASCII letters shown", "pay\u200dpal", "pay⟨U+200D⟩pal"},
		{"ZWJ in an emoji sequence kept", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"},
		{"ZWNJ in Persian kept", "می\u200cخواهم", "می\u200cخواهم"},
		{"ZWJ at the start shown", "\u200dé", "⟨U+200D⟩é"},
		{"private-use sentinels removed", "a\ue000b\uf8ffc\ue123", "abc"},
		{"replacement character itself is kept", "a\uFFFDb", "a\uFFFDb"},
		{"marker text typed by a reporter is kept", "⟨U+202E⟩", "⟨U+202E⟩"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CleanText(tc.in)
			if got != tc.want {
				t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := CleanText(got); again != got {
				t.Errorf("not idempotent: CleanText(%q) = %q", got, again)
			}
		})
	}
}

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"  Title\r\nAssignee: mallory\t x ": "Title Assignee: mallory x",
		"\x1b[1mBold\x1b[0m title":          "Bold title",
		"a\u202eb":                          "a⟨U+202E⟩b",
		"":                                  "",
	} {
		if got := CleanLine(in); got != want {
			t.Errorf("CleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLenCountsCharacters(t *testing.T) {
	if n := Len(strings.Repeat("é", MaxTitleChars)); n != MaxTitleChars {
		t.Fatalf("Len of %d two-byte characters = %d", MaxTitleChars, n)
	}
	if n := Len("🙂"); n != 1 {
		t.Fatalf("Len(emoji) = %d, want 1", n)
	}
}

func TestNormalizeCleansEveryTextField(t *testing.T) {
	dirty := "x\x00\x1b[31m\u202e\ue000\r\ny"
	in := Incoming{
		SourceID: dirty, Title: bot.Untrusted(dirty), Description: bot.Untrusted(dirty),
		Reporter:     Reporter{Name: bot.Untrusted(dirty), Email: dirty, GitHub: dirty},
		Repositories: []string{dirty},
		Attachments:  []Attachment{{Name: bot.Untrusted(dirty), ContentType: dirty, Data: []byte("\x00raw")}},
		Notes:        []bot.Untrusted{bot.Untrusted(dirty)}, InReplyTo: []string{dirty},
		GitHubRepo: dirty, GHSA: dirty, URL: dirty,
	}
	Normalize(&in)
	line, text := "x⟨U+202E⟩ y", "x⟨U+202E⟩\ny"
	for name, got := range map[string]string{
		"source_id": in.SourceID, "title": string(in.Title), "reporter.name": string(in.Reporter.Name),
		"reporter.email": in.Reporter.Email, "reporter.github": in.Reporter.GitHub,
		"repositories": in.Repositories[0], "attachment name": string(in.Attachments[0].Name),
		"attachment type": in.Attachments[0].ContentType, "in_reply_to": in.InReplyTo[0],
		"github_repo": in.GitHubRepo, "ghsa": in.GHSA, "url": in.URL,
	} {
		if got != line {
			t.Errorf("%s = %q, want %q", name, got, line)
		}
	}
	for name, got := range map[string]string{"description": string(in.Description), "notes": string(in.Notes[0])} {
		if got != text {
			t.Errorf("%s = %q, want %q", name, got, text)
		}
	}
	if string(in.Attachments[0].Data) != "\x00raw" {
		t.Errorf("attachment data changed: %q", in.Attachments[0].Data)
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{
		"", "plain", "\x1b[31mred", "\x1b]8;;http://x\x07y\x1b]8;;\x07", "a\r\nb\rc",
		"\xff\xfe", "\u202e\u2066", "é\u200dé", "👨\u200d👩", "\ue000", "\x1b]0;t\u009c", "\x1b(B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := CleanText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("CleanText(%q) = %q is not valid UTF-8", s, out)
		}
		if again := CleanText(out); again != out {
			t.Fatalf("not idempotent: CleanText(%q) = %q, then %q", s, out, again)
		}
		for _, r := range out {
			switch {
			case r == '\n' || r == '\t':
			case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
				t.Fatalf("CleanText(%q) = %q keeps control %U", s, out, r)
			case isPrivateUse(r):
				t.Fatalf("CleanText(%q) = %q keeps private-use %U", s, out, r)
			case isHiddenFormat(r) && r != 0x200c && r != 0x200d:
				t.Fatalf("CleanText(%q) = %q keeps invisible %U", s, out, r)
			}
		}
		line := CleanLine(s)
		if strings.ContainsAny(line, "\n\t\r") || CleanLine(line) != line {
			t.Fatalf("CleanLine(%q) = %q: not one stable line", s, line)
		}
	})
}
