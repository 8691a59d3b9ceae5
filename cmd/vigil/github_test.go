package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
)

type githubSink struct{ got []intake.Incoming }

func (s *githubSink) Receive(_ context.Context, in intake.Incoming) (intake.Result, error) {
	s.got = append(s.got, in)
	return intake.Result{ReportID: "VIG-2026-1", Created: true}, nil
}

func TestStartGitHub(t *testing.T) {
	newEngine := func() *bot.Engine {
		e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start)})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	logger := slog.New(slog.DiscardHandler)
	// start builds the client and the intake as run does.
	start := func(cfg *config.Config, e *bot.Engine, sink intake.Sink) (*githubadapter.Client, func(context.Context) error, error) {
		c, err := newGitHubClient(cfg, e.Clock(), logger)
		if err != nil {
			return nil, nil, err
		}
		run, err := startGitHubIntake(cfg, e, c, sink, nil, logger)
		return c, run, err
	}

	c, run, err := start(config.Default(), newEngine(), nil)
	if c != nil || run != nil || err != nil {
		t.Fatalf("GitHub not configured: %v %v %v, want all nil", c, run != nil, err)
	}

	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.GitHub.Token = config.NewSecret("github_pat_SECRET")
	cfg.GitHub.WebhookSecret = config.NewSecret("hook")
	cfg.GitHub.Repositories = []string{"acme/web"}
	e := newEngine()
	sink := &githubSink{}
	c, run, err = start(cfg, e, sink)
	if err != nil || c == nil || run == nil {
		t.Fatalf("token, webhook and a repository: %v %v %v", c, run != nil, err)
	}
	// The webhook is on the engine's mux and checks signatures.
	body := []byte(`{"zen":"hi"}`)
	for sig, want := range map[string]int{"sha256=00": http.StatusUnauthorized, githubadapter.Sign("hook", body): http.StatusOK} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "ping")
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		e.HTTP().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("ping signed %q: %d, want %d", sig, rec.Code, want)
		}
	}

	cfg.GitHub.Token = config.Secret{}
	cfg.GitHub.AppID, cfg.GitHub.InstallationID = 1, 2
	cfg.GitHub.AppPrivateKey = config.NewSecret("-----BEGIN RSA PRIVATE KEY-----\nSECRET\n-----END RSA PRIVATE KEY-----")
	if _, _, err := start(cfg, newEngine(), sink); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("unparsable app key: %v, want an error that does not show the key", err)
	}

	cfg = config.Default()
	cfg.GitHub.Token = config.NewSecret("github_pat_SECRET")
	cfg.GitHub.Repositories = []string{"acme/web"}
	if _, _, err := start(cfg, newEngine(), nil); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("poller without a sink: %v, want an error", err)
	}
}
