package config

import (
	"strings"
	"testing"
)

func TestReleasesPublicLists(t *testing.T) {
	c, _, err := loadYAML(t, `
email:
  outbound: {addr: "relay.example.org:587", from: security@example.org}
releases:
  public_lists: [oss-security@lists.example.org]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Releases.PublicLists, ","); got != "oss-security@lists.example.org" {
		t.Errorf("public_lists = %q", got)
	}

	// Each must be an address, and they need outbound mail.
	_, _, err = loadYAML(t, `
releases:
  public_lists: [oss-security@lists.example.org, not-an-address]
`, nil)
	var keys []string
	for _, p := range problemsOf(t, err) {
		keys = append(keys, p.Key)
	}
	got := " " + strings.Join(keys, " ") + " "
	for _, want := range []string{"releases.public_lists[1]", "releases"} {
		if !strings.Contains(got, " "+want+" ") {
			t.Errorf("problems %q lack %s", got, want)
		}
	}
	if strings.Contains(got, "releases.public_lists[0]") {
		t.Errorf("problems %q name a good address", got)
	}
}
