package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
)

// The advisory path through the real wiring and an OpenAPI-checked fake
// GitHub: a scored, accepted report gets a draft advisory with a private
// fork, the maintainer is told, a CVE is requested and its id posted when
// GitHub assigns it, and the affected repositories are found by SBOM.
func TestAdvisoriesOnGitHub(t *testing.T) {
	gh := githubtest.New(t, githubtest.Options{Token: "ghp_test"})
	gh.SeedRepo("acme/web", githubtest.Repository{})
	gh.SeedRepo("acme/docs", githubtest.Repository{})
	gh.SeedSBOM("acme/web", githubtest.SBOMPackage{Name: "npm:lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20"})
	gh.SeedSBOM("acme/docs", githubtest.SBOMPackage{Name: "npm:react", Version: "18.2.0", PURL: "pkg:npm/react@18.2.0"})

	cfg := fmt.Sprintf(`
people:
  - {name: bob, roles: [responder, admin]}
  - {name: carol, maintains: [acme/web]}
github:
  api_url: %q
  token: ghp_test
  organizations: [acme]
`, gh.URL())
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	in, stdin := io.Pipe()
	defer stdin.Close()
	console, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	o := runOptions{ConfigPath: path, Data: t.TempDir(), As: "bob", Clock: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), Console: true}
	go func() {
		done <- run(context.Background(), o, streams{In: in, Out: console, Err: errb}, func(string) (string, bool) { return "", false })
	}()
	say := func(lines ...string) {
		t.Helper()
		for _, l := range lines {
			if _, err := io.WriteString(stdin, l+"\n"); err != nil {
				t.Fatal(err)
			}
		}
	}
	say("/sec report new", "Stored XSS in comments", "A comment body is rendered unescaped.", "-", "-", "no", "acme/web",
		"/sec report ack VIG-2026-1", "/sec report accept VIG-2026-1",
		"/sec report score VIG-2026-1 CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
		`/sec advisory open VIG-2026-1 acme/web --ecosystem npm --package acme-web --vulnerable "< 2.4.1" --patched 2.4.1 --cwe CWE-79 --private-fork`,
		":advance 1m")
	waitFor(t, "the advisory and the fork", func() bool { return strings.Contains(console.String(), "Temporary private fork for the fix") })
	advs := gh.Advisories("acme/web")
	if len(advs) != 1 {
		t.Fatalf("%d advisories on GitHub, want 1", len(advs))
	}
	a := advs[0]
	if a.State != "draft" || a.Summary != "Stored XSS in comments" || a.CVSS == nil || a.CVSS.VectorString == nil || *a.CVSS.VectorString != "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N" || fmt.Sprint(a.CWEIDs) != "[CWE-79]" {
		t.Errorf("advisory on GitHub: state %q summary %q cvss %+v cwes %v", a.State, a.Summary, a.CVSS, a.CWEIDs)
	}
	out := console.String()
	for _, w := range []string{
		"Draft advisory " + a.GHSAID + " opened in acme/web",
		"→ DM to carol:", "Security advisory for acme/web (VIG-2026-1)", "Severity: Medium",
		"Maintainers of acme/web notified: @carol.",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("console lacks %q", w)
		}
	}

	say("/sec advisory cve VIG-2026-1", ":advance 1m")
	waitFor(t, "the CVE request", func() bool { return gh.CVERequested("acme/web", a.GHSAID) })
	gh.AssignCVE("acme/web", a.GHSAID, "CVE-2026-12345")
	say(":advance 2h")
	waitFor(t, "the CVE id in the thread", func() bool {
		return strings.Contains(console.String(), "CVE-2026-12345 was assigned to "+a.GHSAID)
	})

	say("/sec affected pkg:npm/lodash")
	waitFor(t, "the affected repositories", func() bool { return strings.Contains(console.String(), "acme/web (4.17.20)") })
	if strings.Contains(console.String(), "acme/docs (") {
		t.Error("acme/docs listed as depending on lodash")
	}
	// The maintainer told of the advisory is reminded a quarter later
	// (Medium), until it is fixed.
	say("/sec remind list", ":advance 92d")
	waitFor(t, "the quarterly reminder", func() bool {
		return strings.Contains(console.String(), "== Unfixed vulnerabilities (1) ==")
	})
	if !strings.Contains(console.String(), "@carol — VIG-2026-1 acme/web (Medium): next") {
		t.Error("remind list does not show carol's reminder")
	}
	if v := gh.Violations(); len(v) != 0 {
		t.Errorf("requests GitHub would reject: %v", v)
	}
	stdin.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v\n%s", err, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Vigil did not stop")
	}
}
