package githubtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// collector gathers violations instead of failing the test, so a test can
// prove the fake does fail what GitHub would refuse.
type collector struct {
	mu   sync.Mutex
	errs []error
}

func (c *collector) add(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

func (c *collector) all() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

// call sends a raw request, the way a buggy client might.
func call(t *testing.T, f *Fake, method, path, body string, auth bool) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.URL()+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer test-token")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestValidRequestsPass(t *testing.T) {
	f := New(t, Options{}) // any violation fails this test
	a := f.SeedAdvisory("acme/web", Advisory{Summary: "XSS in search", Description: Ptr("details"), Author: NewUser("mallory")})
	if st, body := call(t, f, "GET", "/repos/acme/web/security-advisories?state=triage&per_page=100", "", true); st != 200 || !strings.Contains(body, a.GHSAID) {
		t.Errorf("list: %d %s", st, body)
	}
	if st, body := call(t, f, "PATCH", "/repos/acme/web/security-advisories/"+a.GHSAID, `{"state":"draft"}`, true); st != 200 || !strings.Contains(body, `"state":"draft"`) {
		t.Errorf("update: %d %s", st, body)
	}
	got, _ := f.Advisory("acme/web", a.GHSAID)
	if got.State != "draft" || got.Submission == nil || !got.Submission.Accepted {
		t.Errorf("after accept: state %q submission %+v", got.State, got.Submission)
	}
	if st, _ := call(t, f, "GET", "/orgs/acme/security-advisories?state=triage", "", true); st != 200 {
		t.Errorf("org list: %d", st)
	}
	if n := len(f.RequestsFor(OpUpdateAdvisory)); n != 1 {
		t.Errorf("recorded %d updates, want 1", n)
	}
}

// TestValidationHasTeeth sends what GitHub would refuse and expects the
// fake to flag each one.
func TestValidationHasTeeth(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		auth                     bool
		status                   int
		want                     string // in the violation
	}{
		{"state GitHub does not accept in an update", "PATCH", "/repos/acme/web/security-advisories/{ghsa}", `{"state":"triage"}`, true, 422, "state"},
		{"severity outside the enum", "PATCH", "/repos/acme/web/security-advisories/{ghsa}", `{"severity":"urgent"}`, true, 422, "severity"},
		{"wrong type", "PATCH", "/repos/acme/web/security-advisories/{ghsa}", `{"summary":42}`, true, 422, "summary"},
		{"unknown field where GitHub allows none", "PATCH", "/repos/acme/web/security-advisories/{ghsa}", `{"vulnerabilities":[{"package":{"ecosystem":"npm"},"bogus":1}]}`, true, 422, "bogus"},
		{"missing body", "PATCH", "/repos/acme/web/security-advisories/{ghsa}", ``, true, 422, "body"},
		{"bad query parameter", "GET", "/repos/acme/web/security-advisories?state=bogus", ``, true, 422, "state"},
		{"per_page above GitHub's maximum", "GET", "/repos/acme/web/security-advisories?per_page=500", ``, true, 422, "per_page"},
		{"create with both severity and a CVSS vector", "POST", "/repos/acme/web/security-advisories", `{"summary":"s","description":"d","vulnerabilities":[],"severity":"high","cvss_vector_string":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}`, true, 422, "both severity and cvss_vector_string"},
		{"create with an ecosystem GitHub does not know", "POST", "/repos/acme/web/security-advisories", `{"summary":"s","description":"d","vulnerabilities":[{"package":{"ecosystem":"npmjs","name":"x"}}]}`, true, 422, "ecosystem"},
		{"create without a description", "POST", "/repos/acme/web/security-advisories", `{"summary":"s","vulnerabilities":[]}`, true, 422, "description"},
		{"create with null vulnerabilities", "POST", "/repos/acme/web/security-advisories", `{"summary":"s","description":"d","vulnerabilities":null}`, true, 422, "vulnerabilities"},
		{"create with a credit type GitHub does not know", "POST", "/repos/acme/web/security-advisories", `{"summary":"s","description":"d","vulnerabilities":[],"credits":[{"login":"eve","type":"hacker"}]}`, true, 422, "type"},
		{"create with a field of the read model", "POST", "/repos/acme/web/security-advisories", `{"summary":"s","description":"d","vulnerabilities":[],"state":"draft"}`, true, 422, "state"},
		{"org repositories of a type GitHub does not know", "GET", "/orgs/acme/repos?type=archived", ``, true, 422, "type"},
		{"endpoint not in the description", "POST", "/repos/acme/web/security-advisories/{ghsa}/frobnicate", `{}`, true, 404, "not an operation"},
		{"no token", "GET", "/repos/acme/web/security-advisories", ``, false, 401, "Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			f := New(t, Options{OnViolation: c.add})
			a := f.SeedAdvisory("acme/web", Advisory{})
			st, body := call(t, f, tt.method, strings.ReplaceAll(tt.path, "{ghsa}", a.GHSAID), tt.body, tt.auth)
			if st != tt.status {
				t.Errorf("status %d (%s), want %d", st, body, tt.status)
			}
			errs := c.all()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("violations %v, want one mentioning %q", errs, tt.want)
			}
			if got, _ := f.Advisory("acme/web", a.GHSAID); got.State != "triage" {
				t.Errorf("a refused request changed the advisory: state %q", got.State)
			}
			if n := len(f.Advisories("acme/web")); n != 1 {
				t.Errorf("a refused request left %d advisories, want the seeded one", n)
			}
		})
	}
}

// TestResponsesAreValidated: the fake checks its own answers too, so state
// seeded wrongly (a value GitHub never sends) is caught.
func TestResponsesAreValidated(t *testing.T) {
	var c collector
	f := New(t, Options{OnViolation: c.add})
	a := f.SeedAdvisory("acme/web", Advisory{Severity: Ptr("urgent")})
	call(t, f, "GET", "/repos/acme/web/security-advisories/"+a.GHSAID, "", true)
	errs := c.all()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "severity") || !strings.Contains(errs[0].Error(), "answer") {
		t.Fatalf("violations %v, want one about the answer's severity", errs)
	}
}

func TestFaults(t *testing.T) {
	f := New(t, Options{})
	a := f.SeedAdvisory("acme/web", Advisory{})
	f.Fail(OpGetAdvisory, Fault{Status: 429, RetryAfter: 90_000_000_000, Times: 2})
	path := "/repos/acme/web/security-advisories/" + a.GHSAID
	for range 2 {
		if st, _ := call(t, f, "GET", path, "", true); st != 429 {
			t.Errorf("status %d, want 429", st)
		}
	}
	if st, _ := call(t, f, "GET", path, "", true); st != 200 {
		t.Errorf("after the fault: %d, want 200", st)
	}
	f.Fail(OpUpdateAdvisory, Fault{Status: 422, Errors: []string{"nope"}})
	if st, body := call(t, f, "PATCH", path, `{"state":"draft"}`, true); st != 422 || !strings.Contains(body, "nope") {
		t.Errorf("422 fault: %d %s", st, body)
	}
}

func TestStateTransitionsLikeGitHub(t *testing.T) {
	f := New(t, Options{})
	a := f.SeedAdvisory("acme/web", Advisory{State: "published"})
	st, body := call(t, f, "PATCH", "/repos/acme/web/security-advisories/"+a.GHSAID, `{"state":"draft"}`, true)
	if st != 422 || !strings.Contains(body, "Invalid state transition from published to draft") {
		t.Errorf("published -> draft: %d %s", st, body)
	}
}

func TestPagination(t *testing.T) {
	f := New(t, Options{})
	for range 5 {
		f.SeedAdvisory("acme/web", Advisory{})
	}
	f.SeedAdvisory("acme/web", Advisory{State: "draft"})
	var got []Advisory
	req, _ := http.NewRequest("GET", f.URL()+"repos/acme/web/security-advisories?state=triage&per_page=2", nil)
	for pages := 0; req != nil; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		req.Header.Set("Authorization", "Bearer x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page []Advisory
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, page...)
		req = nil
		if link := resp.Header.Get("Link"); link != "" {
			next := link[strings.Index(link, "<")+1 : strings.Index(link, ">")]
			req, _ = http.NewRequest("GET", next, nil)
		}
	}
	if len(got) != 5 {
		t.Fatalf("got %d advisories across pages, want the 5 in triage", len(got))
	}
	seen := map[string]bool{}
	for _, a := range got {
		if seen[a.GHSAID] {
			t.Errorf("%s served twice", a.GHSAID)
		}
		seen[a.GHSAID] = true
	}
}

func TestReportedEventMatchesWebhookSchema(t *testing.T) {
	f := New(t, Options{})
	a := f.SeedAdvisory("acme/web", Advisory{Summary: "RCE", Author: NewUser("mallory")})
	if err := f.ValidateSchema("webhook-repository-advisory-reported", ReportedEvent("acme/web", a, "mallory")); err != nil {
		t.Fatalf("sample delivery breaks GitHub's webhook schema: %v", err)
	}
	// And the check can fail: drop a required part.
	bad := bytes.Replace(ReportedEvent("acme/web", a, "mallory"), []byte(`"action":"reported"`), []byte(`"action":"frobbed"`), 1)
	if err := f.ValidateSchema("webhook-repository-advisory-reported", bad); err == nil {
		t.Error("an unknown action passed the webhook schema")
	}
}
