package matrix

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/hostile"
)

// ownTags are the only tags Vigil's renderer writes for a report (which has
// no links of Vigil's own): no <a> (so no pill and no link), and no
// attribute anywhere.
var ownTags = map[string]bool{"strong": true, "em": true, "br": true, "sub": true, "code": true, "ol": true, "li": true}

// htmlProblems checks a formatted_body Vigil sent for a report: only
// Vigil's own tags, no attributes, no comments or doctypes, and no marker.
func htmlProblems(formatted string) []string {
	var out []string
	z := xhtml.NewTokenizer(strings.NewReader(formatted))
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			if strings.ContainsAny(formatted, "\uE000\uE001") {
				out = append(out, "a marker leaked")
			}
			return out
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if !ownTags[string(name)] || hasAttr {
				out = append(out, fmt.Sprintf("tag %q (attributes %v) from the input", z.Raw(), hasAttr))
			}
		case xhtml.CommentToken, xhtml.DoctypeToken:
			out = append(out, fmt.Sprintf("markup %q from the input", z.Raw()))
		}
	}
}

// visibleText is the text a client shows for formatted HTML.
func visibleText(formatted string) string {
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(formatted))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return b.String()
		case xhtml.TextToken:
			b.Write(z.Text())
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			if name, _ := z.TagName(); string(name) == "br" {
				b.WriteByte('\n')
			}
		}
	}
}

// Every corpus string, as a report's title, description and reporter name
// from every source, reaches Matrix as text: no tag, link, pill or markup
// from the input in formatted_body, the text shown as written, no marker
// in body, and m.mentions naming only the assignee.
func TestHostileCorpusRendersInert(t *testing.T) {
	filed := hostile.Reports(t, hostile.Load(t))
	for _, f := range filed {
		name := f.Case.Name + "/" + string(f.Source)
		plain, formatted := render(f.Msg)
		for _, p := range htmlProblems(formatted) {
			t.Errorf("%s: formatted_body: %s", name, p)
		}
		if strings.ContainsAny(plain, "\uE000\uE001") || !utf8.ValidString(formatted) && utf8.ValidString(f.Case.Text) {
			t.Errorf("%s: body %q", name, plain)
		}
		if m := mentions(f.Msg); len(m.UserIDs) != 0 || m.Room {
			t.Errorf("%s: m.mentions %+v, want nobody (the assignee has no Matrix account here)", name, m)
		}
	}
}

// An untrusted run shows exactly as written; Vigil's bold around it still
// pairs; nothing inside it is markup.
func TestHTMLTextMixesOwnAndUntrusted(t *testing.T) {
	for _, c := range hostile.Load(t) {
		in := strings.ToValidUTF8(bot.StripSentinels(c.Text), "\uFFFD")
		got := htmlText("*Title:* " + bot.Untrusted(in).String())
		for _, p := range htmlProblems(got) {
			t.Errorf("%s: %s", c.Name, p)
		}
		if !strings.HasPrefix(got, "<strong>Title:</strong> ") {
			t.Errorf("%s: Vigil's own bold lost: %q", c.Name, got)
		}
		// (The tokenizer itself normalises CR and NUL, so those are left
		// to the markup check.)
		if vis := visibleText(got); !strings.ContainsAny(in, "\r\x00") && vis != "Title: "+in {
			t.Errorf("%s: shows %q, want the text as written", c.Name, vis)
		}
	}
	if got := htmlText("see <https://example.org/a|the advisory> " + bot.Untrusted("<https://evil.example/|docs>").String()); got != `see <a href="https://example.org/a">the advisory</a> &lt;https://evil.example/|docs&gt;` {
		t.Errorf("links: %q", got)
	}
	if got := plainText("Reporter: " + bot.Untrusted("<https://evil.example/|docs>").String()); got != "Reporter: <https://evil.example/|docs>" {
		t.Errorf("plain: %q", got)
	}
}

// m.mentions lists exactly the Matrix accounts Vigil means.
func TestMentionsOnlyWhomVigilMeans(t *testing.T) {
	m := mentions(bot.Message{Mentions: []bot.UserRef{{Adapter: bot.AdapterMatrix, ID: "@alice:example.org"}, {Adapter: bot.AdapterSlack, ID: "U1"}}})
	if len(m.UserIDs) != 1 || m.UserIDs[0] != "@alice:example.org" || m.Room {
		t.Errorf("mentions %+v", m)
	}
	if m := mentions(bot.Message{}); m == nil || len(m.UserIDs) != 0 {
		t.Errorf("no mentions must still send an empty m.mentions: %+v", m)
	}
}

func FuzzRenderUntrusted(f *testing.F) {
	for _, c := range []string{`<a href="https://matrix.to/#/@alice:example.org">alice</a>`, "<@matrix:@alice:example.org|Alice>", "<!time:0|x>", "@room", "*x*", "\ue001<b>x</b>", "\ue002" + "0\ue003", "<!-- x -->"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, outside string) {
		msg := bot.Message{
			Header: "Report: " + bot.Untrusted(outside).String(),
			Text:   "*" + bot.Untrusted(outside).String() + "* `" + bot.Untrusted(outside).String() + "`",
			Fields: []bot.Field{{Label: "Reporter", Value: bot.Untrusted(outside).String()}},
		}
		plain, formatted := render(msg)
		for _, p := range htmlProblems(formatted) {
			t.Fatalf("%q: %s", formatted, p)
		}
		if strings.ContainsAny(plain, "\uE000\uE001") {
			t.Fatalf("body %q", plain)
		}
		want := html.UnescapeString(html.EscapeString(strings.Map(func(r rune) rune {
			if r == '\uE000' || r == '\uE001' {
				return -1
			}
			return r
		}, outside)))
		if utf8.ValidString(outside) && !strings.ContainsAny(outside, "\r\x00") && !strings.Contains(visibleText(formatted), want) {
			t.Fatalf("%q does not show %q", visibleText(formatted), want)
		}
	})
}
