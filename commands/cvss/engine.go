package cvss

import "github.com/vigil-sec/vigil/bot"

// Engine is what the scoring feature uses of the bot engine: it adds a
// command and its two dialogs, and scoring itself needs nothing else.
// Register takes it rather than *bot.Engine so a reader sees the feature's
// reach here; *bot.Engine implements it (checked in cmd/vigil's tests).
type Engine interface {
	Register(c *bot.Command) error
	RegisterForm(f *bot.Form) error
}
