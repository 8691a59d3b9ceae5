package bot

import (
	"errors"
	"fmt"
	"time"
)

// UsageError is a command used wrongly. The router answers it with the
// message and the command's usage line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError; commands return it for bad arguments.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

func usageErrorf(format string, args ...any) error { return Usagef(format, args...) }

// NoticeError is not a failure: the thing asked for is already so ("already
// acknowledged"). The router answers it as a friendly note.
type NoticeError struct{ Msg string }

func (e *NoticeError) Error() string { return e.Msg }

// Noticef returns a NoticeError.
func Noticef(format string, args ...any) error {
	return &NoticeError{Msg: fmt.Sprintf(format, args...)}
}

// ErrForbidden is returned when a person may not run a command or press a
// button; the reply says which role is needed.
var ErrForbidden = errors.New("not allowed")

// Delivery error classes. Adapters wrap their errors with one of these so
// the outbox, the one place that retries, can decide: retry later (rate
// limited, unavailable) or give up (rejected).
var (
	// ErrRateLimited: the chat service asked us to slow down. Wrap it in a
	// RetryAfterError to say for how long.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the chat service could not be reached.
	ErrUnavailable = errors.New("chat service unavailable")
	// ErrRejected: the chat service refused the message for good (bad
	// channel, not a member, too large). Retrying cannot help.
	ErrRejected = errors.New("rejected by chat service")
	// ErrPrivacy: the engine refused to deliver sensitive content to a
	// destination that is not private.
	ErrPrivacy = errors.New("sensitive content refused outside the private room")
)

// RetryAfterError carries the wait a rate-limited service asked for.
type RetryAfterError struct {
	Err   error // usually wraps ErrRateLimited
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }
