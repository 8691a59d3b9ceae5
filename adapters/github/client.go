// Package github connects Vigil to GitHub: a REST client for repository
// security advisories (go-github v60 plus request types of Vigil's own where
// go-github has none), the webhook receiver for private vulnerability
// reports, and a poller that picks up reports a missed webhook would lose.
//
// It turns GitHub's answers into Vigil's error classes (see errors.go) and
// hands reports to an intake.Sink; it never imports a command package.
package github

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
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
	// ghinstallation's own go-github, for its token options only.
	ghinst "github.com/google/go-github/v88/github"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/internal/httperr"
)

// DefaultAPIURL is GitHub's REST API.
const DefaultAPIURL = "https://api.github.com/"

// Options configure a Client. Exactly one of Token or the App fields is
// required.
type Options struct {
	// APIURL is the REST API's base URL; empty means DefaultAPIURL. Tests
	// point it at githubtest.
	APIURL string
	// Token is a fine-grained personal access token.
	Token string
	// AppID, InstallationID and AppPrivateKey (PEM) authenticate as a
	// GitHub App installation instead of a token.
	AppID          int64
	InstallationID int64
	AppPrivateKey  []byte
	// Clock measures rate-limit waits when GitHub's answer carries no Date.
	Clock clock.Clock
	// HTTPClient supplies the transport (default: http.DefaultTransport)
	// and timeout (default 30s). Its Transport is wrapped, not replaced.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client calls GitHub's REST API. It is safe for concurrent use.
type Client struct {
	gh    *gh.Client
	clock clock.Clock
	log   *slog.Logger
}

// New checks o and builds a Client. It does no I/O: a bad token shows up on
// the first call, as a *PermissionError.
func New(o Options) (*Client, error) {
	var problems []error
	app := o.AppID != 0 || o.InstallationID != 0 || len(o.AppPrivateKey) > 0
	switch {
	case o.Token != "" && app:
		problems = append(problems, errors.New("set either a token or a GitHub App, not both"))
	case o.Token == "" && !app:
		problems = append(problems, errors.New("a token or a GitHub App (app id, installation id, private key) is required"))
	case app && (o.AppID <= 0 || o.InstallationID <= 0 || len(o.AppPrivateKey) == 0):
		problems = append(problems, errors.New("a GitHub App needs the app id, the installation id and the private key"))
	}
	if strings.ContainsAny(o.Token, " \t\r\n") {
		// Never quote the token: it would end up in a log.
		problems = append(problems, errors.New("the token contains white space"))
	}
	if o.Clock == nil {
		problems = append(problems, errors.New("a clock is required"))
	}
	base, err := apiURL(o.APIURL)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("github: %w", errors.Join(problems...))
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	var transport http.RoundTripper = http.DefaultTransport
	if o.HTTPClient != nil {
		if o.HTTPClient.Timeout > 0 {
			hc.Timeout = o.HTTPClient.Timeout
		}
		if o.HTTPClient.Transport != nil {
			transport = o.HTTPClient.Transport
		}
	}
	if o.Token != "" {
		transport = &tokenTransport{token: o.Token, next: transport}
	} else {
		// ghinstallation parses the key here (no I/O) and fetches and
		// renews installation tokens on demand.
		itr, err := ghinstallation.New(transport, o.AppID, o.InstallationID, o.AppPrivateKey)
		if err != nil {
			// Its errors name the key's problem, never the key.
			return nil, fmt.Errorf("github: the app private key: %w", err)
		}
		itr.BaseURL = strings.TrimSuffix(base.String(), "/")
		// Empty options make ghinstallation send "{}" where it would
		// otherwise send "null", which GitHub's description does not allow
		// (the OpenAPI-checking fake refuses it).
		itr.InstallationTokenOptions = &ghinst.InstallationTokenOptions{}
		transport = itr
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hc.Transport = &limitTransport{next: transport, clock: o.Clock}
	c := gh.NewClient(hc)
	c.BaseURL = base
	c.UserAgent = "vigil"
	return &Client{gh: c, clock: o.Clock, log: logger}, nil
}

// apiURL parses the configured base URL, adding the trailing slash
// go-github requires.
func apiURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api url %q: want an http(s) URL such as https://api.github.com/", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// GitHub returns the underlying go-github client, for calls go-github
// already has (issues, labels). Its errors are not classified; wrap them
// with the package's own calls where possible.
func (c *Client) GitHub() *gh.Client { return c.gh }

// Repo is a repository, owner/name.
type Repo struct {
	Owner string
	Name  string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9](?:-?[A-Za-z0-9])*$`)
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// ghsaRE is GitHub's advisory id: GHSA and three groups of four
	// characters from its 23-letter alphabet. Ids reach URL paths, so
	// nothing else is let through.
	ghsaRE = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
)

// ParseRepo parses "owner/name".
func ParseRepo(s string) (Repo, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || !ownerRE.MatchString(owner) || !nameRE.MatchString(name) || name == "." || name == ".." {
		return Repo{}, fmt.Errorf("%w: want a repository as owner/name, got %q", ErrInvalid, s)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// ValidGHSA reports whether id is a well-formed GHSA id.
func ValidGHSA(id string) bool { return ghsaRE.MatchString(id) }

func checkGHSA(id string) error {
	if !ValidGHSA(id) {
		return fmt.Errorf("%w: want a GHSA id such as GHSA-abcd-1234-wxyz, got %q", ErrInvalid, id)
	}
	return nil
}

// op describes a call for error messages: what Vigil tried, and the
// permission it needs (named in permission errors).
type op struct {
	what       string
	permission string
	// hint, if any, is another reason GitHub may refuse (a feature that
	// must be on), added to permission errors.
	hint string
}

// Permissions named in errors, as fine-grained tokens and GitHub Apps call
// them.
const (
	permAdvisoriesRead  = "repository_advisories:read"
	permAdvisoriesWrite = "repository_advisories:write"
	permContentsRead    = "contents:read"
	permMetadataRead    = "metadata:read"
)

// do sends one request through go-github's NewRequest and Do, and turns
// whatever went wrong into Vigil's error classes. body, when not nil, is
// JSON-encoded; out, when not nil, receives the decoded answer. Every
// method goes through here, so every answer is classified the same way.
func (c *Client) do(ctx context.Context, o op, method, path string, body, out any) (*gh.Response, error) {
	req, err := c.gh.NewRequest(method, path, body)
	if err != nil {
		return nil, fmt.Errorf("%s: building the request: %w", o.what, err)
	}
	resp, err := c.gh.Do(ctx, req, out)
	var accepted *gh.AcceptedError
	if errors.As(err, &accepted) {
		// 202 Accepted is success for the calls GitHub finishes later (a
		// CVE request, a private fork); go-github reports it as an error
		// that carries the body, undecoded.
		if out != nil && len(bytes.TrimSpace(accepted.Raw)) > 0 {
			if err := json.Unmarshal(accepted.Raw, out); err != nil {
				return resp, fmt.Errorf("%s: reading GitHub's answer: %w", o.what, err)
			}
		}
		return resp, nil
	}
	if err != nil {
		return resp, c.classify(ctx, o, err)
	}
	return resp, nil
}

// classify maps a go-github error to Vigil's error classes.
func (c *Client) classify(ctx context.Context, o op, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("%s: %w", o.what, ctxErr)
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: %w", o.what, rl)
	}
	// go-github remembers a limit it saw on a successful answer
	// (remaining 0) and refuses the next call locally with these.
	var ghRL *gh.RateLimitError
	if errors.As(err, &ghRL) {
		return fmt.Errorf("%s: %w", o.what, &RateLimitError{Status: http.StatusForbidden, RateLimit: httperr.RateLimit{Wait: clampWait(ghRL.Rate.Reset.Sub(c.clock.Now())), Message: ghRL.Message}})
	}
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		wait := defaultWait
		if abuse.RetryAfter != nil {
			wait = clampWait(*abuse.RetryAfter)
		}
		return fmt.Errorf("%s: %w", o.what, &RateLimitError{Status: http.StatusForbidden, RateLimit: httperr.RateLimit{Wait: wait, Message: abuse.Message}})
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		status := er.Response.StatusCode
		switch {
		case status == http.StatusUnprocessableEntity:
			return &ValidationError{Op: o.what, Message: er.Message, Details: errorDetails(er.Errors)}
		case status == http.StatusUnauthorized:
			return fmt.Errorf("%s: %w", o.what, &PermissionError{Denied: httperr.Denied{Status: status, Op: o.what, Message: er.Message}, Permission: "a valid token (it was refused: expired or revoked?)"})
		case status == http.StatusForbidden || status == http.StatusNotFound:
			return &PermissionError{Denied: httperr.Denied{Status: status, Op: o.what, Message: er.Message}, Permission: o.permission, Hint: o.hint}
		case status >= 500:
			return &temporaryError{op: o.what, err: fmt.Errorf("HTTP %d %s", status, er.Message)}
		default:
			return fmt.Errorf("%s: GitHub answered HTTP %d: %s", o.what, status, er.Message)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) {
		// Transport trouble: connection refused, reset, timeout. go-github
		// has already stripped secrets from the URL; the token is a header.
		return &temporaryError{op: o.what, err: err}
	}
	return fmt.Errorf("%s: %w", o.what, err)
}

// errorDetails renders GitHub's per-field validation errors.
func errorDetails(errs []gh.Error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		switch {
		case e.Message != "":
			out = append(out, e.Message)
		case e.Field != "":
			out = append(out, fmt.Sprintf("%s: %s", e.Field, e.Code))
		case e.Code != "":
			out = append(out, e.Code)
		}
	}
	return out
}

// tokenTransport adds the token to each request. It clones the request
// (RoundTrippers must not change theirs) and never logs.
type tokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// Rate-limit waits: GitHub says to wait at least a minute when it gives no
// time, and a primary limit resets within the hour.
const (
	defaultWait = time.Minute
	minWait     = time.Second
	maxWait     = time.Hour
)

func clampWait(d time.Duration) time.Duration {
	return min(max(d, minWait), maxWait)
}

// limitTransport turns GitHub's rate-limit answers into *RateLimitError
// before go-github sees them. go-github would otherwise remember the limit
// against the wall clock and refuse later calls on its own, which a fake
// clock cannot move past; and it does not recognise 429 at all. Deciding
// here keeps the wait on GitHub's own numbers and the retry with the
// caller (the poller, the outbox), the one place that retries.
type limitTransport struct {
	next  http.RoundTripper
	clock clock.Clock
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	// A 403 is a rate limit only when GitHub says so: remaining 0, a
	// Retry-After, or a secondary-limit message. Peek at the body (bounded)
	// and hand it on unchanged otherwise.
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	msg := errorMessage(data)
	h := resp.Header
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		h.Get("X-Ratelimit-Remaining") == "0" || h.Get("Retry-After") != "" ||
		strings.Contains(strings.ToLower(msg), "rate limit")
	if !limited {
		resp.Body = io.NopCloser(bytes.NewReader(data))
		return resp, nil
	}
	return nil, &RateLimitError{Status: resp.StatusCode, RateLimit: httperr.RateLimit{Wait: t.wait(h), Message: msg}}
}

// wait reads how long GitHub wants Vigil to wait: Retry-After (seconds or an
// HTTP date), else the reset time of an exhausted primary limit measured
// against GitHub's own Date header, else a minute.
func (t *limitTransport) wait(h http.Header) time.Duration {
	now := t.clock.Now()
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		now = d
	}
	if ra := h.Get("Retry-After"); ra != "" {
		if s, err := strconv.ParseInt(strings.TrimSpace(ra), 10, 64); err == nil && s >= 0 {
			return clampWait(time.Duration(s) * time.Second)
		}
		if at, err := http.ParseTime(ra); err == nil {
			return clampWait(at.Sub(now))
		}
	}
	if h.Get("X-Ratelimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			return clampWait(time.Unix(s, 0).Sub(now))
		}
	}
	return defaultWait
}

// errorMessage pulls "message" out of a GitHub error body, if any.
func errorMessage(data []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	return e.Message
}
