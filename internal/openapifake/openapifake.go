// Package openapifake is the plumbing shared by the fake vendor APIs in
// tests (adapters/github/githubtest, adapters/discourse/discoursetest). A
// Server loads the vendor's OpenAPI description, serves requests routed by
// it, records every exchange and every contract violation, and checks the
// requests and the fake's own answers against the description. Faults
// queues the errors a test injects per operation. What an operation does,
// and the vendor's auth and error shapes, stay in each fake.
package openapifake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Request is one request a fake received.
type Request struct {
	Method    string
	Path      string
	Query     url.Values
	Header    http.Header
	Body      []byte
	Operation string // the description's operation id, "" if the route is unknown
	Status    int    // what the fake answered
}

// AnswerFunc decides the status, headers and JSON body for r. body is r's
// body, already read; rec is the request as it will be recorded, for the
// answer to fill in rec.Operation.
type AnswerFunc func(r *http.Request, body []byte, rec *Request) (int, http.Header, any)

// Config configures a Server.
type Config struct {
	// Package names the fake in fatal errors and default violation
	// reports, such as "githubtest".
	Package string
	// Vendor names the API in messages, such as "GitHub".
	Vendor string
	// Script is the script that extracts Spec, named in the violation for
	// an operation missing from the subset.
	Script string
	// Spec is the OpenAPI description, JSON, self-contained.
	Spec []byte
	// OnViolation receives every contract violation; default fails the
	// test with t.Errorf.
	OnViolation func(error)
	// PrepareRoutes, if set, adjusts the loaded description before it is
	// routed (GitHub's multi-segment path parameters).
	PrepareRoutes func(*openapi3.T)
	// Answer answers every request.
	Answer AnswerFunc
	// EncodeFailure is the body sent, with a 500, when the fake cannot
	// encode its own answer (a bug in the fake, also reported).
	EncodeFailure []byte
}

// Server is a running fake API.
type Server struct {
	cfg    Config
	srv    *httptest.Server
	doc    *openapi3.T
	router routers.Router

	mu         sync.Mutex
	requests   []Request
	violations []error
}

// Start loads cfg.Spec and starts serving it for the test; the server
// stops when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	loader := openapi3.NewLoader()
	// The subset is self-contained; nothing is fetched.
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(cfg.Spec)
	if err != nil {
		t.Fatalf("%s: loading %s's OpenAPI subset: %v", cfg.Package, cfg.Vendor, err)
	}
	// Vendors' descriptions use formats kin-openapi does not know (uri,
	// email, ...); only those are excused, schemas and bodies are checked.
	if err := doc.Validate(context.Background(), openapi3.DisableSchemaFormatValidation(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("%s: %s's OpenAPI subset is invalid: %v", cfg.Package, cfg.Vendor, err)
	}
	if cfg.OnViolation == nil {
		cfg.OnViolation = func(err error) { t.Errorf("%s: %v", cfg.Package, err) }
	}
	s := &Server{cfg: cfg, doc: doc}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	// Route on the fake's own address instead of the vendor's.
	doc.Servers = openapi3.Servers{{URL: s.srv.URL}}
	if cfg.PrepareRoutes != nil {
		cfg.PrepareRoutes(doc)
	}
	if s.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatalf("%s: routing %s's OpenAPI subset: %v", cfg.Package, cfg.Vendor, err)
	}
	return s
}

// URL is the server's address, without a trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// Doc is the loaded description.
func (s *Server) Doc() *openapi3.T { return s.doc }

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsFor returns the requests for one operation id.
func (s *Server) RequestsFor(operation string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Operation == operation {
			out = append(out, r)
		}
	}
	return out
}

// Violations returns the contract violations seen so far (each was also
// passed to Config.OnViolation).
func (s *Server) Violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.violations...)
}

// Violation records a contract violation and reports it.
func (s *Server) Violation(err error) {
	s.mu.Lock()
	s.violations = append(s.violations, err)
	s.mu.Unlock()
	s.cfg.OnViolation(err)
}

// serve reads the request, has it answered, records the exchange and
// writes the answer.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	status, header, out := s.cfg.Answer(r, body, &rec)
	data, err := json.Marshal(out)
	if err != nil {
		s.Violation(fmt.Errorf("%s %s: the fake cannot encode its answer: %v", r.Method, r.URL.Path, err))
		status, data = http.StatusInternalServerError, s.cfg.EncodeFailure
	}
	rec.Status = status
	// Recorded before the answer goes out: a client that got its answer
	// must find its request in Requests, or tests race.
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// Route finds r's operation and sets rec.Operation. A request for no
// operation of the subset is a violation; ok is false and the fake
// answers 404 in the vendor's words.
func (s *Server) Route(r *http.Request, rec *Request) (route *routers.Route, params map[string]string, ok bool) {
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		s.Violation(fmt.Errorf("%s %s is not an operation in %s's description (or not in Vigil's subset: add it to %s): %v", r.Method, r.URL.Path, s.cfg.Vendor, s.cfg.Script, err))
		return nil, nil, false
	}
	rec.Operation = route.Operation.OperationID
	return route, params, true
}

// ValidateRequest checks r (whose body was read into body) against its
// operation. A request the description does not allow is a violation,
// returned too for the fake's error answer. The input is what
// ValidateResponse takes.
func (s *Server) ValidateRequest(r *http.Request, body []byte, route *routers.Route, params map[string]string) (*openapi3filter.RequestValidationInput, error) {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request:    c,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.Violation(fmt.Errorf("request %s %s (%s) breaks %s's description: %v", r.Method, r.URL.Path, route.Operation.OperationID, s.cfg.Vendor, err))
		return in, err
	}
	return in, nil
}

// ValidateResponse checks the fake's own answer to the request in; a
// mismatch is a violation. checkStatus false excuses a status the
// description does not list (the fakes' injected faults, and 404s some
// vendors answer on routes that do not document them).
func (s *Server) ValidateResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, out any, checkStatus bool) {
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
		Options:                &openapi3filter.Options{IncludeResponseStatus: checkStatus, MultiError: true},
	}
	rin.SetBodyBytes(data)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		s.Violation(fmt.Errorf("the fake's %d answer to %s %s (%s) breaks %s's description: %v", status, in.Request.Method, in.Request.URL.Path, in.Route.Operation.OperationID, s.cfg.Vendor, err))
	}
}
