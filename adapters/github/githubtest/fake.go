// Package githubtest is a fake GitHub REST API for tests. Every request it
// receives and every response it sends is validated against GitHub's own
// OpenAPI description (the subset of it Vigil uses, in testdata), so a
// field GitHub would reject fails the test that sent it, and the fake
// cannot drift from what GitHub really answers.
//
// State is in memory: repositories (their files, dependency graph and
// security advisories, with CVE requests and private forks). Later
// features add their endpoints (issues, labels, GraphQL pin/unpin) as
// handlers in the table below, after adding the operations to
// scripts/extract-github-openapi.mjs.
package githubtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vigil-sec/vigil/internal/openapifake"
)

//go:embed testdata/api.github.com.subset.json
var specJSON []byte

// Operation ids from GitHub's description, for Fail and Request.Operation.
const (
	OpListRepoAdvisories = "security-advisories/list-repository-advisories"
	OpListOrgAdvisories  = "security-advisories/list-org-repository-advisories"
	OpGetAdvisory        = "security-advisories/get-repository-advisory"
	OpUpdateAdvisory     = "security-advisories/update-repository-advisory"
	OpCreateAdvisory     = "security-advisories/create-repository-advisory"
	OpRequestCVE         = "security-advisories/create-repository-advisory-cve-request"
	OpCreateFork         = "security-advisories/create-fork"
	OpListOrgRepos       = "repos/list-for-org"
	OpExportSBOM         = "dependency-graph/export-sbom"
	OpGetContent         = "repos/get-content"
	// OpCreateInstallationToken is how a GitHub App gets its token.
	OpCreateInstallationToken = "apps/create-installation-access-token"
)

// Options configure a Fake.
type Options struct {
	// Token, when set, is the only bearer token accepted; others get 401
	// "Bad credentials". Empty accepts any token (but not none).
	Token string
	// OnViolation receives every contract violation (a request or
	// response GitHub's description does not allow). The default fails
	// the test with t.Errorf.
	OnViolation func(error)
	// Now stamps created_at and updated_at; default a fixed time.
	Now func() time.Time
	// Login is the authenticated account: the author of advisories
	// created through the API. Default "vigil-bot".
	Login string
}

// Request is one request the fake received; Operation is GitHub's
// operation id.
type Request = openapifake.Request

// Fault is an error the fake answers instead of doing the operation.
type Fault struct {
	// Status is the HTTP status: 403, 404, 422, 429, 500...
	Status int
	// Message is GitHub's "message"; a default per status otherwise.
	Message string
	// Errors are 422 details.
	Errors []string
	// RetryAfter sets Retry-After in seconds (rate limits).
	RetryAfter time.Duration
	// RateLimitExhausted sets x-ratelimit-remaining: 0 and a reset time,
	// as GitHub's primary rate limit does.
	RateLimitExhausted bool
	// Times is how many requests get the fault; 0 means one.
	Times int
}

// Fake is a running fake GitHub.
type Fake struct {
	t      testing.TB
	api    *openapifake.Server
	opts   Options
	faults openapifake.Faults[Fault]

	mu     sync.Mutex
	repos  map[string]*repoState // by lower-case owner/name
	orgs   map[string]bool       // lower-case
	serial int
}

type repoState struct {
	owner, name string
	created     int // order of creation, for GitHub's default sort
	Repository
	advisories []*Advisory       // in creation order
	cveRequest map[string]bool   // GHSA ids with a CVE request pending
	sbom       []SBOMPackage     // the dependency graph
	files      map[string]string // contents by path, on the default branch
}

type handler func(f *Fake, r *http.Request, params map[string]string, body []byte) (int, http.Header, any)

// handlers implement the operations by id. A new endpoint is a new entry.
var handlers = map[string]handler{
	OpListRepoAdvisories:      (*Fake).listRepoAdvisories,
	OpListOrgAdvisories:       (*Fake).listOrgAdvisories,
	OpGetAdvisory:             (*Fake).getAdvisory,
	OpUpdateAdvisory:          (*Fake).updateAdvisory,
	OpCreateInstallationToken: (*Fake).createInstallationToken,
	OpCreateAdvisory:          (*Fake).createAdvisory,
	OpRequestCVE:              (*Fake).requestCVE,
	OpCreateFork:              (*Fake).createFork,
	OpListOrgRepos:            (*Fake).listOrgRepos,
	OpExportSBOM:              (*Fake).exportSBOM,
	OpGetContent:              (*Fake).getContent,
	// Issue 10 (issues.go): incident write-ups as pinned issues.
	OpGetLabel: (*Fake).getLabel, OpCreateLabel: (*Fake).createLabel, OpCreateIssue: (*Fake).createIssue, OpGraphQL: (*Fake).graphql,
}

// New starts a fake GitHub for the test and stops it when the test ends.
func New(t testing.TB, o Options) *Fake {
	t.Helper()
	f := &Fake{
		t: t, opts: o,
		repos: map[string]*repoState{},
		orgs:  map[string]bool{},
	}
	if f.opts.Now == nil {
		fixed := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		f.opts.Now = func() time.Time { return fixed }
	}
	if f.opts.Login == "" {
		f.opts.Login = "vigil-bot"
	}
	f.api = openapifake.Start(t, openapifake.Config{
		Package: "githubtest", Vendor: "GitHub", Script: "scripts/extract-github-openapi.mjs",
		Spec: specJSON, OnViolation: o.OnViolation, PrepareRoutes: multiSegmentPaths,
		Answer: f.answer, EncodeFailure: []byte(`{"message":"fake error"}`),
	})
	return f
}

// URL is the API base URL (with the trailing slash go-github wants).
func (f *Fake) URL() string { return f.api.URL() + "/" }

// Doc is the loaded OpenAPI description, for tests that validate payloads
// (webhook deliveries) against GitHub's schemas.
func (f *Fake) Doc() *openapi3.T { return f.api.Doc() }

// ValidateSchema checks a JSON value against a named schema of GitHub's
// description, such as "webhook-repository-advisory-reported".
func (f *Fake) ValidateSchema(name string, data []byte) error {
	ref := f.api.Doc().Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("no schema %q in the subset (add it to scripts/extract-github-openapi.mjs)", name)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return ref.Value.VisitJSON(v, openapi3.MultiErrors())
}

// AddRepo makes a repository (and its owner, as an organisation) exist.
func (f *Fake) AddRepo(fullName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repo(fullName, true)
}

func (f *Fake) repo(fullName string, create bool) *repoState {
	key := strings.ToLower(fullName)
	if r, ok := f.repos[key]; ok || !create {
		return r
	}
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok {
		f.t.Fatalf("githubtest: repository %q is not owner/name", fullName)
	}
	r := &repoState{owner: owner, name: name, created: len(f.repos) + 1, Repository: Repository{DefaultBranch: "main"},
		cveRequest: map[string]bool{}, files: map[string]string{}}
	f.repos[key] = r
	f.orgs[strings.ToLower(owner)] = true
	return r
}

// Requests returns every request received so far, in order.
func (f *Fake) Requests() []Request { return f.api.Requests() }

// RequestsFor returns the requests for one operation id.
func (f *Fake) RequestsFor(operation string) []Request { return f.api.RequestsFor(operation) }

// Violations returns the contract violations seen so far (each was also
// passed to Options.OnViolation).
func (f *Fake) Violations() []error { return f.api.Violations() }

// Fail makes the next requests for operation (an Op* id) answer with
// fault instead. Faults queue up in order.
func (f *Fake) Fail(operation string, fault Fault) { f.faults.Add(operation, fault, fault.Times) }

func (f *Fake) violation(err error) { f.api.Violation(err) }

// answer decides the status, headers and body for r, validating both
// directions against the description.
func (f *Fake) answer(r *http.Request, body []byte, rec *Request) (int, http.Header, any) {
	route, params, ok := f.api.Route(r, rec)
	if !ok {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") && !strings.HasPrefix(auth, "token ") {
		f.violation(fmt.Errorf("%s %s: no Authorization header; GitHub answers 401", r.Method, r.URL.Path))
		return http.StatusUnauthorized, nil, basicError("Requires authentication")
	}
	if rec.Operation == OpCreateInstallationToken {
		// Apps authenticate with a JWT (header.claims.signature).
		if jwt := strings.TrimPrefix(auth, "Bearer "); strings.Count(jwt, ".") != 2 {
			return http.StatusUnauthorized, nil, basicError("A JSON web token could not be decoded")
		}
	} else if f.opts.Token != "" && auth != "Bearer "+f.opts.Token && auth != "token "+f.opts.Token {
		return http.StatusUnauthorized, nil, basicError("Bad credentials")
	}

	in, err := f.api.ValidateRequest(r, body, route, params)
	if err != nil {
		// GitHub answers schema violations with 422 and its reasons.
		return http.StatusUnprocessableEntity, nil, validationError("Invalid request.", []string{err.Error()})
	}

	status, header, out, injected := f.fault(rec.Operation)
	if !injected {
		h := handlers[rec.Operation]
		if h == nil {
			f.violation(fmt.Errorf("%s %s (%s) is in the subset but the fake has no handler for it", r.Method, r.URL.Path, rec.Operation))
			return http.StatusNotImplemented, nil, basicError("githubtest has no handler for this operation yet")
		}
		status, header, out = h(f, r, params, body)
	}
	// A status the description does not list is a violation, except for
	// injected faults (GitHub sends 429s and 5xx it does not document) and
	// 404: GitHub answers 404 for a resource that does not exist on every
	// route, and some descriptions (GET /orgs/{org}/repos) leave it out.
	f.api.ValidateResponse(in, status, header, out, !injected && status != http.StatusNotFound)
	return status, header, out
}

// fault takes the next queued fault for operation, if any.
func (f *Fake) fault(operation string) (int, http.Header, any, bool) {
	ft, ok := f.faults.Next(operation)
	if !ok {
		return 0, nil, nil, false
	}
	h := http.Header{}
	msg := ft.Message
	if ft.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(ft.RetryAfter/time.Second)))
	}
	if ft.RateLimitExhausted {
		now := f.opts.Now()
		h.Set("Date", now.UTC().Format(http.TimeFormat))
		h.Set("X-Ratelimit-Limit", "5000")
		h.Set("X-Ratelimit-Remaining", "0")
		h.Set("X-Ratelimit-Reset", strconv.FormatInt(now.Add(max(ft.RetryAfter, time.Minute)).Unix(), 10))
		if msg == "" {
			msg = "API rate limit exceeded for installation."
		}
	}
	switch ft.Status {
	case http.StatusUnprocessableEntity:
		if msg == "" {
			msg = "Validation Failed"
		}
		return ft.Status, h, validationError(msg, ft.Errors), true
	case http.StatusForbidden:
		if msg == "" {
			msg = "Resource not accessible by integration"
		}
	case http.StatusNotFound:
		if msg == "" {
			msg = "Not Found"
		}
	case http.StatusTooManyRequests:
		if msg == "" {
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		}
	default:
		if msg == "" {
			msg = http.StatusText(ft.Status)
		}
	}
	return ft.Status, h, basicError(msg), true
}

// errorBody is GitHub's basic-error and validation-error.
type errorBody struct {
	Message          string        `json:"message"`
	DocumentationURL string        `json:"documentation_url"`
	Status           string        `json:"status,omitempty"`
	Errors           []errorDetail `json:"errors,omitempty"`
}

type errorDetail struct {
	Resource string `json:"resource,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

const docsURL = "https://docs.github.com/rest/security-advisories/repository-advisories"

func basicError(msg string) errorBody {
	return errorBody{Message: msg, DocumentationURL: docsURL}
}

func validationError(msg string, details []string) errorBody {
	e := errorBody{Message: msg, DocumentationURL: docsURL}
	for _, d := range details {
		e.Errors = append(e.Errors, errorDetail{Resource: "RepositoryAdvisory", Code: "custom", Message: d})
	}
	return e
}

// The operations.

// createInstallationToken issues "ghs_" + the installation id, valid for an
// hour, as GitHub does for an App installation.
func (f *Fake) createInstallationToken(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	return http.StatusCreated, nil, struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}{"ghs_installation" + params["installation_id"], f.opts.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
}
