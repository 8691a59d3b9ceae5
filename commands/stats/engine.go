package stats

import (
	"context"
	"log/slog"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Engine is what the stats feature uses of the bot engine, and all it
// uses. Register takes it rather than *bot.Engine so a reader sees the
// feature's reach here; *bot.Engine implements it (checked in cmd/vigil's
// tests). It only reads the store; the one thing it sends is the monthly
// summary, through the outbox.
type Engine interface {
	// Registration, at start.
	Register(c *bot.Command) error
	HandleJob(kind string, h bot.JobHandler)

	// The engine's services.
	Store() store.Store
	Clock() clock.Clock
	Logger() *slog.Logger
	Scheduler() *bot.Scheduler

	// Sending, through the outbox.
	Post(ctx context.Context, id string, to bot.Destination, msg bot.Message) error
}
