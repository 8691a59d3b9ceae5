package github

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot"
)

func TestListOrgRepositories(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	var want []string
	for i := range 230 {
		name := fmt.Sprintf("acme/svc-%03d", 229-i) // created in reverse name order
		f.AddRepo(name)
		want = append(want, name)
	}
	f.SeedRepo("acme/legacy", githubtest.Repository{Archived: true})
	f.SeedRepo("acme/internal", githubtest.Repository{Private: true})
	want = append(want, "acme/internal")
	f.AddRepo("other/lib")
	slices.Sort(want)
	c := newClient(t, f, fakeClock(), "t")

	got, err := c.ListOrgRepositories(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %d repositories (first %v), want the %d not archived, by name", len(got), got[:min(3, len(got))], len(want))
	}
	reqs := f.RequestsFor(githubtest.OpListOrgRepos)
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages of 100", len(reqs))
	}
	for i, r := range reqs {
		if r.Query.Get("page") != fmt.Sprint(i+1) || r.Query.Get("per_page") != "100" {
			t.Errorf("request %d: query %v", i+1, r.Query)
		}
	}

	if _, err := c.ListOrgRepositories(t.Context(), "nobody"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "metadata:read") {
		t.Errorf("unknown organisation: %v", err)
	}
	if _, err := c.ListOrgRepositories(t.Context(), "acme/web"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad organisation name: %v", err)
	}
}

func TestRepositorySBOM(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.SeedSBOM("acme/web",
		githubtest.SBOMPackage{Name: "npm:lodash", Version: "4.17.21", PURL: "pkg:npm/lodash@4.17.21", License: "MIT"},
		githubtest.SBOMPackage{Name: "npm:@babel/core", Version: "7.24.0", PURL: "pkg:npm/%40babel/core@7.24.0"},
		githubtest.SBOMPackage{Name: "vendored-thing", Version: "1.0"},
	)
	c := newClient(t, f, fakeClock(), "t")
	sbom, err := c.RepositorySBOM(t.Context(), "acme/web")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name, version string
		purls         string
	}
	var got []row
	for _, p := range sbom.Packages {
		got = append(got, row{p.Name, p.Version, strings.Join(p.PURLs, " ")})
	}
	want := []row{
		{"com.github.acme/web", "main", "pkg:github/acme/web@main"},
		{"npm:lodash", "4.17.21", "pkg:npm/lodash@4.17.21"},
		{"npm:@babel/core", "7.24.0", "pkg:npm/%40babel/core@7.24.0"},
		{"vendored-thing", "1.0", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("packages\n got %v\nwant %v", got, want)
	}
	if sbom.Name != "com.github.acme/web" {
		t.Errorf("name %q", sbom.Name)
	}
}

func TestCodeOwners(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"in .github", map[string]string{".github/CODEOWNERS": "*  @alice @acme/security\n"}, []string{"alice", "acme/security"}},
		{".github wins over the root and docs", map[string]string{
			".github/CODEOWNERS": "* @first\n", "CODEOWNERS": "* @second\n", "docs/CODEOWNERS": "* @third\n",
		}, []string{"first"}},
		{"the root before docs", map[string]string{"CODEOWNERS": "* @second\n", "docs/CODEOWNERS": "* @third\n"}, []string{"second"}},
		{"in docs", map[string]string{"docs/CODEOWNERS": "* @third\n"}, []string{"third"}},
		{"the last default rule wins; comments, e-mail and other rules ignored", map[string]string{"CODEOWNERS": strings.Join([]string{
			"# Default owners",
			"*       @old-owner",
			"*.js    @frontend",
			"/docs/  @writers",
			"*       @bob sec@acme.example @acme/core  # the core team",
			"#*      @commented-out",
			"*       @bad!name @carol",
		}, "\n")}, []string{"carol"}},
		{"a default rule without owners", map[string]string{"CODEOWNERS": "* @alice\n*\n"}, nil},
		{"no default rule", map[string]string{"CODEOWNERS": "*.go @gophers\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := githubtest.New(t, githubtest.Options{})
			for path, content := range tt.files {
				f.SeedFile("acme/web", path, content)
			}
			c := newClient(t, f, fakeClock(), "t")
			got, err := c.CodeOwners(t.Context(), "acme/web")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("owners %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("none", func(t *testing.T) {
		f := githubtest.New(t, githubtest.Options{})
		f.AddRepo("acme/web")
		c := newClient(t, f, fakeClock(), "t")
		_, err := c.CodeOwners(t.Context(), "acme/web")
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no CODEOWNERS in acme/web") || !strings.Contains(err.Error(), "contents:read") {
			t.Errorf("err = %v, want ErrNotFound naming the permission", err)
		}
		if n := len(f.RequestsFor(githubtest.OpGetContent)); n != 3 {
			t.Errorf("%d requests, want one per place GitHub looks", n)
		}
	})
	t.Run("a refusal stops the search", func(t *testing.T) {
		f := githubtest.New(t, githubtest.Options{})
		f.SeedFile("acme/web", "CODEOWNERS", "* @alice\n")
		f.Fail(githubtest.OpGetContent, githubtest.Fault{Status: 403})
		c := newClient(t, f, fakeClock(), "t")
		if _, err := c.CodeOwners(t.Context(), "acme/web"); !errors.Is(err, ErrPermission) || errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want the 403", err)
		}
		if n := len(f.RequestsFor(githubtest.OpGetContent)); n != 1 {
			t.Errorf("%d requests after a 403, want 1", n)
		}
	})
}

// TestNewCallsClassifyErrors runs GitHub's error answers through each call
// added for issue 7: every one names what it tried and the permission it
// needs, carries GitHub's 422 messages, and waits as GitHub asks.
func TestNewCallsClassifyErrors(t *testing.T) {
	calls := []struct {
		name, operation string
		what, perm      string
		call            func(ctx context.Context, c *Client, ghsa string) error
	}{
		{"create", githubtest.OpCreateAdvisory, "create a security advisory in acme/web", "repository_advisories:write",
			func(ctx context.Context, c *Client, _ string) error {
				_, err := c.CreateAdvisory(ctx, "acme/web", draft())
				return err
			}},
		{"cve", githubtest.OpRequestCVE, "request a CVE for security advisory", "repository_advisories:write",
			func(ctx context.Context, c *Client, ghsa string) error { return c.RequestCVE(ctx, "acme/web", ghsa) }},
		{"fork", githubtest.OpCreateFork, "create a private fork for security advisory", "repository_advisories:write",
			func(ctx context.Context, c *Client, ghsa string) error {
				_, err := c.CreatePrivateFork(ctx, "acme/web", ghsa)
				return err
			}},
		{"sbom", githubtest.OpExportSBOM, "export the dependency graph (SBOM) of acme/web", "contents:read",
			func(ctx context.Context, c *Client, _ string) error {
				_, err := c.RepositorySBOM(ctx, "acme/web")
				return err
			}},
		{"org repos", githubtest.OpListOrgRepos, "list the repositories of organisation acme", "metadata:read",
			func(ctx context.Context, c *Client, _ string) error {
				_, err := c.ListOrgRepositories(ctx, "acme")
				return err
			}},
		{"codeowners", githubtest.OpGetContent, "read .github/CODEOWNERS in acme/web", "contents:read",
			func(ctx context.Context, c *Client, _ string) error {
				_, err := c.CodeOwners(ctx, "acme/web")
				return err
			}},
	}
	faults := []struct {
		name  string
		fault githubtest.Fault
		is    []error
		msg   []string
		wait  time.Duration
	}{
		{"422", githubtest.Fault{Status: 422, Errors: []string{"Vulnerabilities package name is invalid."}},
			[]error{ErrValidation}, []string{"GitHub refused to", "Validation Failed", "Vulnerabilities package name is invalid."}, 0},
		{"403", githubtest.Fault{Status: 403},
			[]error{ErrPermission}, []string{"Vigil's token cannot", "Resource not accessible by integration"}, 0},
		{"429", githubtest.Fault{Status: 429, RetryAfter: 42 * time.Second},
			[]error{ErrRateLimited, bot.ErrRateLimited}, []string{"rate limit"}, 42 * time.Second},
		{"500", githubtest.Fault{Status: 500}, []error{ErrTemporary, bot.ErrUnavailable}, []string{"temporarily unavailable"}, 0},
	}
	for _, call := range calls {
		for _, ft := range faults {
			t.Run(call.name+"/"+ft.name, func(t *testing.T) {
				// The fake's own rules (a 422 for a private repository)
				// are not under test here: the injected fault is.
				f := githubtest.New(t, githubtest.Options{})
				a := f.SeedAdvisory("acme/web", githubtest.Advisory{State: "draft"})
				f.SeedFile("acme/web", ".github/CODEOWNERS", "* @alice\n")
				c := newClient(t, f, fakeClock(), secretToken)
				f.Fail(call.operation, ft.fault)
				err := call.call(t.Context(), c, a.GHSAID)
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range ft.is {
					if !errors.Is(err, want) {
						t.Errorf("errors.Is(%v, %v) = false", err, want)
					}
				}
				msgs := ft.msg
				if ft.fault.Status != 429 {
					msgs = append(msgs, call.what)
				}
				if ft.fault.Status == 403 {
					msgs = append(msgs, "needs the "+call.perm+" permission")
				}
				for _, m := range msgs {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q lacks %q", err, m)
					}
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error shows the token: %v", err)
				}
				var rl *RateLimitError
				if ft.wait > 0 {
					if !errors.As(err, &rl) || rl.RetryAfter() != ft.wait {
						t.Errorf("RetryAfter = %v, want %s", rl, ft.wait)
					}
					// The retry is the caller's, and goes out at once.
					if err := call.call(t.Context(), c, a.GHSAID); err != nil {
						t.Errorf("retry: %v", err)
					}
				} else if errors.As(err, &rl) {
					t.Errorf("not a rate limit, got %v", rl)
				}
			})
		}
	}
}

func TestSBOMPermissionErrorSaysTheGraphMayBeOff(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	f.AddRepo("acme/web")
	f.Fail(githubtest.OpExportSBOM, githubtest.Fault{Status: 404})
	c := newClient(t, f, fakeClock(), "t")
	_, err := c.RepositorySBOM(t.Context(), "acme/web")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "contents:read") || !strings.Contains(err.Error(), "dependency graph is off") {
		t.Errorf("err = %v, want a 404 naming contents:read and the dependency graph", err)
	}
}

func TestNewCallsCheckArguments(t *testing.T) {
	f := githubtest.New(t, githubtest.Options{})
	c := newClient(t, f, fakeClock(), "t")
	for _, call := range []func() error{
		func() error { return c.RequestCVE(t.Context(), "acme/web", "../../x") },
		func() error { return c.RequestCVE(t.Context(), "acme", "GHSA-2345-6789-cfgh") },
		func() error {
			_, err := c.CreatePrivateFork(t.Context(), "acme/web", "GHSA-1111-1111-1111")
			return err
		},
		func() error { _, err := c.RepositorySBOM(t.Context(), "acme/web/x"); return err },
		func() error { _, err := c.CodeOwners(t.Context(), "acme"); return err },
		func() error { _, err := c.ListOrgRepositories(t.Context(), "-acme"); return err },
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad arguments", n)
	}
}
