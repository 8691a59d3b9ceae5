package github

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
)

func TestEnsureLabelCreatesOnlyWhenMissing(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{Token: "ghp_x"})
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), "ghp_x")
	ctx := context.Background()
	l := Label{Name: "security incident", Color: "b60205"}
	for range 2 {
		if err := c.EnsureLabel(ctx, "acme/web", l); err != nil {
			t.Fatalf("EnsureLabel: %v", err)
		}
	}
	if got := f.Labels("acme/web"); len(got) != 1 || got[0].Name != "security incident" || got[0].Color != "b60205" {
		t.Errorf("labels %+v, want one 'security incident' b60205", got)
	}
	if n := len(f.RequestsFor(githubtest.OpCreateLabel)); n != 1 {
		t.Errorf("%d label creations, want 1 (the second call finds it)", n)
	}
	// The space is escaped, not a second path segment.
	if r := f.RequestsFor(githubtest.OpGetLabel); len(r) == 0 || !strings.HasSuffix(r[0].Path, "/labels/security incident") {
		t.Errorf("label path %v", r)
	}
}

func TestEnsureLabelPassesOnOtherErrors(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.AddRepo("acme/web")
	c := newClient(t, f, fakeClock(), "ghp_x")
	f.Fail(githubtest.OpGetLabel, githubtest.Fault{Status: http.StatusForbidden})
	err := c.EnsureLabel(context.Background(), "acme/web", Label{Name: "x", Color: "ededed"})
	if !errors.Is(err, ErrPermission) || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want a 403 permission error", err)
	}
	if n := len(f.RequestsFor(githubtest.OpCreateLabel)); n != 0 {
		t.Errorf("created a label after a 403")
	}
}

func TestCreateIssueThenPinAndUnpin(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.AddRepo("acme/web")
	f.SeedLabel("acme/web", "security-incident", "b60205")
	c := newClient(t, f, fakeClock(), "ghp_x")
	ctx := context.Background()
	is, err := c.CreateIssue(ctx, "acme/web", IssueCreate{Title: "Incident: leaked token", Body: "## TLDR\n...", Labels: []string{"security-incident"}})
	if err != nil {
		t.Fatalf("CreateIssue: %v", err)
	}
	if is.Number != 1 || is.NodeID == "" || !strings.HasPrefix(is.HTMLURL, "https://github.com/acme/web/issues/") {
		t.Fatalf("issue %+v", is)
	}
	if err := c.PinIssue(ctx, is.NodeID); err != nil {
		t.Fatalf("PinIssue: %v", err)
	}
	if got := f.Issues("acme/web"); len(got) != 1 || !got[0].Pinned || got[0].Labels[0].Name != "security-incident" {
		t.Fatalf("issues %+v, want one pinned with the label", got)
	}
	if err := c.UnpinIssue(ctx, is.NodeID); err != nil {
		t.Fatalf("UnpinIssue: %v", err)
	}
	if f.Issues("acme/web")[0].Pinned {
		t.Error("still pinned after UnpinIssue")
	}
	want := []string{"pinIssue " + is.NodeID, "unpinIssue " + is.NodeID}
	if got := f.GraphQLCalls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("GraphQL calls %q, want %q", got, want)
	}
	if v := f.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestPinUnknownIssueIsNotFound(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	c := newClient(t, f, fakeClock(), "ghp_x")
	err := c.PinIssue(context.Background(), "I_nope")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound from GraphQL's NOT_FOUND", err)
	}
}

func TestGraphQLPathOnEnterpriseServer(t *testing.T) {
	c, err := New(Options{APIURL: "https://ghe.example.com/api/v3/", Token: "x", Clock: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.graphqlPath(); got != "https://ghe.example.com/api/graphql" {
		t.Errorf("graphql path %q", got)
	}
	c, _ = New(Options{Token: "x", Clock: fakeClock()})
	if got := c.graphqlPath(); got != "graphql" {
		t.Errorf("graphql path %q on github.com", got)
	}
}

// The fake refuses a query it does not know, so a misspelt mutation fails
// a test instead of passing silently.
func TestFakeRefusesOtherGraphQL(t *testing.T) {
	var seen []error
	f := githubtest.New(t, githubtest.Options{OnViolation: func(err error) { seen = append(seen, err) }})
	c := newClient(t, f, fakeClock(), "ghp_x")
	err := c.graphql(context.Background(), op{what: "x"}, `mutation($id: ID!) { pinIsue(input: {issueId: $id}) { issue { id } } }`, map[string]any{"id": "I_1"}, nil)
	if err == nil || len(seen) != 1 {
		t.Fatalf("err %v, violations %v; want both", err, seen)
	}
}
