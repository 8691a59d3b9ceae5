package testmatrix

import (
	"os"
	"strings"
	"testing"
)

// TestVersionMatchesTools keeps DendriteVersion in step with the version
// tools/go.mod pins (which scripts/build-dendrite.sh builds).
func TestVersionMatchesTools(t *testing.T) {
	data, err := os.ReadFile("../../tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := "github.com/element-hq/dendrite " + DendriteVersion
	if !strings.Contains(string(data), want) {
		t.Errorf("tools/go.mod does not pin %q; update DendriteVersion", want)
	}
}

// TestRegisterAndLogin starts (or reuses) a homeserver, registers a user
// with the shared secret and checks the token works.
func TestRegisterAndLogin(t *testing.T) {
	s := Start(t)
	a := s.Register(t, "Alice")
	if !strings.HasPrefix(a.UserID, "@alice-") || !strings.HasSuffix(a.UserID, ":"+s.ServerName) || a.AccessToken == "" {
		t.Fatalf("account = %+v", a)
	}
	b := s.Register(t, "alice")
	if b.UserID == a.UserID {
		t.Fatal("two registrations got the same user id")
	}
}
