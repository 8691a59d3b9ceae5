package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/vigil-sec/vigil/bot"
)

// Permissions the incident calls need.
const (
	permIssuesWrite = "issues:write"
	permIssuesRead  = "issues:read"
)

// Label is a repository's issue label.
type Label struct {
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Description *string `json:"description,omitempty"`
}

// Issue is what Vigil keeps of an issue it opened.
type Issue struct {
	Number  int    `json:"number"`
	NodeID  string `json:"node_id"`
	HTMLURL string `json:"html_url"`
	Title   string `json:"title"`
}

// IssueCreate is the body of POST /repos/{owner}/{repo}/issues, the fields
// Vigil sets.
type IssueCreate struct {
	Title  string   `json:"title"`
	Body   string   `json:"body,omitempty"`
	Labels []string `json:"labels,omitempty"`
}

// colorRE is GitHub's label colour: six hex digits, no "#".
var colorRE = regexp.MustCompile(`^[0-9a-fA-F]{6}$`)

// GetLabel reads a label; a missing one is an error matching ErrNotFound.
func (c *Client) GetLabel(ctx context.Context, repo, name string) (Label, error) {
	r, err := ParseRepo(repo)
	if err != nil {
		return Label{}, err
	}
	var out Label
	o := op{what: fmt.Sprintf("read label %q in %s", name, r), permission: permIssuesRead}
	// The name is a path segment: "security incident" must not become two.
	_, err = c.do(ctx, o, http.MethodGet, fmt.Sprintf("repos/%s/%s/labels/%s", r.Owner, r.Name, url.PathEscape(name)), nil, &out)
	return out, err
}

// CreateLabel creates a label.
func (c *Client) CreateLabel(ctx context.Context, repo string, l Label) (Label, error) {
	r, err := ParseRepo(repo)
	if err != nil {
		return Label{}, err
	}
	if l.Name == "" || !colorRE.MatchString(l.Color) {
		return Label{}, fmt.Errorf("%w: a label needs a name and a colour of six hex digits, got %q %q", ErrInvalid, l.Name, l.Color)
	}
	var out Label
	o := op{what: fmt.Sprintf("create label %q in %s", l.Name, r), permission: permIssuesWrite}
	_, err = c.do(ctx, o, http.MethodPost, fmt.Sprintf("repos/%s/%s/labels", r.Owner, r.Name), l, &out)
	return out, err
}

// EnsureLabel makes sure the label exists, creating it when GitHub says it
// does not. Another writer creating it at the same moment makes GitHub
// answer 422 "already_exists", which counts as success.
func (c *Client) EnsureLabel(ctx context.Context, repo string, l Label) error {
	_, err := c.GetLabel(ctx, repo, l.Name)
	if err == nil {
		return nil
	}
	var pe *PermissionError
	if !errors.As(err, &pe) || pe.Status != http.StatusNotFound {
		return err
	}
	_, err = c.CreateLabel(ctx, repo, l)
	var ve *ValidationError
	if errors.As(err, &ve) {
		if _, again := c.GetLabel(ctx, repo, l.Name); again == nil {
			return nil
		}
	}
	return err
}

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, repo string, in IssueCreate) (Issue, error) {
	// GitHub is not chat: the untrusted-text markers never go there.
	in.Title, in.Body = bot.StripSentinels(in.Title), bot.StripSentinels(in.Body)
	r, err := ParseRepo(repo)
	if err != nil {
		return Issue{}, err
	}
	if in.Title == "" {
		return Issue{}, fmt.Errorf("%w: an issue needs a title", ErrInvalid)
	}
	var out Issue
	o := op{what: "open an issue in " + r.String(), permission: permIssuesWrite, hint: "issues must be enabled on the repository"}
	_, err = c.do(ctx, o, http.MethodPost, fmt.Sprintf("repos/%s/%s/issues", r.Owner, r.Name), in, &out)
	return out, err
}
