package incident

import (
	"context"
	"log/slog"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Engine is what the incident feature uses of the bot engine, and all it uses.
// Register takes it rather than *bot.Engine so a reader sees the feature's
// reach here; *bot.Engine implements it (checked in cmd/vigil's tests).
type Engine interface {
	// Registration, at start.
	Register(c *bot.Command) error
	HandleAction(a *bot.Action)
	HandleJob(kind string, h bot.JobHandler)
	OnMessage(fn func(context.Context, *bot.Request) error)
	OnReaction(fn func(context.Context, *bot.Request) error)
	OnEdit(fn func(context.Context, *bot.Request) error)
	OnDelete(fn func(context.Context, *bot.Request) error)

	// The engine's services.
	Store() store.Store
	Clock() clock.Clock
	Logger() *slog.Logger
	Directory() *bot.Directory
	Scheduler() *bot.Scheduler
	Audit() *bot.Audit

	// Where it may speak (the privacy rule's rooms and DMs).
	IsPrivate(room bot.RoomRef) bool
	SecurityRoom(prefer string) (bot.Destination, bool)
	CanCreateRooms(adapter string) bool
	CreatePrivateRoom(ctx context.Context, adapter, name, topic string, invite []bot.UserRef) (bot.RoomRef, error)

	// Sending, through the outbox.
	Post(ctx context.Context, id string, to bot.Destination, msg bot.Message) error
	PostRoot(ctx context.Context, id string, to bot.Destination, msg bot.Message) error
	EditRoot(ctx context.Context, rootID string, msg bot.Message) error
	Outbox() *bot.Outbox
}
