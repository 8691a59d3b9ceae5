package email

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxHTMLTokens bounds the work on one HTML body; the text is already
// capped, but a body of empty tags can be long in tokens.
const maxHTMLTokens = 200_000

// htmlToText turns an HTML body into readable plain text: paragraphs and
// line breaks kept, list items bulleted, links followed by their target (a
// report's proof-of-concept URL matters more than its anchor text), and
// scripts, styles and comments dropped. It is not a renderer: the text
// goes to a chat thread, never back into a browser.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var (
		b         strings.Builder
		skip      int // depth inside script/style/head/title
		pre       int // depth inside pre
		href      []string
		needSpace bool
	)
	newline := func(n int) {
		// At most n line breaks in a row, none at the start.
		s := b.String()
		if len(s) == 0 {
			return
		}
		have := len(s) - len(strings.TrimRight(s, "\n"))
		for ; have < n; have++ {
			b.WriteByte('\n')
		}
		needSpace = false
	}
	for i := 0; i < maxHTMLTokens; i++ {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := string(z.Text())
			if pre > 0 {
				b.WriteString(text)
				continue
			}
			words := strings.Fields(text)
			if len(words) == 0 {
				if text != "" {
					needSpace = true
				}
				continue
			}
			if needSpace || startsWithSpace(text) {
				if s := b.String(); len(s) > 0 && !strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, " ") {
					b.WriteByte(' ')
				}
			}
			b.WriteString(strings.Join(words, " "))
			needSpace = endsWithSpace(text)
		case html.StartTagToken, html.SelfClosingTagToken:
			tn, hasAttr := z.TagName()
			a := atom.Lookup(tn)
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				}
			case atom.Br:
				b.WriteByte('\n')
				needSpace = false
			case atom.P, atom.Div, atom.Table, atom.Blockquote, atom.Section, atom.Article,
				atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Hr:
				newline(2)
			case atom.Tr:
				newline(1)
			case atom.Td, atom.Th:
				needSpace = true
			case atom.Li:
				newline(1)
				b.WriteString("- ")
			case atom.Pre:
				newline(2)
				pre++
			case atom.A:
				link := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						link = strings.TrimSpace(string(v))
					}
				}
				href = append(href, link)
			}
		case html.EndTagToken:
			tn, _ := z.TagName()
			switch atom.Lookup(tn) {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if skip > 0 {
					skip--
				}
			case atom.P, atom.Div, atom.Table, atom.Blockquote, atom.Section, atom.Article,
				atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol:
				newline(2)
			case atom.Pre:
				if pre > 0 {
					pre--
				}
				newline(2)
			case atom.A:
				if n := len(href); n > 0 {
					link := href[n-1]
					href = href[:n-1]
					if link != "" && !strings.HasPrefix(strings.ToLower(link), "javascript:") && !strings.HasSuffix(b.String(), link) {
						b.WriteString(" (" + link + ")")
					}
				}
			}
		}
	}
	return tidy(b.String())
}

func startsWithSpace(s string) bool { return s != "" && strings.TrimLeft(s, " \t\r\n") != s }
func endsWithSpace(s string) bool   { return s != "" && strings.TrimRight(s, " \t\r\n") != s }

// tidy trims trailing spaces on each line and runs of blank lines.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
