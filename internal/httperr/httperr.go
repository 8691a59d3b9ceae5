// Package httperr holds what the HTTP adapters' error types (adapters/github,
// adapters/discourse) have in common. Each adapter keeps its own error
// types, classes and texts; this is the part of them that does not depend
// on the vendor.
package httperr

import (
	"fmt"
	"time"
)

// RateLimit is what a vendor's rate-limit answer says: how long to wait,
// and why. An adapter's RateLimitError embeds it.
type RateLimit struct {
	// Wait is how long the vendor asked Vigil to wait.
	Wait time.Duration
	// Message is the vendor's message, if it sent one.
	Message string
}

// RetryAfter is how long to wait before trying again.
func (r RateLimit) RetryAfter() time.Duration { return r.Wait }

// Explain is a rate-limit error's text: what happened (such as "GitHub
// rate limit reached (HTTP 429)"), the wait, and the vendor's message.
func (r RateLimit) Explain(what string) string {
	msg := fmt.Sprintf("%s, retry after %s", what, r.Wait)
	if r.Message != "" {
		msg += ": " + r.Message
	}
	return msg
}
