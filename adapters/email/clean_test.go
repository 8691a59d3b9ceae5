package email

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Mail is cleaned like every other source: a bidi override in the subject
// is shown, escape sequences and private-use characters are gone, in the
// title, the description and the reporter's name alike.
func TestParseCleansHostileText(t *testing.T) {
	raw := "From: =?utf-8?b?" + b64("Eve \u202eevil\ue000") + "?= <eve@example.net>\r\n" +
		"To: security@example.org\r\n" +
		"Subject: =?utf-8?b?" + b64("Bug \x1b[2Jin \u202eparser\ue001") + "?=\r\n" +
		"Message-ID: <hostile1@example.net>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"line 1\r\n\x1b]0;owned\x07line 2 \u2066isolated\u2069\r\n"
	in, err := Parse([]byte(raw), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Title != "Bug in ⟨U+202E⟩parser" {
		t.Errorf("title %q", in.Title)
	}
	if in.Reporter.Name != "Eve ⟨U+202E⟩evil" {
		t.Errorf("reporter name %q", in.Reporter.Name)
	}
	if !strings.Contains(string(in.Description), "line 1\nline 2 ⟨U+2066⟩isolated⟨U+2069⟩") || strings.Contains(string(in.Description), "owned") {
		t.Errorf("description %q", in.Description)
	}
}
