// Package texts holds the long texts of a feature (mail bodies, multi-line
// chat messages, the incident write-up) as text/template files embedded in
// the feature's package, so they can be read and reviewed as text.
//
// text/template escapes nothing, which is what mail and GitHub Markdown
// want: they take raw text. In chat texts a bot.Untrusted value prints
// through its String method like with fmt, so it keeps its markers and the
// adapters' renderers still make it inert.
package texts

import (
	"fmt"
	"io/fs"
	"strings"
	"text/template"
)

// Set is a package's parsed templates, each named by its file name
// ("ack.txt.tmpl").
type Set struct {
	t *template.Template
}

// MustParse parses the templates in fsys matching pattern (a package's
// embedded files). It panics on a template that does not parse: the files
// are compiled in, so that is a bug caught by any test of the package, as
// with template.Must. A missing map key is an error rather than "<no value>".
func MustParse(fsys fs.FS, pattern string) *Set {
	return &Set{t: template.Must(template.New("").Option("missingkey=error").ParseFS(fsys, pattern))}
}

// Render executes the template called name with data, a typed struct.
func (s *Set) Render(name string, data any) (string, error) {
	var b strings.Builder
	if err := s.t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("text %s: %w", name, err)
	}
	return b.String(), nil
}
