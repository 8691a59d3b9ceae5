// Package intake is the neutral shape of an incoming vulnerability report,
// shared by the sources that receive reports (adapters/email,
// adapters/github, the HTTP intake API) and the feature that files them
// (commands/report). Sources never import the report feature: they hand an
// Incoming to a Sink, and cmd/vigil wires the two together.
package intake

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// Source names where a report came from.
type Source string

const (
	SourceGitHub Source = "github"
	SourceEmail  Source = "email"
	SourceAPI    Source = "api"
	SourceManual Source = "manual"
)

// Reporter is the person who reported.
type Reporter struct {
	Name  bot.Untrusted `json:"name,omitempty"`
	Email string        `json:"email,omitempty"`
	// GitHub login, for reports made through GitHub.
	GitHub string `json:"github,omitempty"`
	// Credit: the reporter wants to be credited in the advisory.
	Credit bool `json:"credit,omitempty"`
}

// Attachment is a file that came with a report. Attachments are stored and
// listed but never posted inline.
type Attachment struct {
	Name        bot.Untrusted `json:"name"`
	ContentType string        `json:"content_type"`
	Size        int64         `json:"size"`
	// Data is the content, possibly cut to the configured cap (Truncated).
	Data      []byte `json:"data,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Incoming is one report (or a follow-up to one) as a source received it.
type Incoming struct {
	Source Source `json:"source"`
	// SourceID identifies the report at its source and makes intake
	// idempotent: the Message-ID of a mail, the GHSA id of an advisory, the
	// Idempotency-Key of an API call. The same (Source, SourceID) is one
	// report however often it arrives.
	SourceID string `json:"source_id"`
	// Title, Description, the reporter's name, attachment names and notes
	// are outside text (bot.Untrusted): chat renders them inert.
	Title       bot.Untrusted `json:"title"`
	Description bot.Untrusted `json:"description"`
	Reporter    Reporter      `json:"reporter"`
	Received    time.Time     `json:"received"`
	// Repositories the reporter named (owner/repo), if any.
	Repositories []string     `json:"repositories,omitempty"`
	Attachments  []Attachment `json:"attachments,omitempty"`
	// Notes are problems the source wants shown in the thread (an
	// undecryptable PGP message, a body cut at the size cap).
	Notes []bot.Untrusted `json:"notes,omitempty"`
	// InReplyTo lists message ids this one answers (mail In-Reply-To and
	// References). A reply to a message Vigil sent about a report is
	// threaded into that report instead of opening a new one.
	InReplyTo []string `json:"in_reply_to,omitempty"`
	// GitHub: the advisory's repository (owner/repo) and GHSA id.
	GitHubRepo string `json:"github_repo,omitempty"`
	GHSA       string `json:"ghsa,omitempty"`
	// URL links to the report at its source, when there is one.
	URL string `json:"url,omitempty"`
}

// Result says what became of an Incoming.
type Result struct {
	// ReportID is the report it was filed as or threaded into
	// (VIG-2026-12).
	ReportID string
	// Created is false when the Incoming was a duplicate or a reply.
	Created bool
	// Reply is true when it was threaded into an existing report.
	Reply bool
}

// Sink files incoming reports. Receive returns only after the report is
// durably stored, so a source may then acknowledge it (HTTP 2xx, SMTP 250,
// IMAP move); an error means nothing was stored and the source must not
// acknowledge.
type Sink interface {
	Receive(ctx context.Context, in Incoming) (Result, error)
}

// ErrInvalid wraps a report that cannot be filed as given (no title and no
// description); sources answer it as a client error, not a retry.
var ErrInvalid = errors.New("invalid report")

// Mail is an outbound message to a reporter (acknowledged, accepted,
// rejected) or an operator. MessageID is set by the caller so replies can
// be threaded back into the report.
type Mail struct {
	To         string
	Subject    string
	Body       string
	MessageID  string
	InReplyTo  string
	References []string
	// Sign asks for a PGP/MIME signature (RFC 3156) with the configured
	// signing key; a mailer without one refuses the mail.
	Sign bool
}

// Mailer sends mail. Errors that may pass (relay unreachable, 4xx) wrap
// ErrTemporary so the caller retries; others are permanent.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ErrTemporary marks a delivery failure worth retrying.
var ErrTemporary = errors.New("temporary delivery failure")
