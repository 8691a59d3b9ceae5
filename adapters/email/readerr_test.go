package email

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	reports "github.com/vigil-sec/vigil/commands/report"
)

// brokenParts is a report whose parts cannot all be read: a body whose
// base64 breaks half way, an attachment with broken quoted-printable, and
// a part in a charset nobody knows. The good first part is intact. (Go's
// quoted-printable reader passes a bad escape through as text, so the
// attachment breaks on a raw control byte, which it refuses.)
var brokenParts = strings.Replace(crlf(`
From: Ana Reporter <ana@example.net>
To: security@example.org
Subject: Path traversal in the export
Message-ID: <broken1@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

The export endpoint takes a file name.
--B
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

R0VUIC9leHBvcnQ/Zj0uLi8uLi9ldGMvcGFzc3dk!!!!bm90IHJlYWNoZWQ=
--B
Content-Type: text/x-log; name="poc.log"
Content-Disposition: attachment; filename="poc.log"
Content-Transfer-Encoding: quoted-printable

line one=0Aline two =ZZ line three
--B
Content-Type: text/plain; charset=x-no-such-charset

Steps in a charset nobody knows.
--B--
`), "=ZZ", "\x01", 1)

func TestUnreadablePartsAreNotedAndReadablePartsKept(t *testing.T) {
	in, err := Parse([]byte(brokenParts), ParseOptions{Received: received})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The export endpoint takes a file name.", "GET /export?f=../../etc/passwd", "Steps in a charset nobody knows."} {
		if !strings.Contains(string(in.Description), want) {
			t.Errorf("description lacks %q:\n%s", want, in.Description)
		}
	}
	if strings.Contains(string(in.Description), "not reached") {
		t.Errorf("text after the broken base64 was invented:\n%s", in.Description)
	}
	for _, want := range []string{
		"part 3 (text/plain) could not be read to the end (illegal base64 data",
		`part 4 (attachment "poc.log", text/x-log) could not be read to the end`,
		"part 5 (text/plain) uses an unknown charset",
	} {
		if !hasNote(in, want) {
			t.Errorf("no note %q in %q", want, in.Notes)
		}
	}
	if len(in.Attachments) != 1 || !strings.Contains(string(in.Attachments[0].Data), "line one\nline two") {
		t.Errorf("the readable start of the attachment was not kept: %+v", in.Attachments)
	}
}

// On the console, the team sees in the report's announcement which part
// could not be read and why, beside what could.
func TestUnreadablePartIsShownInTheReportsThread(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	reps, err := reports.Register(h.Engine, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Parse([]byte(brokenParts), ParseOptions{Received: h.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reps.Receive(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	out := bottest.Joined(h.Advance(time.Minute))
	for _, want := range []string{res.ReportID, "The export endpoint takes a file name.", "⚠ part 3 (text/plain) could not be read to the end (illegal base64 data", `⚠ part 4 (attachment "poc.log", text/x-log) could not be read to the end`} {
		if !strings.Contains(out, want) {
			t.Errorf("the thread lacks %q:\n%s", want, out)
		}
	}
}
