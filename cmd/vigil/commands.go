package main

import (
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/core"
	"github.com/vigil-sec/vigil/config"
)

// registerCommands adds every feature's commands, jobs and forms to the
// engine. Each feature package exports one Register; there is no central
// switch on verbs.
func registerCommands(e *bot.Engine, cfg *config.Config) error {
	if err := core.Register(e); err != nil {
		return err
	}
	return nil
}
