package reconnect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Transient is the error an attempt returns when its failure may pass (no
// answer, a 5xx, a rate limit): Until waits and tries again. Any other
// error from an attempt is final.
type Transient struct {
	// Cause is shown on /readyz and in the log: short, no addresses
	// ("auth.test: connection refused").
	Cause string
	// After is how long the service asked to be left alone (a rate
	// limit's Retry-After); the backoff waits at least this long.
	After time.Duration
}

func (t *Transient) Error() string { return t.Cause }

// Until calls try until it succeeds (nil), fails for good (try's error),
// or ctx ends (ctx's error). Between tries it waits with backoff b on clock
// c, and s tells /readyz the phase, the last cause and when the next try
// comes. The first failure is logged at warn, since Vigil then runs
// without service until it answers; later ones at debug.
func Until(ctx context.Context, c clock.Clock, s *State, b Backoff, log *slog.Logger, service, phase string, try func(context.Context) error) error {
	// The last failure's cause stays on /readyz while the next try runs.
	s.Down(phase, "")
	for n := 1; ; n++ {
		err := try(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var t *Transient
		if !errors.As(err, &t) {
			return err
		}
		wait := max(b.Wait(n), t.After)
		if n == 1 {
			log.Warn(fmt.Sprintf("%s is not reachable; Vigil runs without it and keeps trying in the background", service),
				"cause", t.Cause, "next_try_in", wait.String())
		} else {
			log.Debug(fmt.Sprintf("%s is still not reachable", service), "cause", t.Cause, "attempt", n, "next_try_in", wait.String())
		}
		armed := func() { s.Retrying(phase, t.Cause, c.Now().Add(wait)) }
		if err := Sleep(ctx, c, wait, armed); err != nil {
			return err
		}
	}
}
