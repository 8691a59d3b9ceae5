package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
)

// Advisory is a repository security advisory as GitHub returns it (the
// fields Vigil reads). A private vulnerability report is an advisory in
// state "triage".
type Advisory struct {
	GHSAID      string `json:"ghsa_id"`
	CVEID       string `json:"cve_id,omitempty"`
	URL         string `json:"url"`
	HTMLURL     string `json:"html_url"`
	Summary     string `json:"summary"`
	Description string `json:"description,omitempty"`
	// Severity is critical, high, medium, low or empty.
	Severity string `json:"severity,omitempty"`
	// State is triage, draft, published, closed or withdrawn.
	State string `json:"state"`
	// Author is who opened it: for a private report, the reporter.
	Author          *User            `json:"author,omitempty"`
	Submission      *Submission      `json:"submission,omitempty"`
	Vulnerabilities []Vulnerability  `json:"vulnerabilities,omitempty"`
	CVSS            *CVSS            `json:"cvss,omitempty"`
	CWEIDs          []string         `json:"cwe_ids,omitempty"`
	Credits         []Credit         `json:"credits,omitempty"`
	CreditsDetailed []CreditDetailed `json:"credits_detailed,omitempty"`
	CreatedAt       *time.Time       `json:"created_at,omitempty"`
	UpdatedAt       *time.Time       `json:"updated_at,omitempty"`
	PublishedAt     *time.Time       `json:"published_at,omitempty"`
	ClosedAt        *time.Time       `json:"closed_at,omitempty"`
	PrivateFork     *RepositoryRef   `json:"private_fork,omitempty"`
	Identifiers     []Identifier     `json:"identifiers,omitempty"`
}

// Advisory states.
const (
	StateTriage    = "triage"
	StateDraft     = "draft"
	StatePublished = "published"
	StateClosed    = "closed"
	StateWithdrawn = "withdrawn"
)

// User is a GitHub account as advisories reference it.
type User struct {
	Login   string `json:"login"`
	HTMLURL string `json:"html_url,omitempty"`
}

// Submission is set on advisories that began as private reports.
type Submission struct {
	Accepted bool `json:"accepted"`
}

// Vulnerability is one affected package and its version ranges.
type Vulnerability struct {
	Package                Package  `json:"package"`
	VulnerableVersionRange string   `json:"vulnerable_version_range,omitempty"`
	PatchedVersions        string   `json:"patched_versions,omitempty"`
	VulnerableFunctions    []string `json:"vulnerable_functions,omitempty"`
}

// Package names a package in an ecosystem (npm, pip, go, maven, ...).
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name,omitempty"`
}

// CVSS is the advisory's CVSS vector and GitHub's score of it.
type CVSS struct {
	VectorString string  `json:"vector_string,omitempty"`
	Score        float64 `json:"score,omitempty"`
}

// Credit is a person credited, by login and kind (reporter, finder, ...).
type Credit struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

// CreditDetailed is a credit with its acceptance state.
type CreditDetailed struct {
	User  User   `json:"user"`
	Type  string `json:"type"`
	State string `json:"state"`
}

// RepositoryRef is a repository as an advisory references it (its private
// fork).
type RepositoryRef struct {
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
}

// Identifier is one of an advisory's identifiers (GHSA, CVE).
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Repo returns the repository the advisory belongs to, read from its API
// or web URL: GitHub's organisation-wide listing does not name it otherwise.
func (a *Advisory) Repo() (Repo, bool) {
	for _, raw := range []string{a.URL, a.HTMLURL} {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		// API: .../repos/{owner}/{repo}/security-advisories/{ghsa}
		for i := 0; i+3 < len(parts); i++ {
			if parts[i] == "repos" && parts[i+3] == "security-advisories" {
				if r, err := ParseRepo(parts[i+1] + "/" + parts[i+2]); err == nil {
					return r, true
				}
			}
		}
		// Web: /{owner}/{repo}/security/advisories/{ghsa}
		if len(parts) >= 4 && parts[2] == "security" && parts[3] == "advisories" {
			if r, err := ParseRepo(parts[0] + "/" + parts[1]); err == nil {
				return r, true
			}
		}
	}
	return Repo{}, false
}

// perPage is the largest page GitHub serves for advisories.
const perPage = 100

// maxPages bounds a listing, so a misbehaving server (or a cursor that
// never ends) cannot keep Vigil paging forever.
const maxPages = 50

// ListTriageAdvisories lists the repository's (owner/name) advisories in state triage:
// private vulnerability reports not yet accepted or closed.
func (c *Client) ListTriageAdvisories(ctx context.Context, fullName string) ([]Advisory, error) {
	repo, err := ParseRepo(fullName)
	if err != nil {
		return nil, err
	}
	o := op{what: "list the security advisories of " + repo.String(), permission: permAdvisoriesRead}
	return c.listAdvisories(ctx, o, "repos/"+repo.Owner+"/"+repo.Name+"/security-advisories")
}

// ListOrgTriageAdvisories lists advisories in state triage across an
// organisation's repositories (the token must be a security manager there).
func (c *Client) ListOrgTriageAdvisories(ctx context.Context, org string) ([]Advisory, error) {
	if !ownerRE.MatchString(org) {
		return nil, fmt.Errorf("%w: want an organisation name, got %q", ErrInvalid, org)
	}
	o := op{what: "list the security advisories of organisation " + org, permission: permAdvisoriesRead}
	return c.listAdvisories(ctx, o, "orgs/"+org+"/security-advisories")
}

// listAdvisories follows GitHub's cursor pagination (Link rel="next" with
// an "after" cursor) until the last page.
func (c *Client) listAdvisories(ctx context.Context, o op, path string) ([]Advisory, error) {
	var all []Advisory
	q := url.Values{"state": {StateTriage}, "per_page": {fmt.Sprint(perPage)}}
	for range maxPages {
		var page []Advisory
		resp, err := c.do(ctx, o, http.MethodGet, path+"?"+q.Encode(), nil, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if resp.After == "" {
			return all, nil
		}
		q.Set("after", resp.After)
	}
	return nil, fmt.Errorf("%s: more than %d pages, giving up", o.what, maxPages)
}

// GetAdvisory returns one advisory.
func (c *Client) GetAdvisory(ctx context.Context, fullName string, ghsa string) (*Advisory, error) {
	return c.advisoryRequest(ctx, fullName, ghsa, "read", permAdvisoriesRead, http.MethodGet, nil)
}

// advisoryRequest sends one request about advisory ghsa of repository
// fullName (verb says what it does, for errors) and returns the advisory
// as GitHub answers it.
func (c *Client) advisoryRequest(ctx context.Context, fullName, ghsa, verb, permission, method string, body any) (*Advisory, error) {
	repo, err := ParseRepo(fullName)
	if err != nil {
		return nil, err
	}
	if err := checkGHSA(ghsa); err != nil {
		return nil, err
	}
	o := op{what: verb + " security advisory " + ghsa + " in " + repo.String(), permission: permission}
	var a Advisory
	if _, err := c.do(ctx, o, method, advisoryPath(repo, ghsa), body, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// AdvisoryUpdate is the body of PATCH .../security-advisories/{ghsa_id}.
// Only set fields are sent; GitHub leaves the others as they are. (GitHub
// takes more fields here: vulnerabilities, cwe_ids, credits,
// cvss_vector_string; add them when a feature needs them.)
type AdvisoryUpdate struct {
	Summary     *string `json:"summary,omitempty"`
	Description *string `json:"description,omitempty"`
	Severity    *string `json:"severity,omitempty"`
	// State may be draft, published or closed (GitHub's own rule: triage
	// is where reports start, never where one is sent).
	State *string `json:"state,omitempty"`
}

// UpdateAdvisory changes an advisory and returns it as GitHub now has it.
func (c *Client) UpdateAdvisory(ctx context.Context, fullName string, ghsa string, u AdvisoryUpdate) (*Advisory, error) {
	return c.advisoryRequest(ctx, fullName, ghsa, "update", permAdvisoriesWrite, http.MethodPatch, u)
}

// SetAdvisoryState moves an advisory to state: draft when a report is
// accepted, closed when it is rejected, published when the fix ships.
func (c *Client) SetAdvisoryState(ctx context.Context, repo, ghsa, state string) error {
	switch state {
	case StateDraft, StatePublished, StateClosed:
	default:
		return fmt.Errorf("%w: an advisory can be set to draft, published or closed, not %q", ErrInvalid, state)
	}
	_, err := c.UpdateAdvisory(ctx, repo, ghsa, AdvisoryUpdate{State: &state})
	return err
}

func advisoryPath(repo Repo, ghsa string) string {
	return "repos/" + repo.Owner + "/" + repo.Name + "/security-advisories/" + ghsa
}

// Ecosystems are the package ecosystems GitHub's advisories know, as its
// API spells them.
var ecosystems = []string{"actions", "composer", "erlang", "go", "maven", "npm", "nuget", "other", "pip", "pub", "rubygems", "rust", "swift"}

// ValidEcosystem reports whether GitHub accepts s as an advisory's package
// ecosystem ("npm", "pip", "go", ...).
func ValidEcosystem(s string) bool { return slices.Contains(ecosystems, s) }

// Credit types GitHub accepts; a private report's author is usually
// credited as the reporter or the finder.
const (
	CreditReporter = "reporter"
	CreditFinder   = "finder"
)

var creditTypes = []string{"analyst", CreditFinder, CreditReporter, "coordinator", "remediation_developer", "remediation_reviewer", "remediation_verifier", "tool", "sponsor", "other"}

var severities = []string{"critical", "high", "medium", "low"}

var (
	cweRE = regexp.MustCompile(`^CWE-[1-9][0-9]*$`)
	cveRE = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
)

// GitHub's length limits for an advisory (characters).
const (
	maxSummary     = 1024
	maxDescription = 65535
)

// AdvisoryCreate is the body of POST /repos/{owner}/{repo}/security-advisories:
// a new draft repository security advisory.
type AdvisoryCreate struct {
	Summary     string `json:"summary"`
	Description string `json:"description"`
	// CVEID is set when a CVE was already assigned elsewhere; otherwise
	// request one with RequestCVE.
	CVEID string `json:"cve_id,omitempty"`
	// Vulnerabilities are the affected packages: Package.Ecosystem is
	// required (see ValidEcosystem); the ranges use the ecosystem's own
	// syntax ("< 1.4.2", ">= 2.0, < 2.3").
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
	// CWEIDs such as "CWE-79".
	CWEIDs []string `json:"cwe_ids,omitempty"`
	// Credits name GitHub logins with a type (CreditReporter, ...).
	Credits []Credit `json:"credits,omitempty"`
	// CVSSVector ("CVSS:3.1/AV:N/...") or Severity (critical, high,
	// medium, low): GitHub takes one or the other, never both, and derives
	// the severity from the vector. Neither leaves the severity unset.
	CVSSVector string `json:"cvss_vector_string,omitempty"`
	Severity   string `json:"severity,omitempty"`
	// StartPrivateFork also creates the temporary private fork (as
	// CreatePrivateFork does).
	StartPrivateFork bool `json:"start_private_fork,omitempty"`
}

// check reports everything GitHub would refuse that can be seen without
// asking it, so a person fixes it all at once.
func (a AdvisoryCreate) check() []string {
	var problems []string
	switch n := utf8.RuneCountInString(strings.TrimSpace(a.Summary)); {
	case n == 0:
		problems = append(problems, "a summary is required")
	case n > maxSummary:
		problems = append(problems, fmt.Sprintf("the summary is %d characters, GitHub allows %d", n, maxSummary))
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(a.Description)); {
	case n == 0:
		problems = append(problems, "a description is required")
	case n > maxDescription:
		problems = append(problems, fmt.Sprintf("the description is %d characters, GitHub allows %d", n, maxDescription))
	}
	if a.CVSSVector != "" && a.Severity != "" {
		problems = append(problems, "set either the CVSS vector or the severity, not both (GitHub derives the severity from the vector)")
	}
	if a.Severity != "" && !slices.Contains(severities, a.Severity) {
		problems = append(problems, fmt.Sprintf("severity %q is not one of %s", a.Severity, strings.Join(severities, ", ")))
	}
	if a.CVEID != "" && !cveRE.MatchString(a.CVEID) {
		problems = append(problems, fmt.Sprintf("%q is not a CVE id such as CVE-2026-12345", a.CVEID))
	}
	for i, v := range a.Vulnerabilities {
		if !ValidEcosystem(v.Package.Ecosystem) {
			problems = append(problems, fmt.Sprintf("package %d (%s): ecosystem %q is not one of %s", i+1, v.Package.Name, v.Package.Ecosystem, strings.Join(ecosystems, ", ")))
		}
	}
	for _, id := range a.CWEIDs {
		if !cweRE.MatchString(id) {
			problems = append(problems, fmt.Sprintf("%q is not a CWE id such as CWE-79", id))
		}
	}
	for _, cr := range a.Credits {
		if !ownerRE.MatchString(cr.Login) {
			problems = append(problems, fmt.Sprintf("credit: %q is not a GitHub login", cr.Login))
		}
		if !slices.Contains(creditTypes, cr.Type) {
			problems = append(problems, fmt.Sprintf("credit for %s: type %q is not one of %s", cr.Login, cr.Type, strings.Join(creditTypes, ", ")))
		}
	}
	return problems
}

// CreateAdvisory opens a draft security advisory in the repository
// (owner/name) and returns it as GitHub created it: its GHSA id, web
// address and state (draft). The token must be a security manager or an
// admin of the repository.
func (c *Client) CreateAdvisory(ctx context.Context, fullName string, a AdvisoryCreate) (*Advisory, error) {
	// GitHub is not chat: the untrusted-text markers never go there.
	a.Summary, a.Description = bot.StripSentinels(a.Summary), bot.StripSentinels(a.Description)
	repo, err := ParseRepo(fullName)
	if err != nil {
		return nil, err
	}
	if problems := a.check(); len(problems) > 0 {
		return nil, fmt.Errorf("%w: security advisory for %s: %s", ErrInvalid, repo, strings.Join(problems, "; "))
	}
	if a.Vulnerabilities == nil {
		// Required by GitHub, and as a list: null is refused.
		a.Vulnerabilities = []Vulnerability{}
	}
	o := op{what: "create a security advisory in " + repo.String(), permission: permAdvisoriesWrite}
	var out Advisory
	if _, err := c.do(ctx, o, http.MethodPost, "repos/"+repo.Owner+"/"+repo.Name+"/security-advisories", a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RequestCVE asks GitHub, as a CNA, for a CVE id for the advisory. GitHub
// fills cve_id in later, after review: poll GetAdvisory. GitHub does this
// for public repositories only.
func (c *Client) RequestCVE(ctx context.Context, fullName, ghsa string) error {
	repo, err := ParseRepo(fullName)
	if err != nil {
		return err
	}
	if err := checkGHSA(ghsa); err != nil {
		return err
	}
	o := op{what: "request a CVE for security advisory " + ghsa + " in " + repo.String(), permission: permAdvisoriesWrite}
	_, err = c.do(ctx, o, http.MethodPost, advisoryPath(repo, ghsa)+"/cve", nil, nil)
	return err
}

// Fork is an advisory's temporary private fork, where the fix is prepared
// out of public view.
type Fork struct {
	// FullName is owner/name of the fork.
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
	// CloneURL is the HTTPS address to push the fix to.
	CloneURL string `json:"clone_url"`
}

// CreatePrivateFork creates the advisory's temporary private fork. GitHub
// forks asynchronously: the fork may take a few minutes to become usable.
func (c *Client) CreatePrivateFork(ctx context.Context, fullName, ghsa string) (Fork, error) {
	repo, err := ParseRepo(fullName)
	if err != nil {
		return Fork{}, err
	}
	if err := checkGHSA(ghsa); err != nil {
		return Fork{}, err
	}
	o := op{what: "create a private fork for security advisory " + ghsa + " in " + repo.String(), permission: permAdvisoriesWrite}
	var f Fork
	if _, err := c.do(ctx, o, http.MethodPost, advisoryPath(repo, ghsa)+"/forks", nil, &f); err != nil {
		return Fork{}, err
	}
	if f.FullName == "" {
		return Fork{}, fmt.Errorf("%s: GitHub's answer names no repository", o.what)
	}
	return f, nil
}
