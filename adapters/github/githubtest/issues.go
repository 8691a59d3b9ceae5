package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Operation ids of the incident calls (issue 10).
const (
	OpGetLabel    = "issues/get-label"
	OpCreateLabel = "issues/create-label"
	OpCreateIssue = "issues/create"
	// OpGraphQL is POST /graphql, described by hand in the subset (it is
	// not part of GitHub's REST description).
	OpGraphQL = "graphql/query"
)

// IssueLabel is a label as GitHub describes it (schema "label").
type IssueLabel struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
}

// Issue is an issue as GitHub describes it (schema "issue"), the required
// fields and the body.
type Issue struct {
	ID            int64           `json:"id"`
	NodeID        string          `json:"node_id"`
	URL           string          `json:"url"`
	RepositoryURL string          `json:"repository_url"`
	LabelsURL     string          `json:"labels_url"`
	CommentsURL   string          `json:"comments_url"`
	EventsURL     string          `json:"events_url"`
	HTMLURL       string          `json:"html_url"`
	Number        int             `json:"number"`
	State         string          `json:"state"`
	Title         string          `json:"title"`
	Body          *string         `json:"body"`
	User          *User           `json:"user"`
	Labels        []IssueLabel    `json:"labels"`
	Assignee      *User           `json:"assignee"`
	Milestone     json.RawMessage `json:"milestone"`
	Locked        bool            `json:"locked"`
	Comments      int             `json:"comments"`
	ClosedAt      *string         `json:"closed_at"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
	// Pinned is the fake's record of GraphQL pinIssue/unpinIssue; it is
	// not sent (the REST issue has no such field).
	Pinned bool `json:"-"`
}

// issueState is the fake's issues and labels. It lives beside the Fake
// rather than in it so that adding these endpoints touched fake.go only in
// its handler table (other features extend that file at the same time).
type issueState struct {
	labels map[string][]*IssueLabel // by lower-case owner/name
	issues map[string][]*Issue
	nodes  map[string]*Issue // by node id
	serial int64
}

var issueStates sync.Map // *Fake -> *issueState

// issuesOf returns f's issue state; f.mu must be held.
func (f *Fake) issuesOf() *issueState {
	if s, ok := issueStates.Load(f); ok {
		return s.(*issueState)
	}
	s := &issueState{labels: map[string][]*IssueLabel{}, issues: map[string][]*Issue{}, nodes: map[string]*Issue{}}
	issueStates.Store(f, s)
	f.t.Cleanup(func() { issueStates.Delete(f) })
	return s
}

// Labels returns the repository's labels.
func (f *Fake) Labels(repo string) []IssueLabel {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []IssueLabel
	for _, l := range f.issuesOf().labels[strings.ToLower(repo)] {
		out = append(out, *l)
	}
	return out
}

// SeedLabel makes a label exist in repo (created if need be).
func (f *Fake) SeedLabel(repo, name, color string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repo(repo, true)
	f.addLabel(repo, name, color, nil)
}

func (f *Fake) addLabel(repo, name, color string, desc *string) *IssueLabel {
	s := f.issuesOf()
	s.serial++
	owner, rname, _ := strings.Cut(repo, "/")
	l := &IssueLabel{ID: 5000 + s.serial, NodeID: fmt.Sprintf("LA_%d", 5000+s.serial), Name: name, Color: color, Description: desc,
		URL: fmt.Sprintf("https://api.github.com/repos/%s/%s/labels/%s", owner, rname, strings.ReplaceAll(name, " ", "%20"))}
	key := strings.ToLower(repo)
	s.labels[key] = append(s.labels[key], l)
	return l
}

// Issues returns the repository's issues in creation order, with Pinned
// telling whether GraphQL pinned them.
func (f *Fake) Issues(repo string) []Issue {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Issue
	for _, i := range f.issuesOf().issues[strings.ToLower(repo)] {
		out = append(out, *i)
	}
	return out
}

func (f *Fake) findLabel(repo, name string) *IssueLabel {
	for _, l := range f.issuesOf().labels[strings.ToLower(repo)] {
		if strings.EqualFold(l.Name, name) {
			return l
		}
	}
	return nil
}

func (f *Fake) getLabel(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	repo := params["owner"] + "/" + params["repo"]
	if f.repo(repo, false) == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	// The router hands over the segment as sent, still escaped.
	name, err := url.PathUnescape(params["name"])
	if err != nil {
		return http.StatusBadRequest, nil, basicError("Bad label name")
	}
	l := f.findLabel(repo, name)
	if l == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	return http.StatusOK, nil, *l
}

func (f *Fake) createLabel(_ *http.Request, params map[string]string, body []byte) (int, http.Header, any) {
	var in struct {
		Name        string  `json:"name"`
		Color       string  `json:"color"`
		Description *string `json:"description"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, nil, basicError("Problems parsing JSON")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	repo := params["owner"] + "/" + params["repo"]
	if f.repo(repo, false) == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	if f.findLabel(repo, in.Name) != nil {
		e := validationError("Validation Failed", nil)
		e.Errors = []errorDetail{{Resource: "Label", Code: "already_exists"}}
		return http.StatusUnprocessableEntity, nil, e
	}
	color := strings.TrimPrefix(in.Color, "#")
	if color == "" {
		color = "ededed"
	}
	return http.StatusCreated, nil, *f.addLabel(repo, in.Name, color, in.Description)
}

func (f *Fake) createIssue(_ *http.Request, params map[string]string, body []byte) (int, http.Header, any) {
	var in struct {
		Title  any               `json:"title"`
		Body   *string           `json:"body"`
		Labels []json.RawMessage `json:"labels"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, nil, basicError("Problems parsing JSON")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	repo := params["owner"] + "/" + params["repo"]
	if f.repo(repo, false) == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	s := f.issuesOf()
	key := strings.ToLower(repo)
	var labels []IssueLabel
	for _, raw := range in.Labels {
		var name string
		if json.Unmarshal(raw, &name) != nil {
			var obj struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(raw, &obj)
			name = obj.Name
		}
		l := f.findLabel(repo, name)
		if l == nil {
			// GitHub creates a label named on a new issue that does not
			// exist yet; Vigil creates it first, with its colour, and the
			// test checks that it did.
			l = f.addLabel(repo, name, "ededed", nil)
		}
		labels = append(labels, *l)
	}
	if labels == nil {
		labels = []IssueLabel{}
	}
	s.serial++
	n := len(s.issues[key]) + 1
	now := f.opts.Now().UTC().Format(time.RFC3339)
	api := fmt.Sprintf("https://api.github.com/repos/%s", repo)
	is := &Issue{
		ID: 9000 + s.serial, NodeID: fmt.Sprintf("I_kwDO%d", 9000+s.serial), Number: n,
		URL: fmt.Sprintf("%s/issues/%d", api, n), RepositoryURL: api,
		LabelsURL: fmt.Sprintf("%s/issues/%d/labels{/name}", api, n), CommentsURL: fmt.Sprintf("%s/issues/%d/comments", api, n),
		EventsURL: fmt.Sprintf("%s/issues/%d/events", api, n), HTMLURL: fmt.Sprintf("https://github.com/%s/issues/%d", repo, n),
		State: "open", Title: fmt.Sprint(in.Title), Body: in.Body, User: NewUser(f.opts.Login), Labels: labels,
		Milestone: json.RawMessage("null"), CreatedAt: now, UpdatedAt: now,
	}
	s.issues[key] = append(s.issues[key], is)
	s.nodes[is.NodeID] = is
	return http.StatusCreated, nil, *is
}

// pinMutationRE accepts the shape of GitHub's pinIssue and unpinIssue
// mutations with the issue id passed as a variable (never spliced into the
// query text, where a quote would break it).
var pinMutationRE = regexp.MustCompile(`^\s*mutation(?:\s+\w+)?\s*\(\s*\$(\w+)\s*:\s*ID!\s*\)\s*\{\s*(pinIssue|unpinIssue)\s*\(\s*input\s*:\s*\{\s*issueId\s*:\s*\$(\w+)\s*\}\s*\)\s*\{[^{}]*\{[^{}]*\}\s*\}\s*\}\s*$`)

// graphql serves the two GraphQL operations Vigil sends: pinIssue and
// unpinIssue. Any other query is a violation. Like GitHub, it answers 200
// with "errors" for a bad id.
func (f *Fake) graphql(_ *http.Request, _ map[string]string, body []byte) (int, http.Header, any) {
	var in struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, nil, basicError("Problems parsing JSON")
	}
	m := pinMutationRE.FindStringSubmatch(in.Query)
	if m == nil || m[1] != m[3] {
		f.violation(fmt.Errorf("POST /graphql: the fake knows only pinIssue and unpinIssue taking $issueId: ID!, got %q", in.Query))
		return http.StatusOK, nil, map[string]any{"errors": []map[string]any{{"message": "unsupported query"}}}
	}
	name, mutation := m[1], m[2]
	id, ok := in.Variables[name].(string)
	if !ok || len(in.Variables) != 1 {
		f.violation(fmt.Errorf("POST /graphql %s: variables must be exactly {%q: ID}, got %v", mutation, name, in.Variables))
		return http.StatusOK, nil, map[string]any{"errors": []map[string]any{{"message": "Variable $" + name + " of type ID! was provided invalid value"}}}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issuesOf().nodes[id]
	if is == nil {
		return http.StatusOK, nil, map[string]any{"data": map[string]any{mutation: nil}, "errors": []map[string]any{
			{"type": "NOT_FOUND", "path": []string{mutation}, "message": fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}}}
	}
	is.Pinned = mutation == "pinIssue"
	return http.StatusOK, nil, map[string]any{"data": map[string]any{mutation: map[string]any{"issue": map[string]any{"id": is.NodeID, "isPinned": is.Pinned}}}}
}

// GraphQLCalls returns the mutation names and issue ids of the GraphQL
// requests received, in order ("pinIssue I_kwDO9001").
func (f *Fake) GraphQLCalls() []string {
	var out []string
	for _, r := range f.RequestsFor(OpGraphQL) {
		var in struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		if json.Unmarshal(r.Body, &in) != nil {
			continue
		}
		if m := pinMutationRE.FindStringSubmatch(in.Query); m != nil {
			out = append(out, fmt.Sprintf("%s %v", m[2], in.Variables[m[1]]))
		}
	}
	return out
}
