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
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
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

// Request is one request the fake received.
type Request struct {
	Method    string
	Path      string
	Query     url.Values
	Header    http.Header
	Body      []byte
	Operation string // GitHub's operation id, "" if the route is unknown
	Status    int    // what the fake answered
}

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
	srv    *httptest.Server
	doc    *openapi3.T
	router routers.Router
	opts   Options

	mu         sync.Mutex
	repos      map[string]*repoState // by lower-case owner/name
	orgs       map[string]bool       // lower-case
	requests   []Request
	faults     map[string][]*Fault // by operation id
	violations []error
	serial     int
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
	loader := openapi3.NewLoader()
	// The subset is self-contained; nothing is fetched.
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(specJSON)
	if err != nil {
		t.Fatalf("githubtest: loading GitHub's OpenAPI subset: %v", err)
	}
	// GitHub's description uses formats kin-openapi does not know (uri,
	// email, ...); only those are excused, schemas and bodies are checked.
	if err := doc.Validate(context.Background(), openapi3.DisableSchemaFormatValidation(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("githubtest: GitHub's OpenAPI subset is invalid: %v", err)
	}
	f := &Fake{
		t: t, doc: doc, opts: o,
		repos:  map[string]*repoState{},
		orgs:   map[string]bool{},
		faults: map[string][]*Fault{},
	}
	if f.opts.Now == nil {
		fixed := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		f.opts.Now = func() time.Time { return fixed }
	}
	if f.opts.Login == "" {
		f.opts.Login = "vigil-bot"
	}
	if f.opts.OnViolation == nil {
		f.opts.OnViolation = func(err error) { t.Errorf("githubtest: %v", err) }
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	// Route on the fake's own address instead of api.github.com.
	doc.Servers = openapi3.Servers{{URL: f.srv.URL}}
	multiSegmentPaths(doc)
	if f.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatalf("githubtest: routing GitHub's OpenAPI subset: %v", err)
	}
	return f
}

// URL is the API base URL (with the trailing slash go-github wants).
func (f *Fake) URL() string { return f.srv.URL + "/" }

// Doc is the loaded OpenAPI description, for tests that validate payloads
// (webhook deliveries) against GitHub's schemas.
func (f *Fake) Doc() *openapi3.T { return f.doc }

// ValidateSchema checks a JSON value against a named schema of GitHub's
// description, such as "webhook-repository-advisory-reported".
func (f *Fake) ValidateSchema(name string, data []byte) error {
	ref := f.doc.Components.Schemas[name]
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
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// RequestsFor returns the requests for one operation id.
func (f *Fake) RequestsFor(operation string) []Request {
	var out []Request
	for _, r := range f.Requests() {
		if r.Operation == operation {
			out = append(out, r)
		}
	}
	return out
}

// Violations returns the contract violations seen so far (each was also
// passed to Options.OnViolation).
func (f *Fake) Violations() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.violations...)
}

// Fail makes the next requests for operation (an Op* id) answer with
// fault instead. Faults queue up in order.
func (f *Fake) Fail(operation string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault.Times <= 0 {
		fault.Times = 1
	}
	f.faults[operation] = append(f.faults[operation], &fault)
}

func (f *Fake) violation(err error) {
	f.mu.Lock()
	f.violations = append(f.violations, err)
	f.mu.Unlock()
	f.opts.OnViolation(err)
}

// serve validates the request, answers it (or a fault), validates the
// answer and records the exchange.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	status, header, out := f.answer(r, body, &rec)
	data, err := json.Marshal(out)
	if err != nil {
		f.violation(fmt.Errorf("%s %s: the fake cannot encode its answer: %v", r.Method, r.URL.Path, err))
		status, data = http.StatusInternalServerError, []byte(`{"message":"fake error"}`)
	}
	rec.Status = status
	// Recorded before the answer goes out: a client that got its answer
	// must find its request in Requests, or tests race.
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	f.mu.Unlock()
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// answer decides the status, headers and body for r, validating both
// directions against the description.
func (f *Fake) answer(r *http.Request, body []byte, rec *Request) (int, http.Header, any) {
	route, params, err := f.router.FindRoute(r)
	if err != nil {
		f.violation(fmt.Errorf("%s %s is not an operation in GitHub's description (or not in Vigil's subset: add it to scripts/extract-github-openapi.mjs): %v", r.Method, r.URL.Path, err))
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	rec.Operation = route.Operation.OperationID
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

	in := &openapi3filter.RequestValidationInput{
		Request:    cloneWithBody(r, body),
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		f.violation(fmt.Errorf("request %s %s (%s) breaks GitHub's description: %v", r.Method, r.URL.Path, rec.Operation, err))
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
	f.validateResponse(in, status, header, out, injected)
	return status, header, out
}

// validateResponse checks the fake's own answer. A status the description
// does not list is a violation, except for injected faults (GitHub sends
// 429s and 5xx it does not document) and 404: GitHub answers 404 for a
// resource that does not exist on every route, and some descriptions
// (GET /orgs/{org}/repos) leave it out.
func (f *Fake) validateResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, out any, injected bool) {
	data, err := json.Marshal(out)
	if err != nil {
		return // serve reports it
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 h,
		Options:                &openapi3filter.Options{IncludeResponseStatus: !injected && status != http.StatusNotFound, MultiError: true},
	}
	rin.SetBodyBytes(data)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		f.violation(fmt.Errorf("the fake's %d answer to %s %s (%s) breaks GitHub's description: %v", status, in.Request.Method, in.Request.URL.Path, in.Route.Operation.OperationID, err))
	}
}

func cloneWithBody(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	return c
}

// fault takes the next queued fault for operation, if any.
func (f *Fake) fault(operation string) (int, http.Header, any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.faults[operation]
	if len(q) == 0 {
		return 0, nil, nil, false
	}
	ft := q[0]
	ft.Times--
	if ft.Times <= 0 {
		f.faults[operation] = q[1:]
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
