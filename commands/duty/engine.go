package duty

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Engine is what the duty feature uses of the bot engine, and all it uses.
// Register takes it rather than *bot.Engine so a reader sees the feature's
// reach here; *bot.Engine implements it (checked in cmd/vigil's tests).
type Engine interface {
	// Registration, at start.
	Register(c *bot.Command) error
	HandleAction(a *bot.Action)
	HandleJob(kind string, h bot.JobHandler)
	HTTP() *http.ServeMux
	CacheDocs(collection, set string)
	SetTeamZone(src bot.ZoneSource)

	// The engine's services.
	Store() store.Store
	Clock() clock.Clock
	Logger() *slog.Logger
	Directory() *bot.Directory
	Scheduler() *bot.Scheduler

	// Where it may speak (the privacy rule's rooms and DMs).
	SecurityRoom(prefer string) (bot.Destination, bool)
	DMFor(p *bot.Person, prefer string) (bot.Destination, bool)

	// Sending, through the outbox.
	Post(ctx context.Context, id string, to bot.Destination, msg bot.Message) error
}
