package config

import "time"

// Delivery tunes the outbox and the scheduler (docs/DELIVERY.md). Zero
// values take the engine's defaults.
type Delivery struct {
	// SendTimeout bounds one send to a chat service (default 30s).
	SendTimeout Duration `yaml:"send_timeout"`
	// MaxAttempts: a message refused this many times is set aside as a
	// dead letter and the team is told (default 20). Outages count only
	// toward MaxAge.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxAge: a message still not delivered this long after it was posted
	// is set aside (default 24h). Messages held for a private room that is
	// not ready yet wait without limit.
	MaxAge Duration `yaml:"max_age"`
	// JobTimeout bounds one scheduled job (default 4m; under 5m, the
	// hold after which another replica may run it).
	JobTimeout Duration `yaml:"job_timeout"`
	// ShutdownTimeout bounds how long a stop waits for a send under way to
	// finish and be recorded (default 10s).
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// jobHold mirrors the scheduler's claim hold: config may not import bot.
const jobHold = 5 * time.Minute

func validateDelivery(c *Config, report func(key, msg string)) {
	d := c.Delivery
	if d.SendTimeout < 0 {
		report("delivery.send_timeout", msgf("must be positive, got %s", d.SendTimeout))
	}
	if d.MaxAttempts < 0 {
		report("delivery.max_attempts", msgf("must be at least 1, got %d", d.MaxAttempts))
	}
	if d.MaxAge < 0 {
		report("delivery.max_age", msgf("must be positive, got %s", d.MaxAge))
	}
	if d.JobTimeout < 0 || d.JobTimeout.Std() >= jobHold {
		report("delivery.job_timeout", msgf("must be between 0 and 5m (a job held longer may run on a second replica), got %s", d.JobTimeout))
	}
	if d.ShutdownTimeout < 0 {
		report("delivery.shutdown_timeout", msgf("must be positive, got %s", d.ShutdownTimeout))
	}
}
