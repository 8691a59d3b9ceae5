package discourse

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/httperr"
)

// RateLimitError is Discourse's 429.
type RateLimitError struct {
	// Op says what Vigil tried.
	Op string
	// RateLimit is how long Discourse asked Vigil to wait (the longer of
	// the Retry-After header and the body's extras.wait_seconds), and its
	// message.
	httperr.RateLimit
}

func (e *RateLimitError) Error() string {
	return e.Explain("Discourse rate limit reached while trying to " + e.Op)
}

// Is matches ErrRateLimited and the engine's bot.ErrRateLimited.
func (e *RateLimitError) Is(target error) bool {
	return target == ErrRateLimited || target == bot.ErrRateLimited
}

// PermissionError is a 401, 403 or 404: the API key cannot do what was asked.
type PermissionError struct {
	// Denied is Discourse's answer and what Vigil tried.
	httperr.Denied
	// Scope is the API key scope the operation needs, as Discourse's admin
	// page names it, such as "topics: write".
	Scope string
}

func (e *PermissionError) Error() string {
	if e.MaybeHidden() {
		// Discourse answers 404 for what the API user may not see, so
		// "missing" and "not allowed" cannot be told apart; say both.
		return fmt.Sprintf("Vigil's Discourse API key cannot %s: Discourse says it does not exist, or the key lacks access (needs the %q scope)", e.Op, e.Scope) + e.Answered("Discourse")
	}
	return fmt.Sprintf("Vigil's Discourse API key cannot %s (needs the %q scope, and an API user allowed to do it)", e.Op, e.Scope) + e.Answered("Discourse")
}

// Is matches ErrPermission, and ErrNotFound for a 404.
func (e *PermissionError) Is(target error) bool {
	return target == ErrPermission || (target == ErrNotFound && e.MaybeHidden())
}

// ValidationError is Discourse's 422: the request was understood and refused.
type ValidationError struct {
	// Op says what Vigil tried.
	Op string
	// Messages are Discourse's reasons, in its order.
	Messages []string
}

func (e *ValidationError) Error() string {
	msg := "Discourse refused to " + e.Op
	if len(e.Messages) > 0 {
		msg += ": " + strings.Join(e.Messages, "; ")
	}
	return msg
}

// Is matches ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// temporaryError marks a failure worth retrying.
type temporaryError struct {
	op  string
	err error
}

func (e *temporaryError) Error() string {
	return fmt.Sprintf("could not %s: Discourse temporarily unavailable: %v", e.op, e.err)
}

func (e *temporaryError) Unwrap() error { return e.err }

// Is matches ErrTemporary and the engine's bot.ErrUnavailable.
func (e *temporaryError) Is(target error) bool {
	return target == ErrTemporary || target == bot.ErrUnavailable
}
