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
