package email

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot/intake"
)

func hasNote(in intake.Incoming, sub string) bool {
	for _, n := range in.Notes {
		if strings.Contains(string(n), sub) {
			return true
		}
	}
	return false
}

func TestParse(t *testing.T) {
	key := newTestKey(t, "")
	other := newTestKey(t, "")
	big := strings.Repeat("A", 3000)

	pgpMIME := crlf(`
From: Mallory Reporter <m@example.net>
To: security@example.org
Subject: ...
Message-ID: <enc1@example.net>
MIME-Version: 1.0
Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="XX"

--XX
Content-Type: application/pgp-encrypted

Version: 1

--XX
Content-Type: application/octet-stream; name="encrypted.asc"

`) + strings.ReplaceAll(key.encrypt(t, crlf(`
Content-Type: text/plain; charset=utf-8
Subject: RCE in the upload handler

The upload handler runs shell commands.
`)), "\n", "\r\n") + crlf(`
--XX--
`)

	tests := []struct {
		name  string
		raw   string
		opts  ParseOptions
		check func(t *testing.T, in intake.Incoming)
	}{
		{"plain", crlf(`
From: "Ana Reporter" <ana@example.net>
To: security@example.org
Subject: XSS in search
Message-ID: <abc123@example.net>
Content-Type: text/plain; charset=utf-8

The q parameter is reflected unescaped.
`), ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if in.Source != intake.SourceEmail || in.SourceID != "abc123@example.net" || in.Title != "XSS in search" {
				t.Errorf("got source %q id %q title %q", in.Source, in.SourceID, in.Title)
			}
			if in.Description != "The q parameter is reflected unescaped." {
				t.Errorf("description %q", in.Description)
			}
			if in.Reporter.Name != "Ana Reporter" || in.Reporter.Email != "ana@example.net" {
				t.Errorf("reporter %+v", in.Reporter)
			}
			if !in.Received.Equal(received) || len(in.Notes) != 0 {
				t.Errorf("received %v, notes %q", in.Received, in.Notes)
			}
		}},
		{"html only", crlf(`
From: b@example.net
Subject: SQLi
Content-Type: text/html; charset=utf-8

<html><head><style>p{}</style><script>alert(1)</script></head><body>
<p>Injection in <b>/login</b>:</p><ul><li>send a quote</li><li>see the error</li></ul>
<p>PoC: <a href="https://example.net/poc">here</a> &amp; more</p></body></html>
`), ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			want := "Injection in /login:\n\n- send a quote\n- see the error\n\nPoC: here (https://example.net/poc) & more"
			if string(in.Description) != want {
				t.Errorf("description\n%q\nwant\n%q", in.Description, want)
			}
			if !strings.HasPrefix(in.SourceID, "sha256:") {
				t.Errorf("no Message-ID should give a hash id, got %q", in.SourceID)
			}
		}},
		{"alternative prefers plain", crlf(`
From: c@example.net
Subject: =?UTF-8?Q?D=C3=A9ni_de_service?=
Content-Type: multipart/alternative; boundary=B

--B
Content-Type: text/plain; charset=utf-8

plain version
--B
Content-Type: text/html; charset=utf-8

<p>html version</p>
--B--
`), ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if in.Description != "plain version" || in.Title != "Déni de service" {
				t.Errorf("description %q title %q", in.Description, in.Title)
			}
		}},
		{"iso-8859-1", crlf(`
From: =?ISO-8859-1?Q?Ren=E9?= <r@example.net>
Subject: =?ISO-8859-1?Q?Faille_cr=E9=E9e?=
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Le param=E8tre est mal =E9chapp=E9.
`), ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if in.Description != "Le paramètre est mal échappé." || in.Title != "Faille créée" || in.Reporter.Name != "René" {
				t.Errorf("got %q / %q / %q", in.Description, in.Title, in.Reporter.Name)
			}
		}},
		{"shift_jis", crlf(`
From: k@example.jp
Subject: =?Shift_JIS?B?kMaO45Cr?=
Content-Type: text/plain; charset=Shift_JIS
Content-Transfer-Encoding: base64

kMaO45CrgsyV8Y2Q
`), ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if in.Description != "脆弱性の報告" || in.Title != "脆弱性" {
				t.Errorf("got %q / %q", in.Description, in.Title)
			}
		}},
		{"attachments listed, capped, not inlined", crlf(`
From: d@example.net
Subject: PoC attached
Content-Type: multipart/mixed; boundary=M

--M
Content-Type: text/plain

See the attachments.
--M
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="../../etc/poc.py"

` + big + `
--M
Content-Type: text/plain; name="log.txt"
Content-Disposition: attachment; filename="log.txt"

SECRET-LOG-LINE
--M
Content-Type: image/png

png-bytes
--M--
`), ParseOptions{MaxAttachmentBytes: 1000, MaxAttachments: 2}, func(t *testing.T, in intake.Incoming) {
			if in.Description != "See the attachments." {
				t.Errorf("attachment text inlined: %q", in.Description)
			}
			if len(in.Attachments) != 2 {
				t.Fatalf("got %d attachments, want 2 (capped)", len(in.Attachments))
			}
			a := in.Attachments[0]
			if a.Name != "poc.py" || a.Size != 3000 || len(a.Data) != 1000 || !a.Truncated || a.ContentType != "application/octet-stream" {
				t.Errorf("first attachment %q size %d kept %d truncated %v type %q", a.Name, a.Size, len(a.Data), a.Truncated, a.ContentType)
			}
			if b := in.Attachments[1]; b.Name != "log.txt" || string(b.Data) != "SECRET-LOG-LINE" || b.Truncated {
				t.Errorf("second attachment %+v", b)
			}
			if !hasNote(in, "1 more attachments were not kept") || !hasNote(in, "poc.py (application/octet-stream, 3000 bytes, cut to 1000)") {
				t.Errorf("notes %q", in.Notes)
			}
		}},
		{"body cap", "Subject: long\r\n\r\n" + strings.Repeat("é", 600), ParseOptions{MaxBodyBytes: 101}, func(t *testing.T, in intake.Incoming) {
			if len(in.Description) != 100 || !strings.HasPrefix(string(in.Description), "éé") || !hasNote(in, "cut") {
				t.Errorf("len %d, notes %q", len(in.Description), in.Notes)
			}
		}},
		{"threading ids", crlf(`
From: e@example.net
Subject: Re: [VIG-2026-3] received
Message-ID: <reply1@example.net>
In-Reply-To: <vig-2026-3-ack@vigil.example.org>
References: <root@example.net>
 <vig-2026-3-ack@vigil.example.org>

thanks
`), ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if strings.Join(in.InReplyTo, ",") != "vig-2026-3-ack@vigil.example.org,root@example.net" {
				t.Errorf("in reply to %q", in.InReplyTo)
			}
		}},
		{"empty body", "From: f@example.net\r\nSubject: \r\n\r\n\r\n", ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if in.Title != NoSubject || in.Description != "" || !hasNote(in, "body is empty") {
				t.Errorf("title %q notes %q", in.Title, in.Notes)
			}
		}},
		{"malformed mime", "Subject: broken\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: text/plain\r\n\r\nstart of report", ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if !strings.Contains(string(in.Description), "start of report") || len(in.Notes) == 0 {
				t.Errorf("description %q notes %q", in.Description, in.Notes)
			}
		}},
		{"not mime at all", "\x00\x01 no header here, just bytes \xff\xfe\n", ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if !strings.Contains(string(in.Description), "no header here") || len(in.Notes) == 0 {
				t.Errorf("description %q notes %q", in.Description, in.Notes)
			}
		}},
		{"pgp/mime", pgpMIME, ParseOptions{Keyring: key.keyring(t)}, func(t *testing.T, in intake.Incoming) {
			if in.Description != "The upload handler runs shell commands." || in.Title != "RCE in the upload handler" {
				t.Errorf("description %q title %q notes %q", in.Description, in.Title, in.Notes)
			}
			if !hasNote(in, "has been decrypted") || in.SourceID != "enc1@example.net" {
				t.Errorf("notes %q id %q", in.Notes, in.SourceID)
			}
		}},
		{"pgp/mime wrong key", pgpMIME, ParseOptions{Keyring: other.keyring(t)}, func(t *testing.T, in intake.Incoming) {
			if !strings.Contains(string(in.Description), pgpBegin) || !hasNote(in, "encrypted report could not be decrypted: it is not encrypted to the team key") {
				t.Errorf("description %q notes %q", in.Description, in.Notes)
			}
		}},
		{"pgp/mime no key", pgpMIME, ParseOptions{}, func(t *testing.T, in intake.Incoming) {
			if !strings.Contains(string(in.Description), pgpBegin) || !hasNote(in, "encrypted report could not be decrypted: no team PGP key") {
				t.Errorf("description %q notes %q", in.Description, in.Notes)
			}
		}},
		{"inline armored", "From: g@example.net\r\nSubject: secret\r\n\r\nHello team,\r\n\r\n" +
			strings.ReplaceAll(key.encrypt(t, "Heap overflow in the parser."), "\n", "\r\n") + "\r\nBye\r\n",
			ParseOptions{Keyring: key.keyring(t)}, func(t *testing.T, in intake.Incoming) {
				if in.Description != "Hello team,\n\nHeap overflow in the parser.\nBye" || !hasNote(in, "decrypted") {
					t.Errorf("description %q notes %q", in.Description, in.Notes)
				}
			}},
		{"inline garbage armor", "Subject: x\r\n\r\n" + pgpBegin + "\r\n\r\nnot base64 !!!\r\n" + pgpEnd + "\r\n",
			ParseOptions{Keyring: key.keyring(t)}, func(t *testing.T, in intake.Incoming) {
				if !strings.Contains(string(in.Description), "not base64") || !hasNote(in, "encrypted report could not be decrypted") {
					t.Errorf("description %q notes %q", in.Description, in.Notes)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Received = received
			in, err := Parse([]byte(tt.raw), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range in.Notes {
				if strings.Contains(string(n), "internal error") {
					t.Fatalf("parser panicked: %s", n)
				}
			}
			tt.check(t, in)
		})
	}
}

func TestParseEmpty(t *testing.T) {
	_, err := Parse([]byte(" \r\n"), ParseOptions{})
	if !errors.Is(err, ErrEmpty) || !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("err = %v, want ErrEmpty wrapping intake.ErrInvalid", err)
	}
}

func TestParseSameMailSameID(t *testing.T) {
	raw := []byte("Subject: no id\r\n\r\nbody\r\n")
	a, _ := Parse(raw, ParseOptions{})
	b, _ := Parse(bytes.Clone(raw), ParseOptions{})
	c, _ := Parse([]byte("Subject: no id\r\n\r\nother body\r\n"), ParseOptions{})
	if a.SourceID != b.SourceID || a.SourceID == c.SourceID {
		t.Errorf("ids %q %q %q: want the same mail to hash alike and a different one not", a.SourceID, b.SourceID, c.SourceID)
	}
}

func TestNewKeyring(t *testing.T) {
	locked := newTestKey(t, "correct horse")
	if _, err := NewKeyring(locked.armoredKey, "correct horse"); err != nil {
		t.Errorf("right passphrase: %v", err)
	}
	for name, tt := range map[string]struct{ key, pass, want string }{
		"wrong passphrase": {locked.armoredKey, "battery staple", "does not unlock"},
		"no passphrase":    {locked.armoredKey, "", "protected by a passphrase"},
		"garbage":          {"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nSECRETSTUFF\n-----END PGP PRIVATE KEY BLOCK-----\n", "", "reading the PGP private key"},
		"empty":            {"", "", "reading the PGP private key"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewKeyring(tt.key, tt.pass)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRETSTUFF") || (tt.pass != "" && strings.Contains(err.Error(), tt.pass)) {
				t.Errorf("error leaks key material: %v", err)
			}
		})
	}
	// A public key alone cannot decrypt.
	var pub bytes.Buffer
	if err := locked.entity.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyring(armorPublic(t, pub.Bytes()), ""); err == nil || !strings.Contains(err.Error(), "no private part") {
		t.Errorf("public key: err = %v", err)
	}
}
