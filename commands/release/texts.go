package release

import (
	"embed"

	"github.com/vigil-sec/vigil/bot/texts"
)

// releaseTexts are the release's mail bodies and long chat texts, one
// template file each under templates/. Mail takes raw text; none of these
// texts holds anything from outside but the report's title and description
// in the notice, which go in raw (a string, never a bot.Untrusted).
//
//go:embed templates/*.tmpl
var releaseFiles embed.FS

var releaseTexts = texts.MustParse(releaseFiles, "templates/*.tmpl")

// announceMail fills the announcement to the list: the chat
// announcement's text and its facts.
type announceMail struct {
	Announcement string
	Repos        string
	Date         string
	Severity     string
}

// noticeMail fills the advance notice to distributors under embargo.
// Empty Versions, Remedy and Patch read "to follow".
type noticeMail struct {
	ID          string
	Title       string
	Description string
	Repos       string
	Severity    string
	Versions    string
	Remedy      string
	Patch       string
	PublicAt    string
}

// answerText fills the answer to the announcement (in chat, and by mail).
type answerText struct {
	Advisories []answeredAdvisory
	Fixes      []string // URLs of the merged pull requests
}

type answeredAdvisory struct {
	ID  string // "GHSA-… (CVE-…)"
	URL string
}

// publicDM fills the DM at the public time to merge the fix.
type publicDM struct {
	Repos    string
	PublicAt string
	ToMerge  []string // labels of the merge steps not yet done
	Window   string
}
