package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// advisoryCreate is the POST body (GitHub's repository-advisory-create).
// Request validation has already held it to GitHub's schema, so this only
// reads it.
type advisoryCreate struct {
	Summary         string  `json:"summary"`
	Description     string  `json:"description"`
	CVEID           *string `json:"cve_id"`
	Vulnerabilities []struct {
		Package struct {
			Ecosystem string  `json:"ecosystem"`
			Name      *string `json:"name"`
		} `json:"package"`
		VulnerableVersionRange *string  `json:"vulnerable_version_range"`
		PatchedVersions        *string  `json:"patched_versions"`
		VulnerableFunctions    []string `json:"vulnerable_functions"`
	} `json:"vulnerabilities"`
	CWEIDs  []string `json:"cwe_ids"`
	Credits []struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"credits"`
	Severity         *string `json:"severity"`
	CVSSVector       *string `json:"cvss_vector_string"`
	StartPrivateFork bool    `json:"start_private_fork"`
}

var (
	cweRE = regexp.MustCompile(`^CWE-[1-9][0-9]*$`)
	cveRE = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
)

// createAdvisory opens a draft advisory authored by Options.Login, as
// GitHub does for an advisory created through the API (no submission: it
// is not a private report).
func (f *Fake) createAdvisory(r *http.Request, params map[string]string, body []byte) (int, http.Header, any) {
	var in advisoryCreate
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, nil, basicError("Problems parsing JSON")
	}
	// GitHub's description says it in prose, which no schema check sees:
	// "You must choose between setting this field or severity". Sending
	// both is a client bug, so it is a violation as well as GitHub's 422
	// (the wording of the messages here is the fake's own).
	if in.Severity != nil && in.CVSSVector != nil {
		f.violation(fmt.Errorf("request %s %s (%s) sets both severity and cvss_vector_string; GitHub's description allows one or the other", r.Method, r.URL.Path, OpCreateAdvisory))
		return http.StatusUnprocessableEntity, nil, validationError("Validation Failed",
			[]string{"Only one of severity or cvss_vector_string can be set."})
	}
	var problems []string
	for _, id := range in.CWEIDs {
		// GitHub checks against its CWE list; the fake checks the shape.
		if !cweRE.MatchString(id) {
			problems = append(problems, fmt.Sprintf("%s is not a valid CWE id.", id))
		}
	}
	if in.CVEID != nil && !cveRE.MatchString(*in.CVEID) {
		problems = append(problems, fmt.Sprintf("%s is not a valid CVE id.", *in.CVEID))
	}
	if len(problems) > 0 {
		return http.StatusUnprocessableEntity, nil, validationError("Validation Failed", problems)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	repo := f.repo(params["owner"]+"/"+params["repo"], false)
	if repo == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	now := Ptr(f.opts.Now().UTC().Format(time.RFC3339))
	a := Advisory{
		Summary: in.Summary, Description: Ptr(in.Description), State: "draft",
		CVEID: in.CVEID, Severity: in.Severity, Author: NewUser(f.opts.Login),
		CWEIDs: in.CWEIDs, CreatedAt: now, UpdatedAt: now,
	}
	if in.CVSSVector != nil {
		// GitHub scores the vector and derives the severity from it; the
		// fake does not score, so both stay null.
		a.CVSS = &CVSS{VectorString: in.CVSSVector}
	}
	for _, v := range in.Vulnerabilities {
		a.Vulnerabilities = append(a.Vulnerabilities, Vulnerability{
			Package:                &Package{Ecosystem: v.Package.Ecosystem, Name: v.Package.Name},
			VulnerableVersionRange: v.VulnerableVersionRange,
			PatchedVersions:        v.PatchedVersions,
			VulnerableFunctions:    v.VulnerableFunctions,
		})
	}
	for _, id := range in.CWEIDs {
		a.CWEs = append(a.CWEs, CWE{CWEID: id, Name: "Weakness " + id})
	}
	for _, c := range in.Credits {
		a.Credits = append(a.Credits, Credit{Login: c.Login, Type: c.Type})
		a.CreditsDetailed = append(a.CreditsDetailed, CreditDetailed{User: *NewUser(c.Login), Type: c.Type, State: "pending"})
	}
	stored := f.store(repo, a)
	if in.StartPrivateFork {
		f.fork(repo, f.find(repo.owner+"/"+repo.name, stored.GHSAID))
		stored, _ = f.advisoryLocked(repo.owner+"/"+repo.name, stored.GHSAID)
	}
	if in.CVEID != nil {
		f.addIdentifier(repo.owner+"/"+repo.name, stored.GHSAID, *in.CVEID)
		stored, _ = f.advisoryLocked(repo.owner+"/"+repo.name, stored.GHSAID)
	}
	return http.StatusCreated, nil, stored
}

func (f *Fake) advisoryLocked(repo, ghsa string) (Advisory, bool) {
	a := f.find(repo, ghsa)
	if a == nil {
		return Advisory{}, false
	}
	return *a, true
}

// requestCVE records a pending CVE request; AssignCVE plays GitHub's CNA
// later. The fake's rules (GitHub documents the first): no CVE for a
// private repository's advisory, none for an advisory that has one, none
// before a report is accepted or after it is closed or withdrawn. A second
// request while one is pending is accepted again.
func (f *Fake) requestCVE(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	full := params["owner"] + "/" + params["repo"]
	repo := f.repo(full, false)
	a := f.find(full, params["ghsa_id"])
	if repo == nil || a == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	switch {
	case repo.Private:
		return http.StatusUnprocessableEntity, nil, validationError("Validation Failed",
			[]string{"A CVE cannot be requested for an advisory in a private repository."})
	case a.CVEID != nil && *a.CVEID != "":
		return http.StatusUnprocessableEntity, nil, validationError("Validation Failed",
			[]string{"This advisory already has a CVE ID."})
	case a.State != "draft" && a.State != "published":
		return http.StatusUnprocessableEntity, nil, validationError("Validation Failed",
			[]string{fmt.Sprintf("A CVE cannot be requested for an advisory in state %s.", a.State)})
	}
	repo.cveRequest[strings.ToUpper(a.GHSAID)] = true
	return http.StatusAccepted, nil, struct{}{}
}

// CVERequested reports whether a CVE request for the advisory is pending.
func (f *Fake) CVERequested(repo, ghsa string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repo(repo, false)
	return r != nil && r.cveRequest[strings.ToUpper(ghsa)]
}

// AssignCVE does what GitHub does once it grants a requested CVE: the
// advisory gets the cve_id (and a CVE identifier), and the request is no
// longer pending. It fails the test if the advisory does not exist.
func (f *Fake) AssignCVE(repo, ghsa, cve string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.find(repo, ghsa)
	if a == nil {
		f.t.Fatalf("githubtest: AssignCVE: no advisory %s in %s", ghsa, repo)
		return
	}
	if !cveRE.MatchString(cve) {
		f.t.Fatalf("githubtest: AssignCVE: %q is not a CVE id", cve)
		return
	}
	a.CVEID = Ptr(cve)
	f.addIdentifier(repo, ghsa, cve)
	a.UpdatedAt = Ptr(f.opts.Now().UTC().Format(time.RFC3339))
	delete(f.repo(repo, false).cveRequest, strings.ToUpper(a.GHSAID))
}

func (f *Fake) addIdentifier(repo, ghsa, cve string) {
	a := f.find(repo, ghsa)
	for _, id := range a.Identifiers {
		if id.Type == "CVE" && id.Value == cve {
			return
		}
	}
	a.Identifiers = append(a.Identifiers, Identifier{Type: "CVE", Value: cve})
}

// createFork makes the advisory's temporary private fork, named as GitHub
// names them (repo-ghsa-xxxx-xxxx-xxxx, in the same owner). Asked again,
// it answers with the fork the advisory already has.
func (f *Fake) createFork(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	full := params["owner"] + "/" + params["repo"]
	repo := f.repo(full, false)
	a := f.find(full, params["ghsa_id"])
	if repo == nil || a == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	return http.StatusAccepted, nil, f.fork(repo, a)
}

// fork returns the advisory's private fork as a full-repository, creating
// it (and recording it on the advisory) if need be.
func (f *Fake) fork(repo *repoState, a *Advisory) map[string]any {
	name := repo.name + "-" + strings.ToLower(a.GHSAID)
	r := fullRepository(repo.owner+"/"+name, Repository{Private: true, DefaultBranch: repo.DefaultBranch}, f.opts.Now())
	parent := fullRepository(repo.owner+"/"+repo.name, repo.Repository, f.opts.Now())
	r["fork"] = true
	r["parent"], r["source"] = parent, parent
	if len(a.PrivateFork) == 0 || string(a.PrivateFork) == "null" {
		data, err := json.Marshal(simpleRepository(repo.owner+"/"+name, true))
		if err != nil {
			panic(err) // static types: cannot happen
		}
		a.PrivateFork = data
		a.UpdatedAt = Ptr(f.opts.Now().UTC().Format(time.RFC3339))
	}
	return r
}
