package main

import (
	"context"

	"github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/commands/advisory"
)

// githubAdvisories adapts the GitHub adapter's client to what the advisory
// feature asks of GitHub. The feature declares its own small interface and
// types, so it never imports an adapter; this shim is the one place the
// two meet.
type githubAdvisories struct{ c *github.Client }

var _ advisory.GitHub = githubAdvisories{}

func (g githubAdvisories) CreateDraft(ctx context.Context, repo string, d advisory.Draft) (advisory.Created, error) {
	in := github.AdvisoryCreate{
		Summary:     d.Summary,
		Description: d.Description,
		CWEIDs:      d.CWEs,
		CVSSVector:  d.CVSSVector,
		Severity:    d.Severity,
	}
	for _, p := range d.Packages {
		in.Vulnerabilities = append(in.Vulnerabilities, github.Vulnerability{
			Package:                github.Package{Ecosystem: p.Ecosystem, Name: p.Name},
			VulnerableVersionRange: p.VulnerableRange,
			PatchedVersions:        p.PatchedVersions,
		})
	}
	for _, c := range d.Credits {
		in.Credits = append(in.Credits, github.Credit{Login: c.Login, Type: c.Type})
	}
	a, err := g.c.CreateAdvisory(ctx, repo, in)
	if err != nil {
		return advisory.Created{}, err
	}
	return advisory.Created{GHSA: a.GHSAID, URL: a.HTMLURL, State: a.State}, nil
}

func (g githubAdvisories) RequestCVE(ctx context.Context, repo, ghsa string) error {
	return g.c.RequestCVE(ctx, repo, ghsa)
}

func (g githubAdvisories) CreateFork(ctx context.Context, repo, ghsa string) (string, error) {
	f, err := g.c.CreatePrivateFork(ctx, repo, ghsa)
	if err != nil {
		return "", err
	}
	return f.HTMLURL, nil
}

func (g githubAdvisories) Advisory(ctx context.Context, repo, ghsa string) (advisory.Status, error) {
	a, err := g.c.GetAdvisory(ctx, repo, ghsa)
	if err != nil {
		return advisory.Status{}, err
	}
	return advisory.Status{State: a.State, CVE: a.CVEID, URL: a.HTMLURL}, nil
}

func (g githubAdvisories) OrgRepos(ctx context.Context, org string) ([]string, error) {
	return g.c.ListOrgRepositories(ctx, org)
}

func (g githubAdvisories) SBOM(ctx context.Context, repo string) ([]advisory.Package, error) {
	s, err := g.c.RepositorySBOM(ctx, repo)
	if err != nil {
		return nil, err
	}
	out := make([]advisory.Package, 0, len(s.Packages))
	for _, p := range s.Packages {
		pkg := advisory.Package{Name: p.Name, Version: p.Version}
		if len(p.PURLs) > 0 {
			pkg.PURL = p.PURLs[0]
		}
		out = append(out, pkg)
	}
	return out, nil
}
