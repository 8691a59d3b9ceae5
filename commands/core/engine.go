package core

import (
	"context"

	"github.com/vigil-sec/vigil/bot"
)

// Engine is what the core commands (whoami, audit, people) use of the bot
// engine, and all they use. Register takes it rather than *bot.Engine so a
// reader sees the package's reach here; *bot.Engine implements it (checked
// in cmd/vigil's tests).
type Engine interface {
	// Registration, at start.
	Register(c *bot.Command) error

	// The engine's services.
	Directory() *bot.Directory
	SavePerson(ctx context.Context, p bot.Person) error
	RemovePerson(ctx context.Context, name string) error
	Audit() *bot.Audit
}
