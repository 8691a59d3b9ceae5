package github

import "errors"

// Error classes. Every error a Client method returns matches one of these
// with errors.Is (or is a context error), so callers decide without string
// matching: retry later (ErrRateLimited, ErrTemporary), tell a person to fix
// a permission (ErrPermission, ErrNotFound), or show GitHub's complaint
// (ErrValidation).
var (
	// ErrRateLimited: GitHub asked Vigil to slow down. The error is a
	// *RateLimitError; wait RetryAfter() and try again. It also matches
	// bot.ErrRateLimited, so the engine's outbox and scheduler treat it as
	// a pause, never as a drop.
	ErrRateLimited = errors.New("GitHub rate limit reached")
	// ErrTemporary: GitHub could not be reached or answered 5xx. Retrying
	// later is safe. It also matches bot.ErrUnavailable.
	ErrTemporary = errors.New("GitHub temporarily unavailable")
	// ErrPermission: the token or installation lacks a permission (403, or
	// a 404 GitHub uses to hide a private resource). A *PermissionError.
	ErrPermission = errors.New("GitHub permission denied")
	// ErrNotFound: GitHub answered 404; also a *PermissionError, because
	// GitHub answers 404 rather than 403 for private resources the token
	// cannot see.
	ErrNotFound = errors.New("not found on GitHub")
	// ErrValidation: GitHub refused the request's content (422). A
	// *ValidationError carrying GitHub's messages.
	ErrValidation = errors.New("GitHub refused the request")
	// ErrInvalid: the caller passed a malformed argument (a repository that
	// is not owner/name, a GHSA id of the wrong shape). Nothing was sent.
	ErrInvalid = errors.New("invalid GitHub argument")
)
