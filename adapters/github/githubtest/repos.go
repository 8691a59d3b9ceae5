package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// SeedRepo makes a repository exist (as AddRepo does) with r's settings,
// replacing earlier ones.
func (f *Fake) SeedRepo(fullName string, r Repository) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	f.repo(fullName, true).Repository = r
}

// SeedSBOM sets the repository's dependency graph (created if need be):
// its SBOM export lists the repository itself, then pkgs.
func (f *Fake) SeedSBOM(repo string, pkgs ...SBOMPackage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repo(repo, true).sbom = append([]SBOMPackage(nil), pkgs...)
}

// SeedFile puts a file on the repository's default branch (created if
// need be), for the contents API: a CODEOWNERS, for instance.
func (f *Fake) SeedFile(repo, path, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repo(repo, true).files[strings.TrimPrefix(path, "/")] = content
}

// multiSegmentPaths lets a path parameter GitHub marks x-multi-segment
// (the contents API's {path}) span slashes, as GitHub's router does:
// gorilla/mux stops a {name} at the first "/" unless given a pattern.
func multiSegmentPaths(doc *openapi3.T) {
	for _, key := range doc.Paths.Keys() {
		item := doc.Paths.Value(key)
		newKey := key
		for _, o := range item.Operations() {
			for _, p := range o.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInPath && p.Value.Extensions["x-multi-segment"] == true {
					newKey = strings.ReplaceAll(newKey, "{"+p.Value.Name+"}", "{"+p.Value.Name+":.+}")
				}
			}
		}
		if newKey != key {
			doc.Paths.Delete(key)
			doc.Paths.Set(newKey, item)
		}
	}
}

// listOrgRepos serves GET /orgs/{org}/repos with GitHub's page-number
// pagination (Link rel="next" and rel="last" with page=N).
func (f *Fake) listOrgRepos(r *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	q := r.URL.Query()
	f.mu.Lock()
	org := strings.ToLower(params["org"])
	known := f.orgs[org]
	var repos []*repoState
	for _, rs := range f.repos {
		if strings.ToLower(rs.owner) != org {
			continue
		}
		switch q.Get("type") {
		case "public":
			if rs.Private {
				continue
			}
		case "private":
			if !rs.Private {
				continue
			}
		case "forks":
			continue // the fake's repositories are not forks
		}
		repos = append(repos, rs)
	}
	sortKey := q.Get("sort")
	asc := q.Get("direction") == "asc" || (q.Get("direction") == "" && sortKey == "full_name")
	sort.Slice(repos, func(i, j int) bool {
		a, b := repos[i], repos[j]
		if !asc {
			a, b = b, a
		}
		if sortKey == "full_name" {
			return strings.ToLower(a.owner+"/"+a.name) < strings.ToLower(b.owner+"/"+b.name)
		}
		return a.created < b.created // created, updated, pushed: all creation order here
	})
	var all []map[string]any
	for _, rs := range repos {
		all = append(all, minimalRepository(rs.owner+"/"+rs.name, rs.Repository, f.opts.Now()))
	}
	f.mu.Unlock()
	if !known {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	size, page := 30, 1
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		size = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	last := max(1, (len(all)+size-1)/size)
	start := min((page-1)*size, len(all))
	end := min(start+size, len(all))
	h := http.Header{}
	if page < last {
		link := func(n int, rel string) string {
			u := *r.URL
			uq := u.Query()
			uq.Set("page", strconv.Itoa(n))
			u.RawQuery = uq.Encode()
			return fmt.Sprintf(`<%s%s>; rel="%s"`, f.api.URL(), u.RequestURI(), rel)
		}
		h.Set("Link", link(page+1, "next")+", "+link(last, "last"))
	}
	return http.StatusOK, h, append([]map[string]any{}, all[start:end]...)
}

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// exportSBOM answers with the repository's dependency graph as SPDX 2.3,
// shaped as GitHub exports it: the repository is a package too, and the
// document describes it.
func (f *Fake) exportSBOM(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	f.mu.Lock()
	rs := f.repo(params["owner"]+"/"+params["repo"], false)
	var pkgs []SBOMPackage
	var full, branch string
	if rs != nil {
		pkgs = append(pkgs, rs.sbom...)
		full, branch = rs.owner+"/"+rs.name, rs.DefaultBranch
	}
	f.mu.Unlock()
	if rs == nil {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	type ref struct {
		Category string `json:"referenceCategory"`
		Locator  string `json:"referenceLocator"`
		Type     string `json:"referenceType"`
	}
	type pkg struct {
		SPDXID           string `json:"SPDXID"`
		Name             string `json:"name"`
		VersionInfo      string `json:"versionInfo"`
		DownloadLocation string `json:"downloadLocation"`
		FilesAnalyzed    bool   `json:"filesAnalyzed"`
		LicenseConcluded string `json:"licenseConcluded,omitempty"`
		ExternalRefs     []ref  `json:"externalRefs,omitempty"`
	}
	type rel struct {
		Type    string `json:"relationshipType"`
		Element string `json:"spdxElementId"`
		Related string `json:"relatedSpdxElement"`
	}
	rootID := "SPDXRef-github-" + spdxIDUnsafe.ReplaceAllString(strings.ReplaceAll(full, "/", "-"), "-") + "-" + branch
	packages := []pkg{{
		SPDXID: rootID, Name: "com.github." + full, VersionInfo: branch,
		DownloadLocation: "git+https://github.com/" + full,
		ExternalRefs:     []ref{{"PACKAGE-MANAGER", "pkg:github/" + full + "@" + branch, "purl"}},
	}}
	relationships := []rel{{"DESCRIBES", "SPDXRef-DOCUMENT", rootID}}
	for i, p := range pkgs {
		id := fmt.Sprintf("SPDXRef-%s-%s-%d", spdxIDUnsafe.ReplaceAllString(p.Name, "-"), spdxIDUnsafe.ReplaceAllString(p.Version, "-"), i+1)
		sp := pkg{SPDXID: id, Name: p.Name, VersionInfo: p.Version, DownloadLocation: "NOASSERTION", LicenseConcluded: p.License}
		if p.PURL != "" {
			sp.ExternalRefs = []ref{{"PACKAGE-MANAGER", p.PURL, "purl"}}
		}
		packages = append(packages, sp)
		relationships = append(relationships, rel{"DEPENDS_ON", rootID, id})
	}
	now := f.opts.Now().UTC().Format(time.RFC3339)
	return http.StatusOK, nil, map[string]any{"sbom": map[string]any{
		"SPDXID": "SPDXRef-DOCUMENT", "spdxVersion": "SPDX-2.3",
		"creationInfo":      map[string]any{"created": now, "creators": []string{"Tool: GitHub.com-Dependency-Graph"}},
		"name":              "com.github." + full,
		"dataLicense":       "CC0-1.0",
		"documentNamespace": "https://spdx.org/spdxdocs/protobom/" + strings.ReplaceAll(full, "/", "-"),
		"packages":          packages,
		"relationships":     relationships,
	}}
}

// getContent serves a seeded file as GitHub's content-file, base64 wrapped
// at 60 columns as GitHub sends it. Directories are not served (404).
func (f *Fake) getContent(_ *http.Request, params map[string]string, _ []byte) (int, http.Header, any) {
	path := params["path"]
	f.mu.Lock()
	rs := f.repo(params["owner"]+"/"+params["repo"], false)
	var content string
	var ok bool
	var full, branch string
	if rs != nil {
		content, ok = rs.files[path]
		full, branch = rs.owner+"/"+rs.name, rs.DefaultBranch
	}
	f.mu.Unlock()
	if !ok {
		return http.StatusNotFound, nil, basicError("Not Found")
	}
	enc := base64.StdEncoding.EncodeToString([]byte(content))
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60] + "\n")
		enc = enc[60:]
	}
	b.WriteString(enc + "\n")
	sha := fmt.Sprintf("%040x", len(content)*7919+len(path))
	api := "https://api.github.com/repos/" + full
	self := api + "/contents/" + path + "?ref=" + branch
	html := "https://github.com/" + full + "/blob/" + branch + "/" + path
	git := api + "/git/blobs/" + sha
	return http.StatusOK, nil, map[string]any{
		"type": "file", "encoding": "base64", "size": len(content),
		"name": path[strings.LastIndex(path, "/")+1:], "path": path, "content": b.String(), "sha": sha,
		"url": self, "git_url": git, "html_url": html,
		"download_url": "https://raw.githubusercontent.com/" + full + "/" + branch + "/" + path,
		"_links":       map[string]any{"self": self, "git": git, "html": html},
	}
}

// simpleRepository is GitHub's simple-repository (an advisory's
// private_fork).
func simpleRepository(fullName string, private bool) map[string]any {
	r := WebhookRepository(fullName)
	keep := map[string]any{"private": private}
	for _, k := range []string{"id", "node_id", "name", "full_name", "owner", "html_url", "description", "fork", "url"} {
		keep[k] = r[k]
	}
	for k, v := range r {
		if strings.HasSuffix(k, "_url") && k != "html_url" && k != "clone_url" && k != "git_url" && k != "ssh_url" && k != "svn_url" && k != "mirror_url" {
			keep[k] = v
		}
	}
	return keep
}

// minimalRepository is GitHub's minimal-repository (organisation listings).
func minimalRepository(fullName string, s Repository, now time.Time) map[string]any {
	r := WebhookRepository(fullName)
	r["private"] = s.Private
	r["archived"] = s.Archived
	r["default_branch"] = s.DefaultBranch
	r["visibility"] = map[bool]string{true: "private", false: "public"}[s.Private]
	ts := now.UTC().Format(time.RFC3339)
	r["created_at"], r["updated_at"], r["pushed_at"] = ts, ts, ts
	return r
}

// fullRepository is GitHub's full-repository (a new fork).
func fullRepository(fullName string, s Repository, now time.Time) map[string]any {
	r := minimalRepository(fullName, s, now)
	r["has_discussions"] = false
	r["network_count"] = 0
	r["subscribers_count"] = 0
	return r
}
