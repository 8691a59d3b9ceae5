package incident

import (
	"embed"

	"github.com/vigil-sec/vigil/bot/texts"
)

// incidentTexts holds the write-up's Markdown (templates/writeup.md.tmpl)
// and the question before publishing it. The write-up is GitHub Markdown,
// not chat: every field of writeupDoc is raw text, a string and never a
// bot.Untrusted.
//
//go:embed templates/*.tmpl
var incidentFiles embed.FS

var incidentTexts = texts.MustParse(incidentFiles, "templates/*.tmpl")

// writeupDoc fills the write-up: its sections in order, and the facts the
// generated ones (summary, timeline, evidence) are made of.
type writeupDoc struct {
	Title    string
	Authors  string // display names, joined; empty when nobody is named
	Sections []writeupSection

	Opened     string // stamp with the date
	Resolved   bool
	ResolvedOn string // stamp with the date
	Lasted     string // from opened to resolved

	// SeveralDays: the timeline spans more than one UTC day, so each
	// line shows its date; otherwise the one Day is said once.
	SeveralDays   bool
	Day           string
	Timeline      []writeupLine
	ResolvedStamp string // the timeline's last line, as its lines
	Evidence      []string
}

type writeupSection struct {
	Key, Title string
	// Written: the team wrote Text; otherwise the section is generated
	// or shows Placeholder, which the scan finds.
	Written     bool
	Text        string
	Placeholder string
}

type writeupLine struct {
	Stamp, Text string
}

// publishQuestion fills the question before publishing: the scan's
// findings (or that there are none) and what publishing does.
type publishQuestion struct {
	// Changed: --confirm was given but the write-up is not the one whose
	// scan was shown.
	Changed     bool
	Findings    []Finding
	Label       string
	PinnedUntil string
	Prefix      string // the adapter's command prefix, for the preview command
}
