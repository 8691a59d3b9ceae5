package bot

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// This file holds what lets a message feel native on each platform
// (issue 16): private answers, messages that are edited in place, buttons
// that ask before they act, and people and times written so that each
// platform can show them its own way (a mention, a date in the reader's
// zone). The engine decides; adapters that can do better implement the
// optional interfaces below.

// PrivateReplier is implemented by adapters that can show an answer to one
// person only (Slack: the slash command's response_url, or
// chat.postEphemeral). Adapters without it get the answer in the command's
// thread (Matrix) or as usual (the console).
type PrivateReplier interface {
	// ReplyPrivately shows msg to ev.User only, where ev happened (to is
	// the destination the reply would otherwise have had).
	ReplyPrivately(ctx context.Context, ev Event, to Destination, msg Message) (MessageRef, error)
}

// Editor is implemented by adapters that can replace a message they sent
// (Slack chat.update, Matrix m.replace; the console prints the new version
// marked as an edit). Editing is idempotent: the same edit twice shows the
// same message.
type Editor interface {
	Edit(ctx context.Context, ref MessageRef, msg Message) error
}

// Confirm is the question a button asks before its action runs (reject,
// close, publish, announce, decline). Slack draws it as the button's
// confirm dialog; elsewhere the engine asks the presser to reply "yes".
type Confirm struct {
	Title string `json:"title"`
	Text  string `json:"text"`
	Yes   string `json:"yes,omitempty"` // "Confirm" when empty
	No    string `json:"no,omitempty"`  // "Cancel" when empty
}

// Tokens in Vigil's markup (trusted text only; never read inside untrusted
// runs):
//
//	<@person:NAME>            a person by directory name, as a feature writes it
//	<@ADAPTER:ID|Display>     a person's account, as an adapter renders it
//	<!time:UNIX|fallback>     an instant, shown in each reader's zone
//
// The engine rewrites person tokens for the destination's adapter at
// delivery (an account there, or the display name), and time tokens for
// adapters that cannot localise themselves (tokens.go).

// PersonToken writes a mention of a person from the directory.
func PersonToken(name string) string { return "<@person:" + name + ">" }

// AccountToken writes a mention of an account with the name to show.
func AccountToken(u UserRef, display string) string {
	return "<@" + u.Adapter + ":" + u.ID + "|" + tokenLabel(display) + ">"
}

// TimeToken writes an instant that each reader sees in their own zone;
// fallback is shown where no zone is known.
func TimeToken(t time.Time, fallback string) string {
	return "<!time:" + strconv.FormatInt(t.Unix(), 10) + "|" + tokenLabel(fallback) + ">"
}

// tokenLabel keeps a label from ending its token early.
func tokenLabel(s string) string { return labelSafe.Replace(s) }

// labelSafe is built once: building a Replacer costs more than using it,
// and tokenLabel runs for every person named in every message.
var labelSafe = strings.NewReplacer(">", "›", "|", "¦", "<", "‹")

// TokenKind says what a token names.
type TokenKind int

const (
	TokenPerson  TokenKind = iota + 1 // <@person:NAME>
	TokenAccount                      // <@ADAPTER:ID|Display>
	TokenTime                         // <!time:UNIX|fallback>
)

// Token is one token found in trusted text.
type Token struct {
	Kind TokenKind
	// Person is the directory name (TokenPerson).
	Person string
	// Account and Label (TokenAccount).
	Account UserRef
	Label   string
	// Time and Fallback (TokenTime).
	Time     time.Time
	Fallback string
}

// ReplaceTokens calls fn for each well-formed token of s and puts what it
// returns in its place. s must be trusted text (a Segment that is not
// untrusted): untrusted runs are the caller's to skip. Anything that looks
// like a token but is not well formed stays as it is.
func ReplaceTokens(s string, fn func(Token) string) string {
	if !strings.Contains(s, "<@") && !strings.Contains(s, "<!time:") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "<")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.Index(s, ">")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		tok, ok := parseToken(s[1:j])
		if !ok {
			b.WriteByte('<')
			s = s[1:]
			continue
		}
		b.WriteString(fn(tok))
		s = s[j+1:]
	}
}

func parseToken(body string) (Token, bool) {
	switch {
	case strings.HasPrefix(body, "@person:"):
		name := strings.TrimPrefix(body, "@person:")
		if name == "" || strings.ContainsAny(name, "|< ") {
			return Token{}, false
		}
		return Token{Kind: TokenPerson, Person: name}, true
	case strings.HasPrefix(body, "@"):
		ref, label, ok := strings.Cut(body[1:], "|")
		if !ok {
			return Token{}, false
		}
		u, err := ParseUserRef(ref)
		if err != nil || strings.ContainsAny(ref, " <") {
			return Token{}, false
		}
		return Token{Kind: TokenAccount, Account: u, Label: label}, true
	case strings.HasPrefix(body, "!time:"):
		unix, fallback, ok := strings.Cut(strings.TrimPrefix(body, "!time:"), "|")
		n, err := strconv.ParseInt(unix, 10, 64)
		if !ok || err != nil {
			return Token{}, false
		}
		return Token{Kind: TokenTime, Time: time.Unix(n, 0).UTC(), Fallback: fallback}, true
	}
	return Token{}, false
}
