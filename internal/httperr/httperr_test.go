package httperr

import (
	"testing"
	"time"
)

func TestRateLimitExplain(t *testing.T) {
	for _, tc := range []struct {
		rl   RateLimit
		want string
	}{
		{RateLimit{Wait: time.Minute}, "limited, retry after 1m0s"},
		{RateLimit{Wait: 90 * time.Second, Message: "slow down"}, "limited, retry after 1m30s: slow down"},
	} {
		if got := tc.rl.Explain("limited"); got != tc.want {
			t.Errorf("Explain = %q, want %q", got, tc.want)
		}
		if got := tc.rl.RetryAfter(); got != tc.rl.Wait {
			t.Errorf("RetryAfter = %s, want %s", got, tc.rl.Wait)
		}
	}
}

func TestDenied(t *testing.T) {
	for _, tc := range []struct {
		d        Denied
		hidden   bool
		answered string
	}{
		{Denied{Status: 403, Op: "post", Message: "no scope"}, false, ": Forum answered 403 no scope"},
		{Denied{Status: 404, Op: "read"}, true, ""},
	} {
		if got := tc.d.MaybeHidden(); got != tc.hidden {
			t.Errorf("%+v: MaybeHidden = %v, want %v", tc.d, got, tc.hidden)
		}
		if got := tc.d.Answered("Forum"); got != tc.answered {
			t.Errorf("%+v: Answered = %q, want %q", tc.d, got, tc.answered)
		}
	}
}
