package bot

import (
	"strings"
)

// Message is the engine's neutral rich message. Each adapter renders it
// natively: Block Kit on Slack, HTML plus a plain body on Matrix, text in the
// console. Text uses a small Markdown subset (*bold*, _italic_, `code`,
// links as <url|label>) that every adapter can render or strip.
type Message struct {
	Header  string   `json:"header,omitempty"`
	Text    string   `json:"text,omitempty"`
	Fields  []Field  `json:"fields,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
	// Context is a small line under the message (ids, times, who did it).
	Context string `json:"context,omitempty"`
	// Fallback is the plain text used for notifications and clients that
	// cannot render rich content; Plain() derives one when it is empty.
	Fallback string `json:"fallback,omitempty"`
	// Sensitive marks report details. The engine delivers a sensitive
	// message only to a private security room or to a DM with an
	// authorized person (see Engine.checkPrivacy).
	Sensitive bool `json:"sensitive,omitempty"`
	// Audience lists people (by directory name) who may receive this
	// sensitive message by DM although they are not on the security team,
	// e.g. the maintainers of an affected repository.
	Audience []string `json:"audience,omitempty"`
	// Mentions are the people Vigil means to notify by this message (the
	// assignee of a report). Adapters that have intentional mentions (Matrix
	// m.mentions) list exactly these, so nothing quoted in the text can
	// ping anyone else.
	Mentions []UserRef `json:"mentions,omitempty"`
	// DeliveryID is set by the outbox when it sends: the message's outbox
	// id, the same on every replica and every retry. An adapter whose
	// platform deduplicates sends uses it as the idempotency key (Matrix:
	// the transaction id; Slack: metadata that DeliveryChecker looks
	// for), so a message sent again after a crash shows once. It is
	// opaque, at most 400 bytes and may hold any character; adapters hash
	// it if their platform limits keys. Empty for direct replies.
	DeliveryID string `json:"-"`
	// Files are attachments uploaded natively with the message: Slack
	// files.uploadV2 into the conversation, Matrix m.image/m.file (an
	// encrypted attachment in an encrypted room), the console writes them
	// to its files folder and prints the path. The text is posted first;
	// each file follows in the same conversation (and thread).
	Files []File `json:"files,omitempty"`
}

// File is one attachment of a Message. Data travels through the outbox, so
// keep files small (a chart PNG, a few hundred KB at most).
type File struct {
	// Name is the file name shown to people, e.g. "stats-2026-11.png".
	Name string `json:"name"`
	// MIME is the media type, e.g. "image/png".
	MIME string `json:"mime"`
	// Alt describes the content for people who cannot see it (alt text,
	// Matrix body, Slack alt_txt).
	Alt  string `json:"alt,omitempty"`
	Data []byte `json:"data"`
}

// Field is a labelled value shown in a compact grid.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// ButtonStyle hints how prominently a button is drawn.
type ButtonStyle string

const (
	ButtonDefault ButtonStyle = ""
	ButtonPrimary ButtonStyle = "primary"
	ButtonDanger  ButtonStyle = "danger"
)

// Button is an action a person can take on a message. Action names a
// handler registered with Engine.HandleAction; Value is passed to it.
type Button struct {
	Label  string      `json:"label"`
	Action string      `json:"action"`
	Value  string      `json:"value,omitempty"`
	Style  ButtonStyle `json:"style,omitempty"`
	// Confirm, when set, is asked before the action runs.
	Confirm *Confirm `json:"confirm,omitempty"`
}

// Text returns a plain message with just a body.
func Text(s string) Message { return Message{Text: s} }

// Plain renders the message as plain text: the fallback if set, otherwise
// header, text, fields and context on their own lines. Untrusted runs keep
// their markers (see Segments); PlainText drops them.
func (m Message) Plain() string {
	if m.Fallback != "" {
		return m.Fallback
	}
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	add(m.Header)
	add(m.Text)
	for _, f := range m.Fields {
		add(f.Label + ": " + f.Value)
	}
	add(m.Context)
	return b.String()
}

// PlainText is Plain without the untrusted markers, for sinks that are not
// chat (a mail, a GitHub issue) and for tests that read what a person sees
// in a client that shows text as it is.
func (m Message) PlainText() string { return StripSentinels(m.Plain()) }
