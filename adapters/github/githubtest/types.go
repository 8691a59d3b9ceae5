package githubtest

import (
	"encoding/json"
	"fmt"
)

// Advisory is a repository security advisory exactly as GitHub's API sends
// it: every field the description requires is present, with null where
// GitHub sends null, so the fake's answers pass response validation. Seed
// one with Fake.SeedAdvisory; fields left empty get GitHub-like defaults.
type Advisory struct {
	GHSAID             string            `json:"ghsa_id"`
	CVEID              *string           `json:"cve_id"`
	URL                string            `json:"url"`
	HTMLURL            string            `json:"html_url"`
	Summary            string            `json:"summary"`
	Description        *string           `json:"description"`
	Severity           *string           `json:"severity"`
	Author             *User             `json:"author"`
	Publisher          *User             `json:"publisher"`
	Identifiers        []Identifier      `json:"identifiers"`
	State              string            `json:"state"`
	CreatedAt          *string           `json:"created_at"`
	UpdatedAt          *string           `json:"updated_at"`
	PublishedAt        *string           `json:"published_at"`
	ClosedAt           *string           `json:"closed_at"`
	WithdrawnAt        *string           `json:"withdrawn_at"`
	Submission         *Submission       `json:"submission"`
	Vulnerabilities    []Vulnerability   `json:"vulnerabilities"`
	CVSS               *CVSS             `json:"cvss"`
	CWEs               []CWE             `json:"cwes"`
	CWEIDs             []string          `json:"cwe_ids"`
	Credits            []Credit          `json:"credits"`
	CreditsDetailed    []CreditDetailed  `json:"credits_detailed"`
	CollaboratingUsers []User            `json:"collaborating_users"`
	CollaboratingTeams []json.RawMessage `json:"collaborating_teams"`
	PrivateFork        json.RawMessage   `json:"private_fork"`
}

// Identifier is a GHSA or CVE id of an advisory.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Submission marks an advisory that began as a private report.
type Submission struct {
	Accepted bool `json:"accepted"`
}

// Vulnerability is an affected package.
type Vulnerability struct {
	Package                *Package `json:"package"`
	VulnerableVersionRange *string  `json:"vulnerable_version_range"`
	PatchedVersions        *string  `json:"patched_versions"`
	VulnerableFunctions    []string `json:"vulnerable_functions"`
}

// Package is an ecosystem and a package name.
type Package struct {
	Ecosystem string  `json:"ecosystem"`
	Name      *string `json:"name"`
}

// CVSS is a vector and its score.
type CVSS struct {
	VectorString *string  `json:"vector_string"`
	Score        *float64 `json:"score"`
}

// CWE is a weakness id and name.
type CWE struct {
	CWEID string `json:"cwe_id"`
	Name  string `json:"name"`
}

// Credit is a login credited with a kind (reporter, finder, ...).
type Credit struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

// CreditDetailed is a credit with the user and its acceptance.
type CreditDetailed struct {
	User  User   `json:"user"`
	Type  string `json:"type"`
	State string `json:"state"`
}

// User is GitHub's simple-user: all of its required fields.
type User struct {
	Login             string  `json:"login"`
	ID                int64   `json:"id"`
	NodeID            string  `json:"node_id"`
	AvatarURL         string  `json:"avatar_url"`
	GravatarID        *string `json:"gravatar_id"`
	URL               string  `json:"url"`
	HTMLURL           string  `json:"html_url"`
	FollowersURL      string  `json:"followers_url"`
	FollowingURL      string  `json:"following_url"`
	GistsURL          string  `json:"gists_url"`
	StarredURL        string  `json:"starred_url"`
	SubscriptionsURL  string  `json:"subscriptions_url"`
	OrganizationsURL  string  `json:"organizations_url"`
	ReposURL          string  `json:"repos_url"`
	EventsURL         string  `json:"events_url"`
	ReceivedEventsURL string  `json:"received_events_url"`
	Type              string  `json:"type"`
	SiteAdmin         bool    `json:"site_admin"`
}

// NewUser returns a user the way GitHub describes one, with a stable id
// derived from the login.
func NewUser(login string) *User {
	var id int64 = 1000
	for _, c := range login {
		id = id*31 + int64(c)
		id %= 1 << 40
	}
	api := "https://api.github.com/users/" + login
	return &User{
		Login: login, ID: id, NodeID: fmt.Sprintf("U_%d", id),
		AvatarURL:         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		GravatarID:        Ptr(""),
		URL:               api,
		HTMLURL:           "https://github.com/" + login,
		FollowersURL:      api + "/followers",
		FollowingURL:      api + "/following{/other_user}",
		GistsURL:          api + "/gists{/gist_id}",
		StarredURL:        api + "/starred{/owner}{/repo}",
		SubscriptionsURL:  api + "/subscriptions",
		OrganizationsURL:  api + "/orgs",
		ReposURL:          api + "/repos",
		EventsURL:         api + "/events{/privacy}",
		ReceivedEventsURL: api + "/received_events",
		Type:              "User",
	}
}

// Ptr returns a pointer to v, for the nullable fields.
func Ptr[T any](v T) *T { return &v }

// Repository is what Fake.SeedRepo sets on a repository beyond its name.
type Repository struct {
	// Private repositories are listed only with type=all|private, and
	// GitHub grants no CVE for their advisories.
	Private bool
	// Archived repositories are listed (with "archived": true).
	Archived bool
	// DefaultBranch, "main" unless set.
	DefaultBranch string
}

// SBOMPackage is a dependency in a repository's dependency graph, seeded
// with Fake.SeedSBOM.
type SBOMPackage struct {
	Name    string // as GitHub names it, e.g. "npm:lodash" or "lodash"
	Version string
	// PURL is the package URL, "pkg:npm/lodash@4.17.21"; empty for a
	// package GitHub could not identify (it then has no externalRefs).
	PURL string
	// License is the SPDX license expression, if known.
	License string
}
