package texts

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/bot"
)

var files = fstest.MapFS{
	"templates/hello.txt.tmpl": {Data: []byte("Hello {{.Name}},\n{{.Note}}\n")},
	"templates/map.txt.tmpl":   {Data: []byte("{{.missing}}")},
}

func TestRenderKeepsRawTextAndMarksUntrusted(t *testing.T) {
	s := MustParse(files, "templates/*.tmpl")
	got, err := s.Render("hello.txt.tmpl", struct {
		Name string
		Note bot.Untrusted
	}{Name: `<a & "b">`, Note: "<!channel>"})
	if err != nil {
		t.Fatal(err)
	}
	// No escaping of raw strings; an Untrusted value carries its markers
	// exactly as fmt would print it.
	want := "Hello <a & \"b\">,\n" + bot.Untrusted("<!channel>").String() + "\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	s := MustParse(files, "templates/*.tmpl")
	if _, err := s.Render("map.txt.tmpl", map[string]string{}); err == nil || !strings.Contains(err.Error(), "map.txt.tmpl") {
		t.Fatalf("missing key: got %v, want an error naming the template", err)
	}
	if _, err := s.Render("nope.txt.tmpl", nil); err == nil {
		t.Fatal("unknown template: no error")
	}
	if _, err := s.Render("hello.txt.tmpl", struct{ Name string }{"x"}); err == nil {
		t.Fatal("missing field: no error")
	}
}
