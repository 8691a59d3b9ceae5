package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SeedAdvisory stores an advisory in repo (created if need be) and returns
// it as stored. Empty fields get defaults: a GHSA id, URLs, state triage,
// timestamps, submission {accepted: false} for a triage advisory.
func (f *Fake) SeedAdvisory(repo string, a Advisory) Advisory {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.store(f.repo(repo, true), a)
}

// store completes a with GitHub's defaults and keeps it in r.
func (f *Fake) store(r *repoState, a Advisory) Advisory {
	f.serial++
	if a.GHSAID == "" {
		a.GHSAID = ghsaFor(f.serial)
	}
	if a.State == "" {
		a.State = "triage"
	}
	if a.Summary == "" {
		a.Summary = "Advisory " + a.GHSAID
	}
	a.URL = fmt.Sprintf("https://api.github.com/repos/%s/%s/security-advisories/%s", r.owner, r.name, a.GHSAID)
	a.HTMLURL = fmt.Sprintf("https://github.com/%s/%s/security/advisories/%s", r.owner, r.name, a.GHSAID)
	if a.Identifiers == nil {
		a.Identifiers = []Identifier{{Type: "GHSA", Value: a.GHSAID}}
	}
	if a.CreatedAt == nil {
		// Later seeds are newer, so GitHub's newest-first order is stable.
		a.CreatedAt = Ptr(f.opts.Now().Add(time.Duration(f.serial) * time.Second).UTC().Format(time.RFC3339))
	}
	if a.UpdatedAt == nil {
		a.UpdatedAt = a.CreatedAt
	}
	if a.Submission == nil && a.State == "triage" {
		a.Submission = &Submission{}
	}
	fillArrays(&a)
	stored := a
	r.advisories = append(r.advisories, &stored)
	return stored
}

// fillArrays turns nil slices into empty ones, as GitHub sends [] rather
// than null for these.
func fillArrays(a *Advisory) {
	if a.Vulnerabilities == nil {
		a.Vulnerabilities = []Vulnerability{}
	}
	if a.CWEs == nil {
		a.CWEs = []CWE{}
	}
	if a.CWEIDs == nil {
		a.CWEIDs = []string{}
	}
	if a.Credits == nil {
		a.Credits = []Credit{}
	}
	if a.CreditsDetailed == nil {
		a.CreditsDetailed = []CreditDetailed{}
	}
	if a.CollaboratingUsers == nil {
		a.CollaboratingUsers = []User{}
	}
	if a.CollaboratingTeams == nil {
		a.CollaboratingTeams = []json.RawMessage{}
	}
	if a.PrivateFork == nil {
		a.PrivateFork = json.RawMessage("null")
	}
}

// ghsaAlphabet is the 23 characters GitHub uses in GHSA ids.
const ghsaAlphabet = "23456789cfghjmpqrvwx"

// ghsaFor makes a deterministic, well-formed GHSA id from n.
func ghsaFor(n int) string {
	var b strings.Builder
	b.WriteString("GHSA")
	x := n*7919 + 104729
	for g := range 3 {
		b.WriteByte('-')
		for range 4 {
			b.WriteByte(ghsaAlphabet[x%len(ghsaAlphabet)])
			x /= len(ghsaAlphabet)
			if x == 0 {
				x = n + g + 17
			}
		}
	}
	return b.String()
}

// Advisory returns the stored advisory, as the fake now has it.
func (f *Fake) Advisory(repo, ghsa string) (Advisory, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.find(repo, ghsa)
	if a == nil {
		return Advisory{}, false
	}
	return *a, true
}

// Advisories returns the repository's advisories, in creation order.
func (f *Fake) Advisories(repo string) []Advisory {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repo(repo, false)
	if r == nil {
		return nil
	}
	out := make([]Advisory, 0, len(r.advisories))
	for _, a := range r.advisories {
		out = append(out, *a)
	}
	return out
}

func (f *Fake) find(repo, ghsa string) *Advisory {
	r := f.repo(repo, false)
	if r == nil {
		return nil
	}
	for _, a := range r.advisories {
		if strings.EqualFold(a.GHSAID, ghsa) {
			return a
		}
	}
	return nil
}

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

func (f *Fake) listRepoAdvisories(r *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	f.mu.Lock()
	repo := f.repo(params["owner"]+"/"+params["repo"], false)
	var all []Advisory
	if repo != nil {
		for _, a := range repo.advisories {
			all = append(all, *a)
		}
	}
	f.mu.Unlock()
	if repo == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	return f.page(r, all)
}

func (f *Fake) listOrgAdvisories(r *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	f.mu.Lock()
	org := strings.ToLower(params["org"])
	known := f.orgs[org]
	var all []Advisory
	keys := make([]string, 0, len(f.repos))
	for k := range f.repos {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if rs := f.repos[k]; strings.ToLower(rs.owner) == org {
			for _, a := range rs.advisories {
				all = append(all, *a)
			}
		}
	}
	f.mu.Unlock()
	if !known {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	return f.page(r, all)
}

// page filters by state, sorts newest first (GitHub's default: created,
// desc) and serves one page with GitHub's cursor pagination: a Link header
// with rel="next" carrying an opaque "after" cursor.
func (f *Fake) page(r *http.Request, all []Advisory) (int, http.Header, any) {
	q := r.URL.Query()
	if st := q.Get("state"); st != "" {
		kept := all[:0]
		for _, a := range all {
			if a.State == st {
				kept = append(kept, a)
			}
		}
		all = kept
	}
	sort.SliceStable(all, func(i, j int) bool { return deref(all[i].CreatedAt) > deref(all[j].CreatedAt) })
	if q.Get("direction") == "asc" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	size := 30
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		size = n
	}
	start := 0
	if after := q.Get("after"); after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || n < 0 || n > len(all) {
			return http.StatusBadRequest, nil, basicError("Invalid cursor")
		}
		start = n
	}
	end := min(start+size, len(all))
	h := http.Header{}
	if end < len(all) {
		next := *r.URL
		nq := next.Query()
		nq.Set("after", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(end))))
		next.RawQuery = nq.Encode()
		h.Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, f.api.URL(), next.RequestURI()))
	}
	return http.StatusOK, h, append([]Advisory{}, all[start:end]...)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (f *Fake) getAdvisory(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	a, ok := f.Advisory(params["owner"]+"/"+params["repo"], params["ghsa_id"])
	if !ok {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	return http.StatusOK, nil, a
}

// advisoryUpdate is the PATCH body (GitHub's repository-advisory-update),
// the fields the fake applies so far; the request validation has already
// checked all of them against GitHub's schema.
type advisoryUpdate struct {
	Summary     *string `json:"summary"`
	Description *string `json:"description"`
	Severity    *string `json:"severity"`
	State       *string `json:"state"`
	CVEID       *string `json:"cve_id"`
}

// transitions are the state changes GitHub allows through the API.
var transitions = map[string][]string{
	"triage":    {"draft", "closed"},
	"draft":     {"published", "closed"},
	"closed":    {"draft"},
	"published": {},
}

func (f *Fake) updateAdvisory(_ *http.Request, params map[string]string, body []byte) (int, http.Header, any) {
	var u advisoryUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return http.StatusBadRequest, nil, basicError("Problems parsing JSON")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.find(params["owner"]+"/"+params["repo"], params["ghsa_id"])
	if a == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	now := f.opts.Now().UTC().Format(time.RFC3339)
	if u.State != nil && *u.State != a.State {
		allowed := false
		for _, s := range transitions[a.State] {
			allowed = allowed || s == *u.State
		}
		if !allowed {
			return http.StatusUnprocessableEntity, nil, validationError("Validation Failed",
				[]string{fmt.Sprintf("Invalid state transition from %s to %s.", a.State, *u.State)})
		}
		if a.State == "triage" && *u.State == "draft" && a.Submission != nil {
			a.Submission.Accepted = true
		}
		a.State = *u.State
		switch a.State {
		case "closed":
			a.ClosedAt = Ptr(now)
		case "published":
			a.PublishedAt = Ptr(now)
		}
	}
	if u.Summary != nil {
		a.Summary = *u.Summary
	}
	if u.Description != nil {
		a.Description = u.Description
	}
	if u.Severity != nil {
		a.Severity = u.Severity
	}
	if u.CVEID != nil {
		a.CVEID = u.CVEID
	}
	a.UpdatedAt = Ptr(now)
	return http.StatusOK, nil, *a
}
