package main

import (
	"context"
	"log/slog"
	"path/filepath"

	matrixadapter "github.com/vigil-sec/vigil/adapters/matrix"
	slackadapter "github.com/vigil-sec/vigil/adapters/slack"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/internal/reconnect"
)

// chatAdapter is a connected chat platform that runs until ctx ends.
type chatAdapter interface {
	bot.Adapter
	Run(ctx context.Context) error
}

// chatAdapters builds the chat adapters the configuration enables (Slack,
// Matrix) and adds them to the engine. With none, Vigil runs the console
// on a terminal (or with --console) and headless otherwise. Constructors
// validate; connecting happens in Run, which waits for a platform that is
// down at start (retry: its backoff, zero for the adapters' default) and
// fails only on credentials the platform refuses.
func chatAdapters(cfg *config.Config, e *bot.Engine, logger *slog.Logger, retry reconnect.Backoff) ([]chatAdapter, error) {
	var out []chatAdapter
	if cfg.Slack.Enabled() {
		s, err := slackadapter.New(slackadapter.Options{
			Engine:        e,
			Mode:          slackadapter.Mode(cfg.Slack.Mode),
			BotToken:      cfg.Slack.BotToken.Value(),
			AppToken:      cfg.Slack.AppToken.Value(),
			SigningSecret: cfg.Slack.SigningSecret.Value(),
			Command:       cfg.Slack.Command,
			APIURL:        cfg.Slack.APIURL,
			Rooms:         cfg.Rooms.Slack,
			Logger:        logger,
			Retry:         retry,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if cfg.Matrix.Enabled() {
		dir, err := cfg.DataDir()
		if err != nil {
			return nil, err
		}
		m, err := matrixadapter.New(matrixadapter.Options{
			Engine:        e,
			Homeserver:    cfg.Matrix.Homeserver,
			UserID:        cfg.Matrix.UserID,
			Password:      cfg.Matrix.Password.Value(),
			AccessToken:   cfg.Matrix.AccessToken.Value(),
			DeviceName:    cfg.Matrix.Device(),
			Prefix:        cfg.Matrix.CommandPrefix(),
			InviteServers: cfg.Matrix.InviteServers,
			Rooms:         cfg.Rooms.Matrix,
			// The device's keys live beside the embedded store, also when
			// state is in Redis: one bot device per deployment.
			DataDir:   filepath.Join(dir, "matrix"),
			PickleKey: cfg.Matrix.PickleKey.Value(),
			Logger:    logger,
			Retry:     retry,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	for _, a := range out {
		e.AddAdapter(a)
	}
	return out, nil
}

// consoleFiles is where the console writes the files of messages:
// --files, else files/ in the data directory ("" when there is none: the
// console then lists files without saving them).
func consoleFiles(cfg *config.Config, o runOptions) string {
	if o.Files != "" {
		return o.Files
	}
	dir, err := cfg.DataDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "files")
}
