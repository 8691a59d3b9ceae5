package bot_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

func TestUntrustedFormattingKeepsTheMarking(t *testing.T) {
	u := bot.Untrusted("<!channel> \"x\"")
	want := "\ue000<!channel> \"x\"\ue001"
	for _, got := range []string{u.String(), fmt.Sprintf("%s", u), fmt.Sprintf("%v", u), fmt.Sprint(u)} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// %q quotes the text and marks the quoted form: the markers stay real
	// runes, not visible \ue000 escapes.
	if got := fmt.Sprintf("%q", u); got != "\ue000\"<!channel> \\\"x\\\"\"\ue001" {
		t.Errorf("%%q = %q", got)
	}
	// Only string(u) is raw; JSON is a plain string.
	if string(u) != "<!channel> \"x\"" {
		t.Errorf("raw = %q", string(u))
	}
	if data, _ := json.Marshal(struct{ T bot.Untrusted }{u}); string(data) != `{"T":"\u003c!channel\u003e \"x\""}` {
		t.Errorf("json = %s", data)
	}
}

// An outsider who writes the close marker cannot end their own marking.
func TestUntrustedCannotForgeItsEnd(t *testing.T) {
	u := bot.Untrusted("a\ue001 <!here> \ue000b")
	segs := bot.Segments("Title: " + u.String() + " (Vigil)")
	want := []bot.Segment{{Text: "Title: "}, {Text: "a <!here> b", Untrusted: true}, {Text: " (Vigil)"}}
	if !reflect.DeepEqual(segs, want) {
		t.Errorf("segments %+v, want %+v", segs, want)
	}
}

func TestSegmentsFailSafe(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []bot.Segment
	}{
		{"plain", "just Vigil", []bot.Segment{{Text: "just Vigil"}}},
		{"empty", "", nil},
		{"two runs", "a\ue000x\ue001b\ue000y\ue001", []bot.Segment{{Text: "a"}, {Text: "x", Untrusted: true}, {Text: "b"}, {Text: "y", Untrusted: true}}},
		{"cut short: untrusted to the end", "a\ue000x <!here>", []bot.Segment{{Text: "a"}, {Text: "x <!here>", Untrusted: true}}},
		{"cut from the middle: untrusted from the start", "<!here> x\ue001 b", []bot.Segment{{Text: "<!here> x", Untrusted: true}, {Text: " b"}}},
		{"nested: untrusted to the end", "a\ue000x\ue000y\ue001 z\ue001 w", []bot.Segment{{Text: "a"}, {Text: "xy z w", Untrusted: true}}},
		{"stray close after runs", "a\ue000x\ue001b\ue001c", []bot.Segment{{Text: "axb", Untrusted: true}, {Text: "c"}}},
	}
	for _, tt := range tests {
		if got := bot.Segments(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Segments(%q) = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestUntrustedTruncateCountsCharacters(t *testing.T) {
	u := bot.Untrusted(strings.Repeat("é", 10))
	if got := u.Truncate(10); got != u {
		t.Errorf("10 characters cut at 10: %q", got)
	}
	if got := u.Truncate(5); string(got) != "éééé…" || utf8.RuneCountInString(string(got)) != 5 {
		t.Errorf("Truncate(5) = %q", got)
	}
}

// What a person typed comes back marked: an unknown command is echoed as
// untrusted text, and markers they typed are gone.
func TestRouterEchoesArgumentsAsUntrusted(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	sent := h.Command("bob", "<!channel>\ue001x")
	if len(sent) != 1 {
		t.Fatalf("want one reply, got %q", bottest.Texts(sent))
	}
	segs := bot.Segments(sent[0].Msg.Text)
	found := false
	for _, s := range segs {
		if strings.Contains(s.Text, "<!channel>") {
			found = true
			if !s.Untrusted {
				t.Errorf("the echoed command is Vigil's own text: %+v", segs)
			}
		}
		if strings.ContainsAny(s.Text, "\ue000\ue001") {
			t.Errorf("a marker survived: %q", s.Text)
		}
	}
	if !found {
		t.Errorf("the reply does not echo the command: %q", sent[0].Msg.Text)
	}
}

func FuzzSegments(f *testing.F) {
	for _, s := range []string{"a\ue000b\ue001c", "\ue001", "\ue000\ue000", "x\ue000y", ""} {
		f.Add(s, "own")
	}
	f.Fuzz(func(t *testing.T, text, outside string) {
		segs := bot.Segments(text)
		var joined strings.Builder
		for i, s := range segs {
			if s.Text == "" || strings.ContainsAny(s.Text, "\ue000\ue001") {
				t.Fatalf("segment %d %q: empty or holds a marker", i, s.Text)
			}
			if i > 0 && segs[i-1].Untrusted == s.Untrusted {
				t.Fatalf("segments %d and %d not merged", i-1, i)
			}
			joined.WriteString(s.Text)
		}
		if once := strings.NewReplacer("\ue000", "", "\ue001", "").Replace(text); joined.String() != once {
			t.Fatalf("segments lose text: %q vs %q", joined.String(), once)
		}
		// However the outsider's text is made, inside Vigil's text it is
		// one untrusted run and Vigil's text around it stays Vigil's.
		own := bot.StripSentinels(text)
		if own == "" || bot.StripSentinels(outside) == "" {
			return
		}
		got := bot.Segments(own + bot.Untrusted(outside).String() + own)
		want := []bot.Segment{{Text: own}, {Text: strings.ToValidUTF8(bot.StripSentinels(outside), "\uFFFD"), Untrusted: true}, {Text: own}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Segments = %+v, want %+v", got, want)
		}
	})
}
