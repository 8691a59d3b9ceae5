package github

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/internal/httperr"
)

// RateLimitError is a rate limit: 429, or 403 with x-ratelimit-remaining: 0
// or a Retry-After (GitHub's primary and secondary limits).
type RateLimitError struct {
	// Status is the HTTP status GitHub answered (429 or 403).
	Status int
	// RateLimit is how long GitHub asked Vigil to wait, and its message.
	httperr.RateLimit
}

func (e *RateLimitError) Error() string {
	return e.Explain(fmt.Sprintf("GitHub rate limit reached (HTTP %d)", e.Status))
}

// Is matches ErrRateLimited and the engine's bot.ErrRateLimited.
func (e *RateLimitError) Is(target error) bool {
	return target == ErrRateLimited || target == bot.ErrRateLimited
}

// ValidationError is GitHub's 422: the request was understood and refused.
type ValidationError struct {
	// Op says what Vigil tried, e.g. "update security advisory GHSA-... in acme/web".
	Op string
	// Message is GitHub's top-level message ("Validation Failed").
	Message string
	// Details are GitHub's per-field messages, in its order.
	Details []string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("GitHub refused to " + e.Op)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Details) > 0 {
		b.WriteString(" (" + strings.Join(e.Details, "; ") + ")")
	}
	return b.String()
}

// Is matches ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// PermissionError is a 403 or 404: the token cannot do what was asked.
type PermissionError struct {
	// Denied is GitHub's answer (403 or 404, and its message, such as
	// "Resource not accessible by integration") and what Vigil tried.
	httperr.Denied
	// Permission is the fine-grained permission (or GitHub App permission)
	// the operation needs, such as "repository_advisories:write".
	Permission string
	// Hint is another cause worth checking, when the operation has one
	// (the SBOM export also needs the repository's dependency graph on).
	Hint string
}

func (e *PermissionError) Error() string {
	var msg string
	if e.MaybeHidden() {
		// GitHub hides private resources behind 404, so "not found" and
		// "not allowed" cannot be told apart; say both.
		msg = fmt.Sprintf("Vigil's token cannot %s: GitHub says it does not exist, or the token lacks access (needs the %s permission)", e.Op, e.Permission)
	} else {
		msg = fmt.Sprintf("Vigil's token cannot %s (needs the %s permission)", e.Op, e.Permission)
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg + e.Answered("GitHub")
}

// Is matches ErrPermission, and ErrNotFound for a 404.
func (e *PermissionError) Is(target error) bool {
	return target == ErrPermission || (target == ErrNotFound && e.MaybeHidden())
}

// temporaryError marks a failure worth retrying.
type temporaryError struct {
	op  string
	err error
}

func (e *temporaryError) Error() string {
	return fmt.Sprintf("could not %s: GitHub temporarily unavailable: %v", e.op, e.err)
}

func (e *temporaryError) Unwrap() error { return e.err }

// Is matches ErrTemporary, the engine's bot.ErrUnavailable and
// intake.ErrTemporary, so whichever class a caller checks says "retry".
func (e *temporaryError) Is(target error) bool {
	return target == ErrTemporary || target == bot.ErrUnavailable || target == intake.ErrTemporary
}

// Temporary reports true, for callers that ask errors this way.
func (e *temporaryError) Temporary() bool { return true }
