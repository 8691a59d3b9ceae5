package github

import (
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

// Incoming turns an advisory in triage into the neutral report the intake
// Sink files. Its SourceID is the GHSA id, so the webhook and the poller
// delivering the same report make one report. sender is the webhook's
// sender login, used when the advisory names no author.
func Incoming(a *Advisory, repo Repo, sender string, received time.Time) intake.Incoming {
	in := intake.Incoming{
		Source:       intake.SourceGitHub,
		SourceID:     a.GHSAID,
		Title:        bot.Untrusted(a.Summary),
		Description:  bot.Untrusted(a.Description),
		Reporter:     reporter(a, sender),
		Received:     received,
		Repositories: []string{repo.String()},
		GitHubRepo:   repo.String(),
		GHSA:         a.GHSAID,
		URL:          a.HTMLURL,
	}
	// An advisory's summary and description are a stranger's text: cleaned
	// like every other source's before the sink sees them.
	intake.Normalize(&in)
	return in
}

// reporter picks who reported: the advisory's author (for a private
// report, the person who submitted it), else a credit of type reporter or
// finder, else the webhook's sender. Credit is whether that person is
// among the credits, which is how GitHub records "credit me".
func reporter(a *Advisory, sender string) intake.Reporter {
	login := ""
	switch {
	case a.Author != nil && a.Author.Login != "":
		login = a.Author.Login
	default:
		for _, c := range a.Credits {
			if c.Type == "reporter" || c.Type == "finder" {
				login = c.Login
				break
			}
		}
		if login == "" {
			for _, c := range a.CreditsDetailed {
				if c.Type == "reporter" || c.Type == "finder" {
					login = c.User.Login
					break
				}
			}
		}
		if login == "" {
			login = sender
		}
	}
	r := intake.Reporter{GitHub: login, Name: bot.Untrusted(login)}
	for _, c := range a.Credits {
		if c.Login == login && login != "" {
			r.Credit = true
		}
	}
	for _, c := range a.CreditsDetailed {
		if c.User.Login == login && login != "" && c.State != "declined" {
			r.Credit = true
		}
	}
	return r
}
