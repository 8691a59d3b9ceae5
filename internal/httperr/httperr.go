// Package httperr holds what the HTTP adapters' error types (adapters/github,
// adapters/discourse) have in common. Each adapter keeps its own error
// types, classes and texts; this is the part of them that does not depend
// on the vendor.
package httperr

import (
	"fmt"
	"net/http"
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

// Denied is what a vendor's refusal says: a 401 or 403, or a 404, which
// vendors also answer for what the caller may not see. An adapter's
// PermissionError embeds it and words its own text.
type Denied struct {
	// Status is 401, 403 or 404.
	Status int
	// Op says what Vigil tried.
	Op string
	// Message is the vendor's message, if it sent one.
	Message string
}

// MaybeHidden reports a 404: what was asked for is missing, or hidden from
// a caller without access, and the two cannot be told apart.
func (d Denied) MaybeHidden() bool { return d.Status == http.StatusNotFound }

// Answered is the tail of a refusal's text: ": <vendor> answered <status>
// <message>", or "" when the vendor sent no message.
func (d Denied) Answered(vendor string) string {
	if d.Message == "" {
		return ""
	}
	return fmt.Sprintf(": %s answered %d %s", vendor, d.Status, d.Message)
}
