package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

const createBody = `{"summary":"XSS in search","description":"The q parameter is echoed.",
 "vulnerabilities":[{"package":{"ecosystem":"npm","name":"acme-web"},"vulnerable_version_range":"< 1.4.2","patched_versions":"1.4.2","vulnerable_functions":["render"]}],
 "cwe_ids":["CWE-79"],"credits":[{"login":"mallory","type":"reporter"}],
 "cvss_vector_string":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}`

// TestNewOperationsPass drives each operation added for issue 7 with a
// request GitHub accepts; any violation, either way, fails the test.
func TestNewOperationsPass(t *testing.T) {
	f := New(t, Options{})
	f.SeedRepo("acme/web", Repository{})
	f.SeedRepo("acme/old", Repository{Archived: true})
	f.SeedSBOM("acme/web", SBOMPackage{Name: "npm:lodash", Version: "4.17.21", PURL: "pkg:npm/lodash@4.17.21", License: "MIT"}, SBOMPackage{Name: "unknown", Version: "1.0"})
	f.SeedFile("acme/web", ".github/CODEOWNERS", "* @alice @acme/security\n")

	st, body := call(t, f, "POST", "/repos/acme/web/security-advisories", createBody, true)
	if st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	var a Advisory
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.State != "draft" || a.Author == nil || a.Author.Login != "vigil-bot" || a.Submission != nil ||
		a.CVSS == nil || *a.CVSS.VectorString == "" || len(a.CreditsDetailed) != 1 || len(a.CWEs) != 1 {
		t.Errorf("created %+v", a)
	}
	if stored, ok := f.Advisory("acme/web", a.GHSAID); !ok || stored.Summary != "XSS in search" {
		t.Errorf("not stored: %+v", stored)
	}

	path := "/repos/acme/web/security-advisories/" + a.GHSAID
	if st, body := call(t, f, "POST", path+"/cve", "", true); st != 202 {
		t.Errorf("cve: %d %s", st, body)
	}
	if !f.CVERequested("acme/web", a.GHSAID) {
		t.Error("no pending CVE request")
	}
	f.AssignCVE("acme/web", a.GHSAID, "CVE-2026-12345")
	if st, body := call(t, f, "GET", path, "", true); st != 200 || !strings.Contains(body, `"cve_id":"CVE-2026-12345"`) {
		t.Errorf("after AssignCVE: %d %s", st, body)
	}
	if f.CVERequested("acme/web", a.GHSAID) {
		t.Error("the request is still pending after AssignCVE")
	}
	if st, body := call(t, f, "POST", path+"/cve", "", true); st != 422 || !strings.Contains(body, "already has a CVE") {
		t.Errorf("second CVE: %d %s", st, body)
	}

	st, body = call(t, f, "POST", path+"/forks", "", true)
	if st != 202 || !strings.Contains(body, `"full_name":"acme/web-`+strings.ToLower(a.GHSAID)+`"`) {
		t.Errorf("fork: %d %s", st, body)
	}
	if got, _ := f.Advisory("acme/web", a.GHSAID); !strings.Contains(string(got.PrivateFork), "web-ghsa-") {
		t.Errorf("advisory's private_fork: %s", got.PrivateFork)
	}
	if st, body := call(t, f, "GET", path, "", true); st != 200 || !strings.Contains(body, `"private_fork":{`) {
		t.Errorf("advisory with its fork: %d %s", st, body)
	}

	if st, body := call(t, f, "GET", "/orgs/acme/repos?per_page=1&sort=full_name", "", true); st != 200 || !strings.Contains(body, `"full_name":"acme/old"`) {
		t.Errorf("org repos: %d %s", st, body)
	}
	st, body = call(t, f, "GET", "/repos/acme/web/dependency-graph/sbom", "", true)
	if st != 200 || !strings.Contains(body, `"referenceLocator":"pkg:npm/lodash@4.17.21"`) || !strings.Contains(body, "pkg:github/acme/web@main") {
		t.Errorf("sbom: %d %s", st, body)
	}
	st, body = call(t, f, "GET", "/repos/acme/web/contents/.github/CODEOWNERS", "", true)
	var file struct{ Content string }
	_ = json.Unmarshal([]byte(body), &file)
	if data, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(file.Content, "\n", "")); st != 200 || string(data) != "* @alice @acme/security\n" {
		t.Errorf("contents: %d %s", st, body)
	}
	if st, _ := call(t, f, "GET", "/repos/acme/web/contents/CODEOWNERS", "", true); st != 404 {
		t.Errorf("missing file: %d, want 404", st)
	}
}
