package github

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// SBOM is a repository's dependency graph as GitHub exports it (SPDX 2.3),
// reduced to what Vigil matches on: the packages and their purls.
type SBOM struct {
	// Name is the document's name (GitHub uses the repository's).
	Name     string
	Packages []SBOMPackage
}

// SBOMPackage is one package of an SBOM. GitHub lists the repository
// itself among them (purl pkg:github/owner/name@ref).
type SBOMPackage struct {
	Name    string
	Version string
	// PURLs are the package's package URLs ("pkg:npm/lodash@4.17.21"),
	// usually one; a package GitHub could not identify has none.
	PURLs []string
}

// spdxDocument is the SPDX JSON GitHub answers with, the fields Vigil reads.
type spdxDocument struct {
	SBOM struct {
		Name     string `json:"name"`
		Packages []struct {
			Name         string `json:"name"`
			VersionInfo  string `json:"versionInfo"`
			ExternalRefs []struct {
				ReferenceCategory string `json:"referenceCategory"`
				ReferenceType     string `json:"referenceType"`
				ReferenceLocator  string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	} `json:"sbom"`
}

// RepositorySBOM exports the repository's dependency graph and returns its
// packages with their purls, to find the repositories that depend on a
// vulnerable package.
func (c *Client) RepositorySBOM(ctx context.Context, fullName string) (SBOM, error) {
	repo, err := ParseRepo(fullName)
	if err != nil {
		return SBOM{}, err
	}
	o := op{what: "export the dependency graph (SBOM) of " + repo.String(), permission: permContentsRead,
		hint: "GitHub also refuses when the repository's dependency graph is off"}
	var doc spdxDocument
	if _, err := c.do(ctx, o, http.MethodGet, "repos/"+repo.Owner+"/"+repo.Name+"/dependency-graph/sbom", nil, &doc); err != nil {
		return SBOM{}, err
	}
	out := SBOM{Name: doc.SBOM.Name, Packages: make([]SBOMPackage, 0, len(doc.SBOM.Packages))}
	for _, p := range doc.SBOM.Packages {
		pkg := SBOMPackage{Name: p.Name, Version: p.VersionInfo}
		for _, ref := range p.ExternalRefs {
			// SPDX 2.3 spells it "purl"; older documents used
			// "PACKAGE_MANAGER"/"PACKAGE-MANAGER" categories with it.
			if strings.EqualFold(ref.ReferenceType, "purl") && strings.HasPrefix(ref.ReferenceLocator, "pkg:") {
				pkg.PURLs = append(pkg.PURLs, ref.ReferenceLocator)
			}
		}
		out.Packages = append(out.Packages, pkg)
	}
	return out, nil
}

// orgReposPerPage is the largest page GitHub serves for repository lists.
const orgReposPerPage = 100

// ListOrgRepositories lists the organisation's repositories that are not
// archived, as owner/name, sorted by name. Private ones are included when
// the token can see them.
func (c *Client) ListOrgRepositories(ctx context.Context, org string) ([]string, error) {
	if !ownerRE.MatchString(org) {
		return nil, fmt.Errorf("%w: want an organisation name, got %q", ErrInvalid, org)
	}
	o := op{what: "list the repositories of organisation " + org, permission: permMetadataRead}
	// Sorted by name, a repository created while Vigil pages through does
	// not shift the later pages (the default, newest first, would).
	q := url.Values{"type": {"all"}, "sort": {"full_name"}, "direction": {"asc"}, "per_page": {fmt.Sprint(orgReposPerPage)}}
	var names []string
	for page := 1; page <= maxPages; {
		q.Set("page", fmt.Sprint(page))
		var repos []struct {
			FullName string `json:"full_name"`
			Archived bool   `json:"archived"`
		}
		resp, err := c.do(ctx, o, http.MethodGet, "orgs/"+org+"/repos?"+q.Encode(), nil, &repos)
		if err != nil {
			return nil, err
		}
		for _, r := range repos {
			// Nothing is fixed or released from an archived repository.
			if !r.Archived {
				names = append(names, r.FullName)
			}
		}
		if resp.NextPage <= page {
			return names, nil
		}
		page = resp.NextPage
	}
	return nil, fmt.Errorf("%s: more than %d pages, giving up", o.what, maxPages)
}

// codeOwnersPaths are where GitHub looks for CODEOWNERS, in its order: the
// first found is the one in force.
var codeOwnersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// CodeOwners returns the owners of the repository's default rule (the
// last "*" line of its CODEOWNERS on the default branch): user logins
// ("alice") and teams ("acme/security"), without the "@". Owners given as
// e-mail addresses are left out: they name no account Vigil can reach.
// A repository without CODEOWNERS gives an error matching ErrNotFound.
func (c *Client) CodeOwners(ctx context.Context, fullName string) ([]string, error) {
	repo, err := ParseRepo(fullName)
	if err != nil {
		return nil, err
	}
	var notFound error
	for _, path := range codeOwnersPaths {
		o := op{what: "read " + path + " in " + repo.String(), permission: permContentsRead}
		var file struct {
			Type     string `json:"type"`
			Encoding string `json:"encoding"`
			Content  string `json:"content"`
		}
		_, err := c.do(ctx, o, http.MethodGet, "repos/"+repo.Owner+"/"+repo.Name+"/contents/"+path, nil, &file)
		if errors.Is(err, ErrNotFound) {
			notFound = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if file.Type != "file" || file.Encoding != "base64" {
			// A directory, a submodule, or a file over 1 MB (encoding
			// "none"); GitHub itself ignores a CODEOWNERS over 3 MB.
			return nil, fmt.Errorf("%s: not a readable file (type %q, encoding %q)", o.what, file.Type, file.Encoding)
		}
		// GitHub wraps the base64 at 60 columns.
		data, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\n", "", "\r", "").Replace(file.Content))
		if err != nil {
			return nil, fmt.Errorf("%s: decoding the file: %w", o.what, err)
		}
		return defaultOwners(string(data)), nil
	}
	return nil, fmt.Errorf("no CODEOWNERS in %s (looked for %s): %w", repo, strings.Join(codeOwnersPaths, ", "), notFound)
}

// defaultOwners parses a CODEOWNERS file and returns the owners of its
// default rule. As in .gitignore, the last matching line wins, so a later
// "*" line replaces an earlier one, and a "*" line without owners leaves
// the default unowned.
func defaultOwners(text string) []string {
	var owners []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || (fields[0] != "*" && fields[0] != "**" && fields[0] != "/**") {
			continue
		}
		owners = owners[:0:0]
		for _, f := range fields[1:] {
			// @login or @org/team; e-mail addresses are skipped.
			if name, ok := strings.CutPrefix(f, "@"); ok && validOwner(name) {
				owners = append(owners, name)
			}
		}
	}
	return owners
}

// validOwner accepts a login or an org/team slug, so nothing odd from a
// file anyone with write access can edit reaches a message or a lookup.
func validOwner(s string) bool {
	org, team, isTeam := strings.Cut(s, "/")
	if !isTeam {
		return ownerRE.MatchString(s)
	}
	return ownerRE.MatchString(org) && teamRE.MatchString(team)
}

var teamRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
