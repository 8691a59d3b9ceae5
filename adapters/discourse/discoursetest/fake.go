// Package discoursetest is a fake Discourse REST API for tests. Every
// request it receives and every response it sends is validated against
// Discourse's own OpenAPI description (the subset Vigil uses, in testdata,
// extracted by scripts/extract-discourse-openapi.mjs), and every request
// must carry the Api-Key and Api-Username headers, so a field or header
// Discourse would reject fails the test that sent it.
//
// State is in memory: categories, topics and their posts. Faults (a 429
// with wait_seconds, a 403) are queued per operation with Fail.
package discoursetest

import (
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/vigil-sec/vigil/internal/openapifake"
)

//go:embed testdata/openapi.json
var specJSON []byte

// Operation ids from Discourse's description, for Fail and RequestsFor.
const (
	OpCreatePost     = "createTopicPostPM" // POST /posts.json: a topic or a reply
	OpUpdatePost     = "updatePost"        // PUT /posts/{id}.json
	OpGetTopic       = "getTopic"          // GET /t/{id}.json
	OpListCategories = "listCategories"    // GET /categories.json
	OpGetCategory    = "getCategory"       // GET /c/{id}/show.json
)

// Options configure a Fake.
type Options struct {
	// APIKey and APIUsername are the credentials accepted; a request with
	// others gets Discourse's 403 "invalid_access". Empty accepts any
	// (but a request without the headers is still a violation).
	APIKey      string
	APIUsername string
	// OnViolation receives every contract violation. The default fails
	// the test with t.Errorf.
	OnViolation func(error)
	// Now stamps created_at and updated_at; default a fixed time.
	Now func() time.Time
}

// Request is one request the fake received; Operation is Discourse's
// operation id.
type Request = openapifake.Request

// Fault is an error the fake answers instead of doing the operation.
type Fault struct {
	// Status is the HTTP status: 403, 422, 429, 500...
	Status int
	// Message is Discourse's errors[0]; a default per status otherwise.
	Message string
	// WaitSeconds sets extras.wait_seconds, as Discourse's 429 does.
	WaitSeconds int
	// RetryAfter sets the Retry-After header, in seconds.
	RetryAfter int
	// Times is how many requests get the fault; 0 means one.
	Times int
}

// Post is a post the fake holds.
type Post struct {
	ID         int
	TopicID    int
	PostNumber int
	Raw        string
	// Edits counts PUTs to the post.
	Edits int
}

// Topic is a topic the fake holds; Posts[0] is its first post.
type Topic struct {
	ID         int
	Title      string
	Slug       string
	CategoryID int
	Posts      []Post
}

// Category is a category the fake holds.
type Category struct {
	ID   int
	Slug string
	Name string
	// ParentID is the parent category's id; 0 for a top-level category.
	ParentID int
}

// Fake is a running fake Discourse.
type Fake struct {
	api    *openapifake.Server
	opts   Options
	faults openapifake.Faults[Fault]

	mu         sync.Mutex
	categories []Category
	topics     map[int]*Topic
	// posts holds each post's current state by id. The Posts of a held
	// Topic are copies taken at creation, kept for their order and ids;
	// Topic() reads the bodies from here.
	posts  map[int]*Post
	lastID int
}

type handler func(f *Fake, r *http.Request, params map[string]string, body []byte) (int, map[string]any)

var handlers = map[string]handler{
	OpCreatePost:     (*Fake).createPost,
	OpUpdatePost:     (*Fake).updatePost,
	OpGetTopic:       (*Fake).getTopic,
	OpListCategories: (*Fake).listCategories,
	OpGetCategory:    (*Fake).getCategory,
}

// New starts a fake Discourse for the test and stops it when the test ends.
func New(t testing.TB, o Options) *Fake {
	t.Helper()
	f := &Fake{opts: o, topics: map[int]*Topic{}, posts: map[int]*Post{}}
	if f.opts.Now == nil {
		fixed := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		f.opts.Now = func() time.Time { return fixed }
	}
	f.api = openapifake.Start(t, openapifake.Config{
		Package: "discoursetest", Vendor: "Discourse", Script: "scripts/extract-discourse-openapi.mjs",
		Spec: specJSON, OnViolation: o.OnViolation,
		Answer: f.answer, EncodeFailure: []byte(`{"errors":["fake error"]}`),
	})
	return f
}

// URL is the forum's base URL.
func (f *Fake) URL() string { return f.api.URL() }

// AddCategory makes a category exist.
func (f *Fake) AddCategory(id int, slug, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.categories = append(f.categories, Category{ID: id, Slug: slug, Name: name})
}

// AddSubcategory makes a category exist under parentID.
func (f *Fake) AddSubcategory(parentID, id int, slug, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.categories = append(f.categories, Category{ID: id, Slug: slug, Name: name, ParentID: parentID})
}

// Topic returns a copy of a topic and its posts.
func (f *Fake) Topic(id int) (Topic, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.topics[id]
	if !ok {
		return Topic{}, false
	}
	out := *t
	out.Posts = nil
	for _, p := range t.Posts {
		out.Posts = append(out.Posts, *f.posts[p.ID])
	}
	return out, true
}

// Requests returns every request received so far, in order.
func (f *Fake) Requests() []Request { return f.api.Requests() }

// RequestsFor returns the requests for one operation id.
func (f *Fake) RequestsFor(operation string) []Request { return f.api.RequestsFor(operation) }

// Violations returns the contract violations seen so far.
func (f *Fake) Violations() []error { return f.api.Violations() }

// Fail makes the next requests for operation (an Op* id) answer with
// fault instead. Faults queue up in order.
func (f *Fake) Fail(operation string, fault Fault) { f.faults.Add(operation, fault, fault.Times) }

// RateLimitOnce makes the next request for operation answer 429 with
// extras.wait_seconds, as Discourse's per-user limits do.
func (f *Fake) RateLimitOnce(operation string, waitSeconds int) {
	f.Fail(operation, Fault{Status: http.StatusTooManyRequests, WaitSeconds: waitSeconds})
}

// Forbid makes the next request for operation answer 403, as Discourse
// does when the API key lacks the scope.
func (f *Fake) Forbid(operation string) {
	f.Fail(operation, Fault{Status: http.StatusForbidden})
}

// invalidAccess is Discourse's answer to a bad key or a missing scope.
const invalidAccess = "You are not permitted to view the requested resource. The API username or key is invalid."

func (f *Fake) answer(r *http.Request, body []byte, rec *Request) (int, http.Header, any) {
	route, params, ok := f.api.Route(r, rec)
	if !ok {
		return http.StatusNotFound, nil, errorBody("not_found", "The requested URL or resource could not be found.")
	}
	key, user := r.Header.Get("Api-Key"), r.Header.Get("Api-Username")
	if key == "" || user == "" {
		f.api.Violation(fmt.Errorf("%s %s: no Api-Key or Api-Username header; Discourse would answer as an anonymous visitor", r.Method, r.URL.Path))
		return http.StatusForbidden, nil, errorBody("invalid_access", invalidAccess)
	}
	if (f.opts.APIKey != "" && key != f.opts.APIKey) || (f.opts.APIUsername != "" && user != f.opts.APIUsername) {
		return http.StatusForbidden, nil, errorBody("invalid_access", invalidAccess)
	}

	in, err := f.api.ValidateRequest(r, body, route, params)
	if err != nil {
		return http.StatusUnprocessableEntity, nil, errorBody("invalid_parameters", err.Error())
	}

	if status, header, out, ok := f.fault(rec.Operation); ok {
		// Discourse documents only its 200s; an injected fault's body is
		// Discourse's error shape, not checked against the description.
		return status, header, out
	}
	status, fields := handlers[rec.Operation](f, r, params, body)
	if status != http.StatusOK {
		return status, nil, fields
	}
	// Discourse's answers carry dozens of required fields Vigil never
	// reads; the fake fills each with a value of its schema's type and
	// lays its own state over them, so the answer is complete.
	out := complete(responseSchema(route, status), fields)
	f.api.ValidateResponse(in, status, nil, out, true)
	return status, nil, out
}

func responseSchema(route *routers.Route, status int) *openapi3.Schema {
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// fault takes the next queued fault for operation, if any.
func (f *Fake) fault(operation string) (int, http.Header, any, bool) {
	ft, ok := f.faults.Next(operation)
	if !ok {
		return 0, nil, nil, false
	}
	h := http.Header{}
	if ft.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ft.RetryAfter))
	}
	msg := ft.Message
	switch ft.Status {
	case http.StatusTooManyRequests:
		if msg == "" {
			msg = fmt.Sprintf("You’ve performed this action too many times. Please wait %d seconds before trying again.", ft.WaitSeconds)
		}
		out := errorBody("rate_limit", msg)
		if ft.WaitSeconds > 0 {
			out["extras"] = map[string]any{"wait_seconds": ft.WaitSeconds, "time_left": fmt.Sprintf("%d seconds", ft.WaitSeconds)}
		}
		return ft.Status, h, out, true
	case http.StatusForbidden:
		if msg == "" {
			msg = invalidAccess
		}
		return ft.Status, h, errorBody("invalid_access", msg), true
	case http.StatusUnprocessableEntity:
		if msg == "" {
			msg = "Body is too short"
		}
		return ft.Status, h, errorBody("", msg), true
	default:
		if msg == "" {
			msg = http.StatusText(ft.Status)
		}
		return ft.Status, h, errorBody("", msg), true
	}
}

// errorBody is Discourse's error answer: {"errors": [...], "error_type": ...}.
func errorBody(errorType, msg string) map[string]any {
	out := map[string]any{"errors": []string{msg}}
	if errorType != "" {
		out["error_type"] = errorType
	}
	return out
}

// complete fills what the schema requires and v lacks: each missing
// required property gets minimal, inside objects and array items alike.
func complete(s *openapi3.Schema, v any) any {
	if s == nil {
		return v
	}
	switch val := v.(type) {
	case map[string]any:
		for _, name := range s.Required {
			if _, ok := val[name]; !ok {
				val[name] = minimal(propertySchema(s, name))
			}
		}
		for name, pv := range val {
			val[name] = complete(propertySchema(s, name), pv)
		}
		return val
	case []any:
		if s.Items != nil {
			for i := range val {
				val[i] = complete(s.Items.Value, val[i])
			}
		}
		return val
	}
	return v
}

func propertySchema(s *openapi3.Schema, name string) *openapi3.Schema {
	if p := s.Properties[name]; p != nil {
		return p.Value
	}
	return nil
}

// minimal builds the smallest value a schema accepts: null where the type
// allows it, the first value of an enum, a zero of the type, an object
// with its required properties. Discourse's description leaves "type" off
// many objects, so properties alone make an object.
func minimal(s *openapi3.Schema) any {
	switch {
	case s == nil:
		return nil
	case len(s.Enum) > 0:
		return s.Enum[0]
	case s.Type != nil && s.Type.Includes("null"):
		return nil
	case (s.Type == nil && (len(s.Properties) > 0 || len(s.Required) > 0)) || (s.Type != nil && s.Type.Includes("object")):
		return complete(s, map[string]any{})
	case s.Type == nil:
		return nil
	case s.Type.Includes("array"):
		return []any{}
	case s.Type.Includes("string"):
		return ""
	case s.Type.Includes("integer"), s.Type.Includes("number"):
		return 0
	case s.Type.Includes("boolean"):
		return false
	}
	return nil
}
