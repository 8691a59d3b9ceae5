package report

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

// The form behind `report new` and the checks of its answers.

func (r *Reports) newReportForm() *bot.Form {
	return &bot.Form{
		ID:        formNew,
		Title:     "New report",
		Intro:     "Filing a report by hand. Answer each question; `cancel` stops without saving.",
		Sensitive: true,
		Fields: []bot.FormField{
			// The intake API's limits, so a report filed by hand fits the same rules.
			{Name: "title", Label: "Title", Help: "One line: what is vulnerable, and how.", MaxChars: intake.MaxTitleChars},
			{Name: "description", Label: "Description", Kind: bot.FieldLongText, Help: "What the reporter told us.", MaxChars: intake.MaxDescriptionChars},
			{Name: "reporter", Label: "Reporter's name", Optional: true, MaxChars: intake.MaxNameChars},
			{Name: "email", Label: "Reporter's email", Optional: true, MaxChars: intake.MaxEmailChars, Validate: func(s string) error {
				if _, err := mail.ParseAddress(s); err != nil {
					return fmt.Errorf("%q is not an email address", s)
				}
				return nil
			}},
			{Name: "credit", Label: "Does the reporter want credit?", Kind: bot.FieldChoice, Options: []bot.Option{{Value: "yes", Label: "Yes"}, {Value: "no", Label: "No"}}},
			{Name: "repos", Label: "Affected repositories", Optional: true, Help: "owner/repo, separated by commas, if known.", Validate: validRepos},
		},
		Submit: func(ctx context.Context, req *bot.Request) error {
			v := req.Form.Values
			in := intake.Incoming{
				Source: intake.SourceManual,
				// One report per filling of the form: two people (or one)
				// filing in the same instant get two reports, and a
				// submission handled twice is still one.
				SourceID:    "form:" + req.Form.SessionID,
				Title:       bot.Untrusted(v["title"]),
				Description: bot.Untrusted(v["description"]),
				Reporter:    intake.Reporter{Name: bot.Untrusted(v["reporter"]), Email: v["email"], Credit: v["credit"] == "yes"},
				Received:    req.Now(),
			}
			for _, repo := range strings.Split(v["repos"], ",") {
				if repo = strings.TrimSpace(repo); repo != "" {
					in.Repositories = append(in.Repositories, repo)
				}
			}
			// Typed in chat by a person on the team, but often pasted from a
			// stranger's mail: cleaned like every other source.
			intake.Normalize(&in)
			res, err := r.Receive(ctx, in)
			if err != nil {
				return err
			}
			if err := req.Record(ctx, "report.new", res.ReportID, "filed by hand"); err != nil {
				return err
			}
			return req.Replyf(ctx, "Filed %s; its thread is in the private room.", res.ReportID)
		},
	}
}

func validRepos(s string) error {
	for _, repo := range strings.Split(s, ",") {
		repo = strings.TrimSpace(repo)
		if repo == "" {
			continue
		}
		if err := validRepo(repo); err != nil {
			return err
		}
	}
	return nil
}

// validRepo checks one owner/repo as GitHub spells them: an owner of
// letters, digits and '-' (at most 39), a name of letters, digits, '.',
// '_' and '-' (at most 100, not "." or ".."). Anything else in a
// repository field is a typo or an attempt to smuggle text into chat.
func validRepo(repo string) error {
	owner, name, ok := strings.Cut(repo, "/")
	valid := ok && owner != "" && len(owner) <= 39 && name != "" && len(name) <= 100 && name != "." && name != ".."
	for _, c := range owner {
		valid = valid && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
	}
	for _, c := range name {
		valid = valid && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}
	if !valid {
		return fmt.Errorf("%q is not owner/repo (such as acme/web)", intake.CleanLine(repo))
	}
	return nil
}
