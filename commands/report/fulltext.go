package report

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
)

// A report's text can be long (the intake API alone takes 100,000
// characters), and chat cannot show all of it in one place. Wherever Vigil
// shows less than all of it, it says so and says where the rest is: the
// summary shows the beginning, and the full text is posted in the
// report's thread at intake and shown to whoever asks with
// `report show ID --full`, only in the private room or a team member's DM.
const (
	// summaryTitleChars is how much of the title the summary's header
	// shows (Slack's headers take 150).
	summaryTitleChars = 120
	// excerptChars is how much of the description the summary shows.
	excerptChars = 2500
	// partChars is the most one message of a long text holds, so that each
	// part fits one message on every adapter however its characters are
	// escaped: one Slack section holds 3,000; a Matrix event holds 64 KiB
	// after HTML and JSON escaping and encryption, which can take some 20
	// bytes for a character such as '&'.
	partChars = 2000
)

// titleCut reports whether the summary shows only part of the title.
func titleCut(rep *Report) bool {
	return utf8.RuneCountInString(string(rep.Title)) > summaryTitleChars
}

// summaryText is the summary's text: the beginning of the description,
// cut at a clean place, and, when it or the title is cut, how much is left
// out and where to read it.
func summaryText(rep *Report) string {
	head, rest := textutil.Cut(string(rep.Description), excerptChars)
	if rest == "" && !titleCut(rep) {
		return rep.Description.String()
	}
	var text string
	switch {
	case rest != "":
		text = bot.Untrusted(strings.TrimRight(head, " \t\n")).String() + " " + textutil.Ellipsis + "\n"
	case rep.Description != "":
		text = rep.Description.String() + "\n"
	}
	return text + cutNote(rep, utf8.RuneCountInString(rest))
}

// cutNote says what the summary leaves out (left characters of the
// description; the end of the title) and where the rest is.
func cutNote(rep *Report, left int) string {
	var what string
	switch {
	case left > 0 && titleCut(rep):
		what = fmt.Sprintf("%d more characters, and the title is cut short", left)
	case left > 0:
		what = fmt.Sprintf("%d more characters", left)
	default:
		what = "The title is cut short"
	}
	return fmt.Sprintf("_(%s. The full text follows in the report's thread; `/sec report show %s --full` shows it to you.)_", what, rep.ID)
}

// cut reports whether the summary leaves part of the report out.
func cut(rep *Report) bool {
	return titleCut(rep) || utf8.RuneCountInString(string(rep.Description)) > excerptChars
}

// fullText is the report's whole text (with the title first, if asked,
// then the description) in messages of at most partChars characters of the
// description each, in order.
func fullText(rep *Report, withTitle bool) []bot.Message {
	first := bot.Message{Header: "Full text of " + rep.ID, Sensitive: true}
	if withTitle {
		first.Text = "*Title:* " + rep.Title.String()
	}
	return inParts(first, rep.ID+" · full text", rep.Description)
}

// inParts lays out a long untrusted text as messages of at most partChars
// characters of it each, cut at clean places, in order: the first is first
// with the beginning of the text after its own text; each later one has
// only its part. Every message's context names the whole and, when there
// are several, which part it is, so a reader sees that nothing is missing.
func inParts(first bot.Message, whole string, text bot.Untrusted) []bot.Message {
	pieces := textutil.Split(string(text), partChars)
	if len(pieces) == 0 {
		pieces = []string{""}
	}
	msgs := make([]bot.Message, len(pieces))
	for i, p := range pieces {
		msg := bot.Message{Sensitive: first.Sensitive}
		if i == 0 {
			msg = first
		}
		if p = strings.TrimSpace(p); p != "" {
			if msg.Text != "" {
				msg.Text += "\n\n"
			}
			msg.Text += bot.Untrusted(p).String()
		}
		msg.Context = whole
		if len(pieces) > 1 {
			msg.Context += fmt.Sprintf(" · part %d of %d", i+1, len(pieces))
		}
		msgs[i] = msg
	}
	return msgs
}

// postFullText posts the report's full text in its thread, after the
// summary, when the summary cuts it. The outbox ids are fixed, so the
// announce job may run again without posting it twice.
func (r *Reports) postFullText(ctx context.Context, rep *Report, post poster) error {
	if !cut(rep) {
		return nil
	}
	// The thread's summary shows the title unless it is too long.
	for i, msg := range fullText(rep, titleCut(rep)) {
		if err := r.postInThreadVia(ctx, rep, fmt.Sprintf("fulltext:%d", i+1), msg, post); err != nil {
			return fmt.Errorf("report %s: post its full text: %w", rep.ID, err)
		}
	}
	return nil
}

// showFull answers `report show ID --full`: the full text, for the asker
// alone. It is sensitive, so outside the private room (and an authorized
// DM) the engine withholds it and says where to look; that is said once,
// not once per part.
func (r *Reports) showFull(ctx context.Context, req *bot.Request, rep *Report) error {
	msgs := fullText(rep, true)
	if !req.Private {
		msgs = msgs[:1]
	}
	for _, msg := range msgs {
		if _, err := req.Reply(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}
