package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-sec/vigil/internal/httperr"
)

// Pinning an issue exists only in GitHub's GraphQL API. These calls go
// through the same transport and classification as the REST ones, plus the
// errors GraphQL reports inside a 200 answer.

// The mutations, as constants so tests (and the fake) can check the exact
// operation sent.
const (
	pinIssueMutation   = `mutation PinIssue($issueId: ID!) { pinIssue(input: {issueId: $issueId}) { issue { id isPinned } } }`
	unpinIssueMutation = `mutation UnpinIssue($issueId: ID!) { unpinIssue(input: {issueId: $issueId}) { issue { id isPinned } } }`
)

type graphqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

type graphqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type graphqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []graphqlError  `json:"errors"`
}

// graphqlPath is the GraphQL endpoint relative to the REST base: /graphql
// on api.github.com, /api/graphql on GitHub Enterprise Server (whose REST
// base is /api/v3/).
func (c *Client) graphqlPath() string {
	base := c.gh.BaseURL
	if strings.HasSuffix(base.Path, "/api/v3/") {
		u := *base
		u.Path = strings.TrimSuffix(base.Path, "v3/") + "graphql"
		return u.String()
	}
	return "graphql"
}

// graphql runs one query and turns GraphQL's own errors into the package's
// error classes.
func (c *Client) graphql(ctx context.Context, o op, query string, vars map[string]any, out any) error {
	var resp graphqlResponse
	if _, err := c.do(ctx, o, http.MethodPost, c.graphqlPath(), graphqlRequest{Query: query, Variables: vars}, &resp); err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		e := resp.Errors[0]
		switch e.Type {
		case "RATE_LIMITED":
			return fmt.Errorf("%s: %w", o.what, &RateLimitError{Status: http.StatusOK, RateLimit: httperr.RateLimit{Wait: defaultWait, Message: e.Message}})
		case "NOT_FOUND":
			return &PermissionError{Denied: httperr.Denied{Status: http.StatusNotFound, Op: o.what, Message: e.Message}, Permission: o.permission}
		case "FORBIDDEN", "INSUFFICIENT_SCOPES":
			return &PermissionError{Denied: httperr.Denied{Status: http.StatusForbidden, Op: o.what, Message: e.Message}, Permission: o.permission}
		}
		return fmt.Errorf("%s: GitHub's GraphQL API answered: %s", o.what, e.Message)
	}
	if out != nil && len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return fmt.Errorf("%s: reading GitHub's answer: %w", o.what, err)
		}
	}
	return nil
}

// PinIssue pins an issue (by its node id) to its repository. Pinning a
// pinned issue succeeds.
func (c *Client) PinIssue(ctx context.Context, issueNodeID string) error {
	return c.setPinned(ctx, issueNodeID, true)
}

// UnpinIssue unpins it. Unpinning an issue that is not pinned succeeds.
func (c *Client) UnpinIssue(ctx context.Context, issueNodeID string) error {
	return c.setPinned(ctx, issueNodeID, false)
}

func (c *Client) setPinned(ctx context.Context, id string, pin bool) error {
	if id == "" {
		return fmt.Errorf("%w: no issue node id", ErrInvalid)
	}
	query, field, what := unpinIssueMutation, "unpinIssue", "unpin issue "+id
	if pin {
		query, field, what = pinIssueMutation, "pinIssue", "pin issue "+id
	}
	var out map[string]struct {
		Issue struct {
			ID       string `json:"id"`
			IsPinned bool   `json:"isPinned"`
		} `json:"issue"`
	}
	o := op{what: what, permission: permIssuesWrite, hint: "pinning needs write access to the repository, and a repository pins at most three issues"}
	if err := c.graphql(ctx, o, query, map[string]any{"issueId": id}, &out); err != nil {
		return err
	}
	if got := out[field].Issue; got.ID != id || got.IsPinned != pin {
		return fmt.Errorf("%s: GitHub answered issue %q pinned=%v", what, got.ID, got.IsPinned)
	}
	return nil
}
