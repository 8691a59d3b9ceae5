package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/internal/reconnect"
)

func TestChatAdaptersSlack(t *testing.T) {
	newEngine := func() *bot.Engine {
		e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start)})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	logger := slog.New(slog.DiscardHandler)

	cfg := config.Default()
	chats, err := chatAdapters(cfg, newEngine(), logger, reconnect.Backoff{})
	if err != nil || len(chats) != 0 {
		t.Fatalf("no Slack configured: %d adapters, %v", len(chats), err)
	}

	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Slack.Mode = config.SlackHTTP
	cfg.Slack.BotToken = config.NewSecret("xoxb-1")
	cfg.Slack.SigningSecret = config.NewSecret("sig")
	e := newEngine()
	chats, err = chatAdapters(cfg, e, logger, reconnect.Backoff{})
	if err != nil || len(chats) != 1 || chats[0].Name() != bot.AdapterSlack {
		t.Fatalf("Slack in http mode: %v, %v", chats, err)
	}
	// The Events API routes are on the engine's mux, and check signatures.
	srv := httptest.NewServer(e.HTTP())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/slack/events", "application/json", strings.NewReader(`{"type":"url_verification","challenge":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request to /slack/events: %d, want 401", resp.StatusCode)
	}

	cfg = config.Default()
	cfg.Slack.BotToken = config.NewSecret("xoxb-1") // socket mode without an app token
	if _, err := chatAdapters(cfg, newEngine(), logger, reconnect.Backoff{}); err == nil || strings.Contains(err.Error(), "xoxb-1") {
		t.Errorf("socket mode without app token: %v, want an error without the token", err)
	}
}
