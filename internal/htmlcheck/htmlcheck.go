// Package htmlcheck checks that a page Vigil writes (the yearly report)
// is self-contained, and reads figures out of it by element id, for tests.
package htmlcheck

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

// External lists what in page would load from elsewhere: a script, frame,
// object, link or base element; a src, href, srcset, poster, data, action
// or formaction attribute that is neither a fragment nor a data: URL; a
// url() in a style sheet that is not data:. It returns the parsed page.
func External(page []byte) (*html.Node, []string, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, nil, fmt.Errorf("not HTML: %w", err)
	}
	var found []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "iframe", "frame", "object", "embed", "link", "base":
				found = append(found, "<"+n.Data+">")
			}
			for _, a := range n.Attr {
				switch strings.ToLower(a.Key) {
				case "src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction":
					v := strings.TrimSpace(a.Val)
					if !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:") {
						found = append(found, fmt.Sprintf("<%s %s=%q>", n.Data, a.Key, a.Val))
					}
				}
			}
		}
		if n.Type == html.TextNode && n.Parent != nil && n.Parent.Data == "style" {
			for _, part := range strings.Split(n.Data, "url(")[1:] {
				if v := strings.Trim(strings.TrimSpace(part), `"'`); !strings.HasPrefix(v, "data:") {
					found = append(found, fmt.Sprintf("url(%.40s…)", v))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return doc, found, nil
}

// TextByID is the text inside the element with that id, trimmed, or ""
// when there is none.
func TextByID(doc *html.Node, id string) string {
	var found *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				found = n
			}
		}
		for c := n.FirstChild; c != nil && found == nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if found == nil {
		return ""
	}
	var b strings.Builder
	var text func(*html.Node)
	text = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			text(c)
		}
	}
	text(found)
	return strings.TrimSpace(b.String())
}
