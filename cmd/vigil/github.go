package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
)

// newGitHubClient builds the client that calls GitHub from cfg.GitHub; it
// is nil when GitHub is not configured. It is checked here and does not
// connect: a bad private key is an error at start, a bad token shows on
// the first call. Its timers run on clk, the engine's clock.
func newGitHubClient(cfg *config.Config, clk clock.Clock, logger *slog.Logger) (*githubadapter.Client, error) {
	g := cfg.GitHub
	if !g.Enabled() {
		return nil, nil
	}
	return githubadapter.New(githubadapter.Options{
		APIURL:         g.APIURL,
		Token:          g.Token.Value(),
		AppID:          g.AppID,
		InstallationID: g.InstallationID,
		AppPrivateKey:  []byte(g.AppPrivateKey.Value()),
		Clock:          clk,
		Logger:         logger.With("adapter", "github"),
	})
}

// startGitHubIntake builds GitHub's report sources from cfg.GitHub, on
// client (nil when GitHub is not configured: then there are none):
//
//   - the webhook receiver is mounted on the engine's mux at
//     POST /hooks/github when github.webhook_secret is set (config
//     validation makes sure http.listen is on then); merged pull requests
//     go to prs.
//   - run polls github.organizations and github.repositories until ctx
//     ends; it is nil when there is nothing to poll.
//
// Everything is checked here and nothing connects. Reports go to sink, on
// the engine's clock and store (delivery ids are kept there).
func startGitHubIntake(cfg *config.Config, e *bot.Engine, client *githubadapter.Client, sink intake.Sink, prs githubadapter.PullRequestHandler, logger *slog.Logger) (run func(ctx context.Context) error, err error) {
	g := cfg.GitHub
	if client == nil {
		return nil, nil
	}
	logger = logger.With("adapter", "github")
	intakeOn := !g.WebhookSecret.IsZero() || len(g.Organizations) > 0 || len(g.Repositories) > 0
	if intakeOn && sink == nil {
		return nil, errors.New("github: the webhook or poller is configured but no report sink was given")
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
			return nil, err
		}
		w.Mount(e.HTTP())
	}
	if len(g.Organizations) == 0 && len(g.Repositories) == 0 {
		return nil, nil
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
		return nil, fmt.Errorf("github: %w", err)
	}
	return p.Run, nil
}
