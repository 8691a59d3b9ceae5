package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return "@" + s
}

func fmtTime(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }

// chatTime writes an instant for chat: each reader sees it in their zone.
func chatTime(t time.Time) string { return bot.TimeToken(t, fmtTime(t)) }

// assigneeMention names the assignee in chat, as a mention.
func assigneeMention(name string) string {
	if name == "" {
		return "nobody"
	}
	return bot.PersonToken(name)
}

func sourceText(rep *Report) string {
	switch rep.Source {
	case intake.SourceGitHub:
		return "GitHub private vulnerability reporting"
	case intake.SourceEmail:
		return "the security mailbox"
	case intake.SourceAPI:
		return "the intake API"
	case intake.SourceManual:
		return "a team member's form"
	}
	return string(rep.Source)
}

func reporterText(rep *Report) string {
	// Every part came from outside: the brackets around the address go
	// inside the untrusted run, so Slack never reads them as a link.
	rp := rep.Reporter
	var parts []string
	if rp.Name != "" {
		parts = append(parts, rp.Name.String())
	}
	if rp.Email != "" {
		parts = append(parts, bot.Untrusted("<"+rp.Email+">").String())
	}
	if rp.GitHub != "" {
		parts = append(parts, "GitHub "+bot.Untrusted("@"+rp.GitHub).String())
	}
	if len(parts) == 0 {
		return "anonymous"
	}
	s := strings.Join(parts, " ")
	if rp.Credit {
		s += " (wants credit)"
	}
	return s
}

// summary is the thread's root message.
func (r *Reports) summary(rep *Report) bot.Message {
	fields := []bot.Field{
		{Label: "Source", Value: sourceText(rep)},
		{Label: "Reporter", Value: reporterText(rep)},
		{Label: "Received", Value: chatTime(rep.Received)},
		ackField(rep),
		{Label: "Assignee", Value: assigneeMention(rep.Assignee)},
		{Label: "State", Value: string(rep.State)},
	}
	if len(rep.Repos) > 0 {
		fields = append(fields, bot.Field{Label: "Repositories", Value: bot.Untrusted(strings.Join(rep.Repos, ", ")).String()})
	}
	if rep.GHSA != "" {
		fields = append(fields, bot.Field{Label: "Advisory", Value: bot.Untrusted(rep.GitHubRepo + " " + rep.GHSA).String()})
	}
	if len(rep.Attachments) > 0 {
		var names []string
		for _, a := range rep.Attachments {
			n := fmt.Sprintf("%s (%s, %d bytes)", a.Name, bot.Untrusted(a.ContentType), a.Size)
			if a.Truncated {
				n += " [cut]"
			}
			names = append(names, n)
		}
		fields = append(fields, bot.Field{Label: "Attachments (not shown)", Value: strings.Join(names, "\n")})
	}
	text := summaryText(rep)
	for _, n := range rep.Notes {
		text += "\n⚠ " + n.String()
	}
	return bot.Message{
		Header:    rep.ID + ": " + rep.Title.Truncate(summaryTitleChars).String(),
		Text:      text,
		Fields:    fields,
		Buttons:   actions(rep),
		Context:   checklistText(rep.Checklist),
		Sensitive: true,
		Mentions:  r.assigneeRefs(rep),
	}
}

// ackField is the acknowledgement clock while the report is new, and when
// it was acknowledged afterwards: a report past "new" has no deadline to
// meet any more.
func ackField(rep *Report) bot.Field {
	switch {
	case rep.State == StateNew:
		return bot.Field{Label: "Acknowledge by", Value: chatTime(rep.AckDue)}
	case !rep.AckedAt.IsZero() && rep.AckedBy != "":
		return bot.Field{Label: "Acknowledged", Value: chatTime(rep.AckedAt) + " by " + bot.PersonToken(rep.AckedBy)}
	case !rep.AckedAt.IsZero():
		return bot.Field{Label: "Acknowledged", Value: chatTime(rep.AckedAt)}
	}
	return bot.Field{Label: "Acknowledged", Value: "yes"}
}

// actions are the buttons the report's state allows: while it is open,
// Acknowledge only while the state machine can still move it to
// acknowledged and a tick for each checklist item not yet done (a ticked
// one is only a notice); Reject (asked first, then the reason) while it
// can be rejected; Close (asked first) once it can be closed; none once
// closed.
func actions(rep *Report) []bot.Button {
	var buttons []bot.Button
	if rep.open() {
		buttons = openActions(rep)
	}
	if CanMove(rep.State, StateRejected) {
		buttons = append(buttons, bot.Button{Label: "Reject", Action: actionReject, Value: rep.ID, Style: bot.ButtonDanger})
	}
	if CanMove(rep.State, StateClosed) {
		buttons = append(buttons, bot.Button{Label: "Close", Action: actionClose, Value: rep.ID, Style: bot.ButtonDanger})
	}
	return buttons
}

func openActions(rep *Report) []bot.Button {
	var buttons []bot.Button
	if CanMove(rep.State, StateAcknowledged) {
		buttons = append(buttons, bot.Button{Label: "Acknowledge", Action: actionAck, Value: rep.ID, Style: bot.ButtonPrimary})
	}
	for _, it := range checklist {
		if done := rep.item(it.Key); done != nil && done.Done {
			continue
		}
		buttons = append(buttons, bot.Button{Label: "✓ " + shortLabel(it.Key), Action: actionCheck, Value: rep.ID + "|" + it.Key})
	}
	return buttons
}

// assigneeRefs is whom the summary means to notify: the assignee only.
func (r *Reports) assigneeRefs(rep *Report) []bot.UserRef {
	if rep.Assignee == "" {
		return nil
	}
	p, ok := r.e.Directory().ByName(rep.Assignee)
	if !ok {
		return nil
	}
	return p.ChatRefs()
}

func shortLabel(key string) string {
	switch key {
	case "verify":
		return "Verified"
	case "reply":
		return "Replied"
	case "forward":
		return "Forwarded"
	case "repos":
		return "Repos identified"
	case "score":
		return "Scored"
	case "advisory":
		return "Advisories opened"
	case "notify":
		return "Maintainers notified"
	}
	return key
}

func checklistText(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		mark := "☐"
		if it.Done {
			mark = "☑"
		}
		parts[i] = mark + " " + it.Label
	}
	return "Checklist: " + strings.Join(parts, " · ")
}

// severityText is how a report's severity is shown: the effective one and
// where it comes from.
func severityText(rep *Report) string {
	var parts []string
	if rep.Score != nil {
		parts = append(parts, fmt.Sprintf("team: %.1f %s (CVSS %s, by @%s)", rep.Score.Value, rep.Score.Severity, rep.Score.Version, rep.Score.By))
	}
	for _, a := range rep.Adjudications {
		parts = append(parts, fmt.Sprintf("adjudicated %s by @%s: %s", a.Severity, a.By, a.Reason))
	}
	if len(parts) == 0 {
		return "not scored yet"
	}
	return rep.EffectiveSeverity() + " — " + strings.Join(parts, "; ")
}
