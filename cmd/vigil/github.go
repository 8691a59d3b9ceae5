package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
)

// startGitHub builds the GitHub side from cfg.GitHub:
//
//   - client calls GitHub (it provides SetAdvisoryState for the report
//     feature); it is nil when GitHub is not configured, and then so is
//     everything else.
//   - the webhook receiver is mounted on the engine's mux at
//     POST /hooks/github when github.webhook_secret is set (config
//     validation makes sure http.listen is on then).
//   - run polls github.organizations and github.repositories until ctx
//     ends; it is nil when there is nothing to poll.
//
// Everything is checked here and nothing connects: a bad private key is an
// error at start, a bad token shows on the first call. Reports go to sink,
// on the engine's clock and store (delivery ids are kept there).
func startGitHub(cfg *config.Config, e *bot.Engine, sink intake.Sink, prs githubadapter.PullRequestHandler, logger *slog.Logger) (client *githubadapter.Client, run func(ctx context.Context) error, err error) {
	g := cfg.GitHub
	if !g.Enabled() {
		return nil, nil, nil
	}
	logger = logger.With("adapter", "github")
	client, err = githubadapter.New(githubadapter.Options{
		APIURL:         g.APIURL,
		Token:          g.Token.Value(),
		AppID:          g.AppID,
		InstallationID: g.InstallationID,
		AppPrivateKey:  []byte(g.AppPrivateKey.Value()),
		Clock:          e.Clock(),
		Logger:         logger,
	})
	if err != nil {
		return nil, nil, err
	}
	intakeOn := !g.WebhookSecret.IsZero() || len(g.Organizations) > 0 || len(g.Repositories) > 0
	if intakeOn && sink == nil {
		return nil, nil, errors.New("github: the webhook or poller is configured but no report sink was given")
	}
	if !g.WebhookSecret.IsZero() {
		w, err := githubadapter.NewWebhook(githubadapter.WebhookOptions{
			Secret:       g.WebhookSecret.Value(),
			Sink:         sink,
			Seen:         e.Store(),
			Clock:        e.Clock(),
			MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
			PullRequests: prs,
			Logger:       logger,
		})
		if err != nil {
			return nil, nil, err
		}
		w.Mount(e.HTTP())
	}
	if len(g.Organizations) == 0 && len(g.Repositories) == 0 {
		return client, nil, nil
	}
	p, err := githubadapter.NewPoller(githubadapter.PollerOptions{
		Client:        client,
		Sink:          sink,
		Clock:         e.Clock(),
		Organizations: g.Organizations,
		Repositories:  g.Repositories,
		Interval:      g.Interval(),
		Logger:        logger,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("github: %w", err)
	}
	return client, p.Run, nil
}
