package discourse

import "errors"

// Error classes. Every error a Client method returns matches one of these
// with errors.Is (or is a context error), so callers decide without string
// matching: retry later (ErrRateLimited, ErrTemporary), tell a person to fix
// the API key (ErrPermission, ErrNotFound), or show Discourse's complaint
// (ErrValidation). Adapters only classify; the caller (the release job's
// scheduler) owns retrying.
var (
	// ErrRateLimited: Discourse asked Vigil to slow down (429). The error is
	// a *RateLimitError; wait RetryAfter() and try again. It also matches
	// bot.ErrRateLimited, so the engine treats it as a pause, not a drop.
	ErrRateLimited = errors.New("rate limited by Discourse")
	// ErrTemporary: Discourse could not be reached or answered 5xx.
	// Retrying later is safe. It also matches bot.ErrUnavailable.
	ErrTemporary = errors.New("the Discourse forum is temporarily unavailable")
	// ErrPermission: the API key or its user may not do this (401, 403,
	// or a 404 Discourse answers for what the user cannot see). A
	// *PermissionError naming the scope the key needs.
	ErrPermission = errors.New("permission denied by Discourse")
	// ErrNotFound: Discourse answered 404; also a *PermissionError,
	// because Discourse hides what the user cannot see behind 404.
	ErrNotFound = errors.New("not found on Discourse")
	// ErrValidation: Discourse refused the content (422), such as a title
	// too short or a body posted twice. A *ValidationError.
	ErrValidation = errors.New("refused by Discourse")
	// ErrInvalid: the caller passed a malformed argument. Nothing was sent.
	ErrInvalid = errors.New("invalid Discourse argument")
)
