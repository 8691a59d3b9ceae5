package config

import (
	"strings"
	"testing"
	"time"
)

func TestReleases(t *testing.T) {
	c, _, err := loadYAML(t, `
email:
  outbound: {addr: "relay.example.org:587", from: security@example.org}
releases:
  min_notice: 72h
  timezone: Europe/Paris
  announce:
    rooms: ["slack:C0PUBLIC"]
  distributors: {notice_before: 120h}
  branches:
    - {repo: acme/web, supported: [2.3.x]}
`, map[string]string{"VIGIL_RELEASES_MAILING_LIST": "announce@lists.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Releases
	if r.MinNotice.Std() != 72*time.Hour || r.Timezone.String() != "Europe/Paris" || r.Distributors.NoticeBefore.Std() != 120*time.Hour {
		t.Errorf("releases = %+v", r)
	}
	if r.Announce.MailingList != "announce@lists.example.org" || strings.Join(r.Announce.Rooms, ",") != "slack:C0PUBLIC" {
		t.Errorf("announce = %+v", r.Announce)
	}
	if len(r.Branches) != 1 || r.Branches[0].Repo != "acme/web" || strings.Join(r.Branches[0].Supported, ",") != "2.3.x" {
		t.Errorf("branches = %+v", r.Branches)
	}
}

func TestReleasesProblems(t *testing.T) {
	_, _, err := loadYAML(t, `
releases:
  publish_window: 1h
  ping_after: 2h
  announce:
    rooms: [general]
    mailing_list: not-an-address
  branches:
    - {repo: acme}
`, nil)
	var keys []string
	for _, p := range problemsOf(t, err) {
		keys = append(keys, p.Key)
	}
	got := strings.Join(keys, " ")
	for _, want := range []string{"releases.ping_after", "releases.announce.rooms[0]", "releases.announce.mailing_list", "releases.branches[0].repo", "releases"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("problems %q lack %s", got, want)
		}
	}
}

func TestReleasesSigningKey(t *testing.T) {
	key := secretFile(t, "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nSIGNKEY\n-----END PGP PRIVATE KEY BLOCK-----\n")
	c, _, err := loadYAML(t, `
email:
  outbound: {addr: "relay.example.org:587", from: security@example.org}
releases:
  signing_key_file: `+key+`
`, map[string]string{"VIGIL_RELEASES_SIGNING_PASSPHRASE": "hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Releases.SigningKey.Value(), "SIGNKEY") || c.Releases.SigningPassphrase.Value() != "hunter2" {
		t.Error("signing key and passphrase not read from file and env")
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "SIGNKEY") || strings.Contains(string(out), "hunter2") {
		t.Errorf("--print shows a signing secret:\n%s", out)
	}

	for name, tt := range map[string]struct{ yaml, key, want string }{
		"not armored": {"email:\n  outbound: {addr: \"relay.example.org:587\", from: security@example.org}\nreleases:\n  signing_key: NOTAKEY-secret\n", "releases.signing_key", "ASCII-armored"},
		"no outbound": {"releases:\n  signing_key_file: " + key + "\n", "releases.signing_key", "email.outbound"},
		"no key":      {"releases:\n  signing_passphrase: hunter2\n", "releases.signing_passphrase", "without signing_key"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.yaml, nil)
			found := false
			for _, p := range problemsOf(t, err) {
				if p.Key == tt.key && strings.Contains(p.Msg, tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v lack %s: %s", err, tt.key, tt.want)
			}
			for _, s := range []string{"NOTAKEY-secret", "SIGNKEY", "hunter2"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks a secret: %v", err)
				}
			}
		})
	}
}
