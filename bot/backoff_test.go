package bot

import (
	"testing"
	"time"
)

// TestRetrySchedules pins the two retry schedules, now that both are a
// reconnect.Backoff: a failed job waits 10s, 20s, 40s ... up to an hour
// (Attempt counts earlier failures, so its first retry is Wait(1)); a
// message 1s, 2s, 4s ... up to 5 minutes.
func TestRetrySchedules(t *testing.T) {
	for _, c := range []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"job, 1st failure", jobBackoff.Wait(0 + 1), 10 * time.Second},
		{"job, 2nd failure", jobBackoff.Wait(1 + 1), 20 * time.Second},
		{"job, 9th failure", jobBackoff.Wait(8 + 1), 2560 * time.Second},
		{"job, 10th failure", jobBackoff.Wait(9 + 1), time.Hour},
		{"job, 100th failure", jobBackoff.Wait(99 + 1), time.Hour},
		{"message, 1st try", outboxBackoff.Wait(1), time.Second},
		{"message, 3rd try", outboxBackoff.Wait(3), 4 * time.Second},
		{"message, 9th try", outboxBackoff.Wait(9), 256 * time.Second},
		{"message, 10th try", outboxBackoff.Wait(10), 5 * time.Minute},
		{"message, 1000th try", outboxBackoff.Wait(1000), 5 * time.Minute},
	} {
		if c.got != c.want {
			t.Errorf("%s: wait %v, want %v", c.name, c.got, c.want)
		}
	}
}
