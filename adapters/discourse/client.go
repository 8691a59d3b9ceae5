// Package discourse connects Vigil to a Discourse forum's REST API: it
// creates announcement topics in a category, replies to them, edits
// posts and reads topics back, authenticating with an API key and the
// user it acts as (the Api-Key and Api-Username headers).
//
// It turns Discourse's answers into Vigil's error classes (errors.go) and
// never retries: a rate limit comes back as a *RateLimitError carrying the
// wait, and the caller schedules the retry.
package discourse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/httperr"
)

// Options configure a Client.
type Options struct {
	// URL is the forum's base URL, such as https://discuss.example.org.
	URL string
	// APIKey is an API key created in the forum's admin (secret).
	APIKey string
	// APIUsername is the user the key acts as; posts appear as theirs.
	APIUsername string
	// HTTPClient sends the requests; default one with a 30s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client calls Discourse's REST API. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	key      string
	username string
	http     *http.Client
	log      *slog.Logger
}

// New checks o and builds a Client. It does no I/O: a bad key shows up on
// the first call (ResolveCategory at start), as a *PermissionError.
func New(o Options) (*Client, error) {
	var problems []error
	base, err := url.Parse(o.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		problems = append(problems, fmt.Errorf("url %q: want the forum's http(s) address, such as https://discuss.example.org", o.URL))
	}
	if o.APIKey == "" {
		problems = append(problems, errors.New("an API key is required"))
	} else if strings.ContainsAny(o.APIKey, " \t\r\n") {
		// Never quote the key: it would end up in a log.
		problems = append(problems, errors.New("the API key contains white space"))
	}
	if o.APIUsername == "" {
		problems = append(problems, errors.New("an API username is required"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("discourse: %w", errors.Join(problems...))
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{base: base, key: o.APIKey, username: o.APIUsername, http: hc, log: logger}, nil
}

// op describes a call for error messages: what Vigil tried, and the API
// key scope it needs (named in permission errors).
type op struct {
	what  string
	scope string
}

// API key scopes, as the "New API key" page of Discourse's admin lists
// them (resource: action).
const (
	scopeTopicsWrite    = "topics: write" // POST /posts.json, new topics and replies
	scopeTopicsRead     = "topics: read"
	scopePostsEdit      = "posts: edit"
	scopeCategoriesList = "categories: list"
	scopeCategoriesShow = "categories: show"
)

// Post is a post Discourse created or edited.
type Post struct {
	ID         int
	TopicID    int
	PostNumber int
	TopicSlug  string
	// URL is the post's address on the forum.
	URL string
}

// Topic is a topic as GET /t/{id}.json shows it.
type Topic struct {
	ID         int
	Title      string
	Slug       string
	CategoryID int
	PostsCount int
	// FirstPostID is the post holding the topic's body; edit it to edit
	// the topic.
	FirstPostID int
	URL         string
}

// Category is a forum category.
type Category struct {
	ID   int
	Slug string
	Name string
}

// postJSON is the part of Discourse's post Vigil reads.
type postJSON struct {
	ID         int    `json:"id"`
	TopicID    int    `json:"topic_id"`
	PostNumber int    `json:"post_number"`
	TopicSlug  string `json:"topic_slug"`
	PostURL    string `json:"post_url"`
}

func (c *Client) post(p postJSON) Post {
	return Post{ID: p.ID, TopicID: p.TopicID, PostNumber: p.PostNumber, TopicSlug: p.TopicSlug, URL: c.absolute(p.PostURL)}
}

// absolute turns a forum path ("/t/slug/12/1") into a full URL.
func (c *Client) absolute(path string) string {
	if path == "" || strings.Contains(path, "://") {
		return path
	}
	return c.base.String() + path
}

// CreateTopic opens a topic in the category, its first post raw (Markdown).
func (c *Client) CreateTopic(ctx context.Context, categoryID int, title, raw string) (Post, error) {
	o := op{what: fmt.Sprintf("create a topic in category %d", categoryID), scope: scopeTopicsWrite}
	if categoryID <= 0 || strings.TrimSpace(title) == "" || strings.TrimSpace(raw) == "" {
		return Post{}, fmt.Errorf("discourse: %s: %w: want a category id, a title and a body", o.what, ErrInvalid)
	}
	var out postJSON
	req := struct {
		Title    string `json:"title"`
		Raw      string `json:"raw"`
		Category int    `json:"category"`
	}{title, raw, categoryID}
	if err := c.do(ctx, o, http.MethodPost, "/posts.json", req, &out); err != nil {
		return Post{}, err
	}
	p := c.post(out)
	c.log.InfoContext(ctx, "discourse topic created", "topic", p.TopicID, "post", p.ID, "category", categoryID)
	return p, nil
}

// Reply posts raw (Markdown) at the end of the topic.
func (c *Client) Reply(ctx context.Context, topicID int, raw string) (Post, error) {
	o := op{what: fmt.Sprintf("reply to topic %d", topicID), scope: scopeTopicsWrite}
	if topicID <= 0 || strings.TrimSpace(raw) == "" {
		return Post{}, fmt.Errorf("discourse: %s: %w: want a topic id and a body", o.what, ErrInvalid)
	}
	var out postJSON
	req := struct {
		TopicID int    `json:"topic_id"`
		Raw     string `json:"raw"`
	}{topicID, raw}
	if err := c.do(ctx, o, http.MethodPost, "/posts.json", req, &out); err != nil {
		return Post{}, err
	}
	p := c.post(out)
	c.log.InfoContext(ctx, "discourse reply posted", "topic", topicID, "post", p.ID)
	return p, nil
}

// EditPost replaces a post's body; on a topic's first post it edits the
// topic.
func (c *Client) EditPost(ctx context.Context, postID int, raw string) (Post, error) {
	o := op{what: fmt.Sprintf("edit post %d", postID), scope: scopePostsEdit}
	if postID <= 0 || strings.TrimSpace(raw) == "" {
		return Post{}, fmt.Errorf("discourse: %s: %w: want a post id and a body", o.what, ErrInvalid)
	}
	var req struct {
		Post struct {
			Raw string `json:"raw"`
		} `json:"post"`
	}
	req.Post.Raw = raw
	var out struct {
		Post postJSON `json:"post"`
	}
	if err := c.do(ctx, o, http.MethodPut, "/posts/"+strconv.Itoa(postID)+".json", req, &out); err != nil {
		return Post{}, err
	}
	p := c.post(out.Post)
	c.log.InfoContext(ctx, "discourse post edited", "topic", p.TopicID, "post", postID)
	return p, nil
}

// Topic reads a topic.
func (c *Client) Topic(ctx context.Context, id int) (Topic, error) {
	o := op{what: fmt.Sprintf("read topic %d", id), scope: scopeTopicsRead}
	if id <= 0 {
		return Topic{}, fmt.Errorf("discourse: %s: %w: want a topic id", o.what, ErrInvalid)
	}
	var out struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Slug       string `json:"slug"`
		CategoryID int    `json:"category_id"`
		PostsCount int    `json:"posts_count"`
		PostStream struct {
			Stream []int `json:"stream"`
		} `json:"post_stream"`
	}
	if err := c.do(ctx, o, http.MethodGet, "/t/"+strconv.Itoa(id)+".json", nil, &out); err != nil {
		return Topic{}, err
	}
	t := Topic{ID: out.ID, Title: out.Title, Slug: out.Slug, CategoryID: out.CategoryID, PostsCount: out.PostsCount,
		URL: c.absolute(fmt.Sprintf("/t/%s/%d", out.Slug, out.ID))}
	// The stream lists the topic's post ids in order; the first is its body.
	if len(out.PostStream.Stream) > 0 {
		t.FirstPostID = out.PostStream.Stream[0]
	}
	return t, nil
}

// ResolveCategory finds the category configured as an id ("7") or a slug
// ("security-announcements"), checking that it exists and the key can see
// it.
func (c *Client) ResolveCategory(ctx context.Context, idOrSlug string) (Category, error) {
	idOrSlug = strings.TrimSpace(idOrSlug)
	if idOrSlug == "" {
		return Category{}, fmt.Errorf("discourse: resolve the category: %w: want an id or a slug", ErrInvalid)
	}
	if id, err := strconv.Atoi(idOrSlug); err == nil {
		o := op{what: fmt.Sprintf("show category %d", id), scope: scopeCategoriesShow}
		var out struct {
			Category categoryJSON `json:"category"`
		}
		if err := c.do(ctx, o, http.MethodGet, "/c/"+strconv.Itoa(id)+"/show.json", nil, &out); err != nil {
			return Category{}, err
		}
		return out.Category.category(), nil
	}
	o := op{what: "list categories", scope: scopeCategoriesList}
	var out struct {
		CategoryList struct {
			Categories []categoryJSON `json:"categories"`
		} `json:"category_list"`
	}
	if err := c.do(ctx, o, http.MethodGet, "/categories.json?include_subcategories=true", nil, &out); err != nil {
		return Category{}, err
	}
	if cat, ok := findSlug(out.CategoryList.Categories, idOrSlug); ok {
		return cat, nil
	}
	return Category{}, &PermissionError{Denied: httperr.Denied{Status: http.StatusNotFound, Op: fmt.Sprintf("find category %q", idOrSlug)}, Scope: scopeCategoriesList}
}

// categoryJSON is the part of Discourse's category Vigil reads.
type categoryJSON struct {
	ID   int    `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// SubcategoryList holds the subcategories when the list was asked
	// for with include_subcategories; an announcement category is often
	// one (security under a project's category).
	SubcategoryList []categoryJSON `json:"subcategory_list"`
}

func (c categoryJSON) category() Category { return Category{ID: c.ID, Slug: c.Slug, Name: c.Name} }

// findSlug looks for slug among cats and their subcategories.
func findSlug(cats []categoryJSON, slug string) (Category, bool) {
	for _, c := range cats {
		if strings.EqualFold(c.Slug, slug) {
			return c.category(), true
		}
		if found, ok := findSlug(c.SubcategoryList, slug); ok {
			return found, true
		}
	}
	return Category{}, false
}

// errorBody is Discourse's error answer.
type errorBody struct {
	Errors    []string `json:"errors"`
	ErrorType string   `json:"error_type"`
	Extras    struct {
		WaitSeconds float64 `json:"wait_seconds"`
	} `json:"extras"`
}

// do sends one request and decodes a 2xx answer into out, or classifies
// the failure. Errors never carry the API key: it travels only in headers.
func (c *Client) do(ctx context.Context, o op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("discourse: %s: encoding the request: %w", o.what, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return fmt.Errorf("discourse: %s: %w", o.what, err)
	}
	req.Header.Set("Api-Key", c.key)
	req.Header.Set("Api-Username", c.username)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vigil")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("discourse: %s: %w", o.what, ctx.Err())
		}
		return &temporaryError{op: o.what, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &temporaryError{op: o.what, err: fmt.Errorf("reading the answer: %w", err)}
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("discourse: %s: decoding the answer: %w", o.what, err)
		}
		return nil
	}
	err = classify(o, resp.StatusCode, resp.Header, data)
	c.log.DebugContext(ctx, "discourse request failed", "op", o.what, "status", resp.StatusCode, "err", err)
	return err
}

// classify turns a non-2xx answer into an error of the package's classes.
func classify(o op, status int, h http.Header, data []byte) error {
	var eb errorBody
	_ = json.Unmarshal(data, &eb) // not every error page is JSON
	msg := strings.Join(eb.Errors, "; ")
	switch {
	case status == http.StatusTooManyRequests:
		return &RateLimitError{Op: o.what, RateLimit: httperr.RateLimit{Wait: rateLimitWait(h, eb.Extras.WaitSeconds), Message: msg}}
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound:
		return &PermissionError{Denied: httperr.Denied{Status: status, Op: o.what, Message: msg}, Scope: o.scope}
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		return &ValidationError{Op: o.what, Messages: eb.Errors}
	case status >= 500:
		return &temporaryError{op: o.what, err: fmt.Errorf("HTTP %d", status)}
	default:
		if msg == "" {
			msg = http.StatusText(status)
		}
		return fmt.Errorf("discourse: %s: HTTP %d: %s", o.what, status, msg)
	}
}

// defaultWait is the pause when a 429 says nothing of how long.
const defaultWait = time.Minute

// rateLimitWait is the longer of Retry-After (in seconds) and
// extras.wait_seconds: Discourse's per-user limits send the second, its
// global limiter the first, and waiting less than either means another 429.
func rateLimitWait(h http.Header, waitSeconds float64) time.Duration {
	var wait time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		wait = time.Duration(s) * time.Second
	}
	if w := time.Duration(waitSeconds * float64(time.Second)); w > wait {
		wait = w
	}
	if wait <= 0 {
		wait = defaultWait
	}
	return wait
}
