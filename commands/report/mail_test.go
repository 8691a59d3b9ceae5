package report

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
)

// TestMailBodies renders every mail with sample data and compares it with
// testdata/mail/*.txt, which hold the exact text the mails had when they
// were built with fmt.Sprintf. Mail takes raw text: the hostile title and
// name arrive as written, with no markers.
func TestMailBodies(t *testing.T) {
	r := &Reports{o: Options{Operators: []Operator{{Name: "ExampleHost", Domain: "examplehost.net", Contact: "security@examplehost.net"}}}}
	sample := func(name bot.Untrusted, credit bool) *Report {
		return &Report{
			ID:           "VIG-2026-7",
			Title:        `XSS in <search> & "filters"`,
			Description:  "The q parameter is reflected unescaped.\n\n<!channel> see https://evil.example/",
			Reporter:     intake.Reporter{Name: name, Email: "eve@example.org", Credit: credit},
			Received:     time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC),
			Source:       intake.SourceAPI,
			RejectReason: "Works as documented: the q parameter is\nescaped by the template.",
		}
	}
	for _, c := range []struct {
		file, kind string
		rep        *Report
	}{
		{"acknowledged.txt", "acknowledged", sample("Eve <eve>", false)},
		{"acknowledged-no-name.txt", "acknowledged", sample("", false)},
		{"accepted.txt", "accepted", sample("Eve", false)},
		{"accepted-credit.txt", "accepted", sample("Eve", true)},
		{"rejected.txt", "rejected", sample("Eve", false)},
		{"forward.txt", "forward:examplehost", sample("Eve", false)},
	} {
		t.Run(c.file, func(t *testing.T) {
			m, err := r.buildMail(c.rep, c.kind)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsRune(m.Body, bot.UntrustedOpen) || strings.ContainsRune(m.Body, bot.UntrustedClose) {
				t.Errorf("mail body has chat markers: %q", m.Body)
			}
			bottest.Golden(t, "testdata/mail/"+c.file, m.Body)
		})
	}
}
