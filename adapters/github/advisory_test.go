package github

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
)

func draft() AdvisoryCreate {
	return AdvisoryCreate{
		Summary:     "XSS in search",
		Description: "The q parameter is echoed unescaped.",
		Vulnerabilities: []Vulnerability{{
			Package:                Package{Ecosystem: "npm", Name: "acme-web"},
			VulnerableVersionRange: "< 1.4.2",
			PatchedVersions:        "1.4.2",
			VulnerableFunctions:    []string{"render"},
		}},
		CWEIDs:     []string{"CWE-79"},
		Credits:    []Credit{{Login: "mallory", Type: CreditReporter}},
		CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
	}
}

func TestCreateAdvisory(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{Token: secretToken}) // a violation fails the test
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), secretToken)

	got, err := c.CreateAdvisory(t.Context(), "acme/web", draft())
	if err != nil {
		t.Fatal(err)
	}
	if !ValidGHSA(got.GHSAID) || got.State != StateDraft ||
		got.HTMLURL != "https://github.com/acme/web/security/advisories/"+got.GHSAID {
		t.Errorf("created %+v, want a GHSA id, its web address and state draft", got)
	}
	if r, ok := got.Repo(); !ok || r.String() != "acme/web" {
		t.Errorf("Repo() = %v %v", r, ok)
	}
	stored, ok := f.Advisory("acme/web", got.GHSAID)
	if !ok || stored.Summary != "XSS in search" || stored.CVSS == nil || *stored.CVSS.VectorString != draft().CVSSVector ||
		stored.Severity != nil || len(stored.Vulnerabilities) != 1 || *stored.Vulnerabilities[0].Package.Name != "acme-web" ||
		len(stored.Credits) != 1 || stored.Credits[0].Type != "reporter" {
		t.Errorf("stored %+v", stored)
	}

	// What went over the wire: GitHub's field names, and no severity
	// beside the vector.
	reqs := f.RequestsFor(githubtest.OpCreateAdvisory)
	if len(reqs) != 1 {
		t.Fatalf("%d create requests, want 1", len(reqs))
	}
	var sent map[string]any
	if err := json.Unmarshal(reqs[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"summary", "description", "vulnerabilities", "cwe_ids", "credits", "cvss_vector_string"} {
		if _, ok := sent[k]; !ok {
			t.Errorf("body lacks %q: %s", k, reqs[0].Body)
		}
	}
	if _, ok := sent["severity"]; ok {
		t.Errorf("body sends a severity beside the vector: %s", reqs[0].Body)
	}

	// Severity instead of a vector; no packages yet (sent as [], which
	// GitHub requires, never null).
	a := AdvisoryCreate{Summary: "DoS", Description: "Large bodies.", Severity: "medium"}
	got, err = c.CreateAdvisory(t.Context(), "acme/web", a)
	if err != nil {
		t.Fatal(err)
	}
	if got.Severity != "medium" || got.CVSS != nil && got.CVSS.VectorString != "" {
		t.Errorf("created %+v, want severity medium and no vector", got)
	}
	if body := string(f.RequestsFor(githubtest.OpCreateAdvisory)[1].Body); !strings.Contains(body, `"vulnerabilities":[]`) {
		t.Errorf("body %s, want vulnerabilities as []", body)
	}
}

func TestCreateAdvisoryCheckedBeforeSending(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), "t")
	tests := []struct {
		name   string
		change func(*AdvisoryCreate)
		want   string
	}{
		{"both a vector and a severity", func(a *AdvisoryCreate) { a.Severity = "high" }, "either the CVSS vector or the severity, not both"},
		{"no summary", func(a *AdvisoryCreate) { a.Summary = "  " }, "a summary is required"},
		{"no description", func(a *AdvisoryCreate) { a.Description = "" }, "a description is required"},
		{"summary too long", func(a *AdvisoryCreate) { a.Summary = strings.Repeat("é", 1025) }, "1025 characters, GitHub allows 1024"},
		{"unknown ecosystem", func(a *AdvisoryCreate) { a.Vulnerabilities[0].Package.Ecosystem = "npmjs" }, `ecosystem "npmjs" is not one of`},
		{"bad severity", func(a *AdvisoryCreate) { a.CVSSVector, a.Severity = "", "urgent" }, `severity "urgent"`},
		{"bad CWE", func(a *AdvisoryCreate) { a.CWEIDs = []string{"79"} }, `"79" is not a CWE id`},
		{"bad credit type", func(a *AdvisoryCreate) { a.Credits[0].Type = "hacker" }, `type "hacker"`},
		{"bad credit login", func(a *AdvisoryCreate) { a.Credits[0].Login = "a b" }, `"a b" is not a GitHub login`},
		{"bad CVE", func(a *AdvisoryCreate) { a.CVEID = "CVE-26-1" }, `"CVE-26-1" is not a CVE id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := draft()
			tt.change(&a)
			_, err := c.CreateAdvisory(t.Context(), "acme/web", a)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid saying %q", err, tt.want)
			}
		})
	}
	// Every problem at once, so a person fixes them in one go.
	a := draft()
	a.Summary, a.Severity = "", "high"
	if _, err := c.CreateAdvisory(t.Context(), "acme/web", a); err == nil || !strings.Contains(err.Error(), "summary") || !strings.Contains(err.Error(), "not both") {
		t.Errorf("err = %v, want both problems named", err)
	}
	if _, err := c.CreateAdvisory(t.Context(), "acme", draft()); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad repository: %v", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent for refused advisories", n)
	}
}

// TestFakeCatchesBothSeverityAndVector sends, through the client's own
// plumbing, the body CreateAdvisory refuses locally, and sees the fake
// refuse it as GitHub does: the local check and the fake agree.
func TestFakeCatchesBothSeverityAndVector(t *testing.T) {
	var mu sync.Mutex
	var violations []error
	f := githubtest.New(t, githubtest.Options{OnViolation: func(err error) { mu.Lock(); violations = append(violations, err); mu.Unlock() }})
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), "t")
	a := draft()
	a.Severity = "high"
	_, err := c.do(t.Context(), op{what: "raw create", permission: permAdvisoriesWrite}, http.MethodPost,
		"repos/acme/web/security-advisories", a, nil)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Details) == 0 {
		t.Fatalf("err = %v, want a *ValidationError with GitHub's details", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) != 1 || !strings.Contains(violations[0].Error(), "both severity and cvss_vector_string") {
		t.Fatalf("violations %v, want one about severity and the vector", violations)
	}
	if n := len(f.Advisories("acme/web")); n != 0 {
		t.Errorf("%d advisories created", n)
	}
}

func TestRequestCVEThenAssigned(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), "t")
	a, err := c.CreateAdvisory(t.Context(), "acme/web", draft())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RequestCVE(t.Context(), "acme/web", a.GHSAID); err != nil {
		t.Fatal(err)
	}
	if !f.CVERequested("acme/web", a.GHSAID) {
		t.Fatal("the fake saw no CVE request")
	}
	// Until GitHub grants it, polling sees no CVE.
	got, err := c.GetAdvisory(t.Context(), "acme/web", a.GHSAID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CVEID != "" || got.State != StateDraft {
		t.Errorf("before assignment: cve %q state %q", got.CVEID, got.State)
	}

	f.AssignCVE("acme/web", a.GHSAID, "CVE-2026-12345")
	got, err = c.GetAdvisory(t.Context(), "acme/web", a.GHSAID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CVEID != "CVE-2026-12345" || got.State != StateDraft {
		t.Errorf("after assignment: cve %q state %q, want CVE-2026-12345 in draft", got.CVEID, got.State)
	}
	var cve bool
	for _, id := range got.Identifiers {
		cve = cve || id.Type == "CVE" && id.Value == "CVE-2026-12345"
	}
	if !cve {
		t.Errorf("identifiers %+v lack the CVE", got.Identifiers)
	}

	// Asking again now is GitHub's 422, with its reason.
	err = c.RequestCVE(t.Context(), "acme/web", a.GHSAID)
	if !errors.Is(err, ErrValidation) || !strings.Contains(err.Error(), "already has a CVE") {
		t.Errorf("second request: %v, want a validation error", err)
	}
}

func TestRequestCVERefusedForPrivateRepository(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.SeedRepo("acme/internal", githubtest.Repository{Private: true})
	a := f.SeedAdvisory("acme/internal", githubtest.Advisory{State: "draft"})
	c := newClient(t, f, fakeClock(), "t")
	err := c.RequestCVE(t.Context(), "acme/internal", a.GHSAID)
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "private repository") || !strings.Contains(err.Error(), "GitHub refused to request a CVE for security advisory "+a.GHSAID) {
		t.Errorf("err = %v, want GitHub's refusal naming the advisory", err)
	}
	if f.CVERequested("acme/internal", a.GHSAID) {
		t.Error("a refused request is pending")
	}
}

func TestCreatePrivateFork(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), "t")
	a, err := c.CreateAdvisory(t.Context(), "acme/web", draft())
	if err != nil {
		t.Fatal(err)
	}
	if a.PrivateFork != nil {
		t.Fatalf("a fork before asking: %+v", a.PrivateFork)
	}
	fork, err := c.CreatePrivateFork(t.Context(), "acme/web", a.GHSAID)
	if err != nil {
		t.Fatal(err)
	}
	want := "acme/web-" + strings.ToLower(a.GHSAID)
	if fork.FullName != want || fork.HTMLURL != "https://github.com/"+want || fork.CloneURL != "https://github.com/"+want+".git" {
		t.Errorf("fork %+v, want %s", fork, want)
	}
	got, err := c.GetAdvisory(t.Context(), "acme/web", a.GHSAID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PrivateFork == nil || got.PrivateFork.FullName != want {
		t.Errorf("advisory's private fork %+v, want %s", got.PrivateFork, want)
	}

	// Or at once, with the advisory.
	d := draft()
	d.StartPrivateFork = true
	b, err := c.CreateAdvisory(t.Context(), "acme/web", d)
	if err != nil {
		t.Fatal(err)
	}
	if b.PrivateFork == nil || b.PrivateFork.FullName != "acme/web-"+strings.ToLower(b.GHSAID) {
		t.Errorf("created with start_private_fork: fork %+v", b.PrivateFork)
	}
}
