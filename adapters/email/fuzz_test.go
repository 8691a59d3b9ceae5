package email

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no input makes the parser panic (the recover in
// Parse would hide it in production, so its note fails the test here),
// that it either returns a clear error or an Incoming with a title and a
// source id, and that its output is valid UTF-8 within the caps.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Subject: hi\r\n\r\nbody\r\n",
		"From: \"A\" <a@example.net>\r\nMessage-ID: <x@y>\r\nIn-Reply-To: <a@b>\r\nReferences: <c@d> <e@f>\r\n\r\nbody",
		"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--B--\r\n",
		"Content-Type: text/html; charset=iso-8859-1\r\n\r\n<p>caf\xe9 <a href=x>y</a></p>",
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=E\r\n\r\n--E\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--E\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nwcBMA0l=\r\n-----END PGP MESSAGE-----\r\n--E--\r\n",
		"Subject: =?Shift_JIS?B?kMaO45Cr?=\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\nkMaO45CrgsyV8Y2Q\r\n",
		"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n",
		"no header at all",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		opts := ParseOptions{MaxBodyBytes: 4096, MaxAttachmentBytes: 1024, MaxAttachments: 3}
		in, err := Parse(raw, opts)
		if err != nil {
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, n := range in.Notes {
			if strings.Contains(string(n), "internal error") {
				t.Fatalf("parser panicked: %s", n)
			}
		}
		if in.Title == "" || in.SourceID == "" {
			t.Fatalf("title %q, source id %q: both are required", in.Title, in.SourceID)
		}
		if len(in.Description) > opts.MaxBodyBytes || !utf8.ValidString(string(in.Description)) || !utf8.ValidString(string(in.Title)) {
			t.Fatalf("description %d bytes (cap %d), valid %v", len(in.Description), opts.MaxBodyBytes, utf8.ValidString(string(in.Description)))
		}
		if len(in.Attachments) > opts.MaxAttachments {
			t.Fatalf("%d attachments over the cap", len(in.Attachments))
		}
		for _, a := range in.Attachments {
			if int64(len(a.Data)) > opts.MaxAttachmentBytes || strings.ContainsAny(string(a.Name), "/\\\x00") {
				t.Fatalf("attachment %q with %d bytes", a.Name, len(a.Data))
			}
		}
	})
}
