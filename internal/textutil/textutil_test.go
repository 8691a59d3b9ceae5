package textutil

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"a longer text", 6, "a lon…"},
		{"éééééé", 5, "éééé…"},
		{"日本語のテキスト", 4, "日本語…"},
		{"👩‍💻👩‍💻👩‍💻", 2, "👩…"},
		{"abc", 1, "…"},
		{"abc", 0, "…"},
		{"", 0, ""},
	} {
		if got := Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"a longer text", 8, "a lon…"},
		{"éééééé", 8, "éé…"},  // 4 bytes of é and the 3-byte ellipsis: 7
		{"éééééé", 9, "ééé…"}, // 6 + 3
		{"日本語", 5, "…"},       // 日 and the ellipsis would be 6 bytes
		{"日本語", 2, ""},
		{"abc", 0, ""},
	} {
		if got := TruncateBytes(c.in, c.n); got != c.want {
			t.Errorf("TruncateBytes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// TestNeverSplitsACharacter cuts text of one-, two-, three- and four-byte
// characters (and a joiner sequence) at every length: the result is always
// valid UTF-8, within the limit, and a prefix of the input but for the
// ellipsis.
func TestNeverSplitsACharacter(t *testing.T) {
	const s = "aé日👩‍💻zß€𝄞 GitHub summary — ünïcödé"
	for n := 0; n <= len(s)+1; n++ {
		for name, got := range map[string]string{
			"Truncate":      Truncate(s, n),
			"TruncateBytes": TruncateBytes(s, n),
		} {
			if !utf8.ValidString(got) {
				t.Fatalf("%s(%q, %d) = %q: not valid UTF-8", name, s, n, got)
			}
			if !strings.HasPrefix(s, strings.TrimSuffix(got, Ellipsis)) {
				t.Fatalf("%s(%q, %d) = %q: not a prefix", name, s, n, got)
			}
		}
		if got := Truncate(s, n); utf8.RuneCountInString(got) > max(n, 1) {
			t.Fatalf("Truncate(%q, %d) = %q: more than %d characters", s, n, got, n)
		}
		if got := TruncateBytes(s, n); len(got) > n {
			t.Fatalf("TruncateBytes(%q, %d) = %q: more than %d bytes", s, n, got, n)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0m"},
		{29 * time.Second, "0m"},
		{30 * time.Second, "1m"},
		{45 * time.Minute, "45m"},
		{2*time.Hour + 5*time.Minute, "2h 5m"},
		{2 * time.Hour, "2h"},
		{27 * time.Hour, "1d 3h"},
		{49*time.Hour + time.Minute, "2d 1h 1m"},
		{10 * 24 * time.Hour, "10d"},
		{-90 * time.Minute, "1h 30m"},
	} {
		if got := Duration(c.in); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in         string
		n          int
		head, rest string
	}{
		{"short", 10, "short", ""},
		{"exactly", 7, "exactly", ""},
		{"one two three four", 10, "one two ", "three four"},
		{"First one. Second one.", 16, "First one. ", "Second one."},
		{"a line\nand more words", 12, "a line\n", "and more words"},
		{"para one\n\nline\nmore text here", 16, "para one\n\n", "line\nmore text here"},
		// A break too early would leave a tiny piece: cut at n instead.
		{"a bcdefghijklmnop", 8, "a bcdefg", "hijklmnop"},
		{"ééééé", 3, "ééé", "éé"},
		{"abc", 0, "a", "bc"},
		{"", 5, "", ""},
	} {
		head, rest := Cut(c.in, c.n)
		if head != c.head || rest != c.rest {
			t.Errorf("Cut(%q, %d) = %q, %q; want %q, %q", c.in, c.n, head, rest, c.head, c.rest)
		}
	}
}

// Split loses nothing, keeps the order, and no piece is longer than asked
// or ends inside a character.
func TestSplitKeepsEverythingInOrder(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		b.WriteString("Sätz ")
		b.WriteString(strings.Repeat("日", i%7))
		if i%9 == 0 {
			b.WriteString(".\n\n")
		} else {
			b.WriteString(" ")
		}
	}
	text := b.String()
	pieces := Split(text, 300)
	if got := strings.Join(pieces, ""); got != text {
		t.Fatal("the pieces joined are not the text")
	}
	for i, p := range pieces {
		if n := utf8.RuneCountInString(p); n > 300 || n == 0 || !utf8.ValidString(p) {
			t.Errorf("piece %d: %d characters, valid %v", i, n, utf8.ValidString(p))
		}
	}
	if len(pieces) < 2 {
		t.Errorf("%d pieces", len(pieces))
	}
}
