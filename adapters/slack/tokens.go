package slack

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/bot"
)

// Vigil's person and time tokens (bot.AccountToken, bot.TimeToken) in
// Vigil's own text become Slack's: a Slack account is a real mention
// (<@U…>), any other account its display name, an instant a date token
// that each reader's client shows in their own zone. Only trusted runs are
// read: in an untrusted run a token is text like any other, and escaped.

// slackUserID is what a Slack user id looks like (U…, W… for Enterprise
// Grid); anything else is shown by name rather than sent as a mention.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// dateFormat shows a date and time in the reader's zone: "today 14:00",
// "Dec 8 14:00" (each client in its own words and clock).
const dateFormat = "{date_short_pretty} {time}"

// slackTokens rewrites the tokens of one trusted run as Slack mrkdwn. What
// it writes is then escaped like the rest of the run (ownMrkdwn), which
// keeps <@U…> and <!date^…> and escapes everything else; names and
// fallbacks are escaped here so that they stay text.
func slackTokens(s string) string {
	return bot.ReplaceTokens(s, func(t bot.Token) string {
		switch t.Kind {
		case bot.TokenAccount:
			if t.Account.Adapter == bot.AdapterSlack && slackUserID.MatchString(t.Account.ID) {
				return "<@" + t.Account.ID + ">"
			}
			return escapeEntities(t.Label)
		case bot.TokenTime:
			fallback := t.Fallback
			if fallback == "" {
				fallback = t.Time.Format("2006-01-02 15:04 UTC")
			}
			return "<!date^" + strconv.FormatInt(t.Time.Unix(), 10) + "^" + dateFormat + "|" + escapeEntities(fallback) + ">"
		case bot.TokenPerson:
			// The engine resolves these at delivery; one that got here
			// shows the directory name.
			return escapeEntities(t.Person)
		}
		return ""
	})
}

// plainTokens rewrites the tokens of one trusted run for a plain_text
// object (a header, a button, a dialog), which shows no mentions or dates:
// names, and the time's fallback.
func plainTokens(s string) string {
	return bot.ReplaceTokens(s, func(t bot.Token) string {
		switch t.Kind {
		case bot.TokenAccount:
			return t.Label
		case bot.TokenTime:
			if t.Fallback != "" {
				return t.Fallback
			}
			return t.Time.Format("2006-01-02 15:04 UTC")
		case bot.TokenPerson:
			return t.Person
		}
		return ""
	})
}

// plainSlack is a text for a plain_text object: the markers dropped, and
// the tokens of Vigil's own runs shown as plain words.
func plainSlack(s string) string {
	var b strings.Builder
	for _, seg := range bot.Segments(s) {
		if seg.Untrusted {
			b.WriteString(seg.Text)
		} else {
			b.WriteString(plainTokens(seg.Text))
		}
	}
	return b.String()
}

// escapeEntities escapes &, < and > of a name or fallback put into mrkdwn.
func escapeEntities(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
