package githubtest

import (
	"encoding/json"
	"strings"
	"time"
)

// ReportedEvent is the body of a repository_advisory delivery with action
// "reported", shaped as GitHub sends it (the webhook schema
// "webhook-repository-advisory-reported" in the subset checks it; see
// Fake.ValidateSchema). a is typically the result of Fake.SeedAdvisory.
func ReportedEvent(repo string, a Advisory, sender string) []byte {
	fillArrays(&a)
	ev := struct {
		Action     string         `json:"action"`
		Advisory   Advisory       `json:"repository_advisory"`
		Repository map[string]any `json:"repository"`
		Sender     *User          `json:"sender"`
	}{"reported", a, WebhookRepository(repo), NewUser(sender)}
	data, err := json.Marshal(ev)
	if err != nil {
		panic(err) // static types: cannot happen
	}
	return data
}

// WebhookRepository is a repository as webhook payloads describe it, with
// all the fields GitHub's schema requires.
func WebhookRepository(fullName string) map[string]any {
	owner, name, _ := strings.Cut(fullName, "/")
	api := "https://api.github.com/repos/" + fullName
	web := "https://github.com/" + fullName
	ts := time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
	u := NewUser(owner)
	u.Type = "Organization"
	r := map[string]any{
		"id": u.ID + 1, "node_id": "R_" + name, "name": name, "full_name": fullName,
		"owner": u, "private": false, "fork": false, "description": "The " + name + " project",
		"html_url": web, "url": api, "homepage": nil, "language": "Go", "mirror_url": nil,
		"license": nil, "default_branch": "main", "archived": false, "disabled": false,
		"has_downloads": true, "has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
		"forks": 3, "forks_count": 3, "open_issues": 7, "open_issues_count": 7, "size": 2048,
		"stargazers_count": 42, "watchers": 42, "watchers_count": 42,
		"created_at": ts, "updated_at": ts, "pushed_at": ts,
		"clone_url": web + ".git", "git_url": "git://github.com/" + fullName + ".git",
		"ssh_url": "git@github.com:" + fullName + ".git", "svn_url": web,
	}
	for _, k := range []string{
		"archive_url:/{archive_format}{/ref}", "assignees_url:/assignees{/user}", "blobs_url:/git/blobs{/sha}",
		"branches_url:/branches{/branch}", "collaborators_url:/collaborators{/collaborator}",
		"comments_url:/comments{/number}", "commits_url:/commits{/sha}", "compare_url:/compare/{base}...{head}",
		"contents_url:/contents/{+path}", "contributors_url:/contributors", "deployments_url:/deployments",
		"downloads_url:/downloads", "events_url:/events", "forks_url:/forks", "git_commits_url:/git/commits{/sha}",
		"git_refs_url:/git/refs{/sha}", "git_tags_url:/git/tags{/sha}", "hooks_url:/hooks",
		"issue_comment_url:/issues/comments{/number}", "issue_events_url:/issues/events{/number}",
		"issues_url:/issues{/number}", "keys_url:/keys{/key_id}", "labels_url:/labels{/name}",
		"languages_url:/languages", "merges_url:/merges", "milestones_url:/milestones{/number}",
		"notifications_url:/notifications{?since,all,participating}", "pulls_url:/pulls{/number}",
		"releases_url:/releases{/id}", "stargazers_url:/stargazers", "statuses_url:/statuses/{sha}",
		"subscribers_url:/subscribers", "subscription_url:/subscription", "tags_url:/tags",
		"teams_url:/teams", "trees_url:/git/trees{/sha}",
	} {
		key, suffix, _ := strings.Cut(k, ":")
		r[key] = api + suffix
	}
	return r
}
