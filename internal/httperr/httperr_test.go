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
