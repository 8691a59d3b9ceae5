package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/internal/httpserver"
	"github.com/vigil-sec/vigil/internal/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestMetricsFollowTheEngine(t *testing.T) {
	m := metrics.New()
	h := bottest.New(t, bottest.Options{Observer: m})
	m.Watch(h.Engine, slog.New(slog.DiscardHandler))
	h.Command("bob", "help")
	h.Command("bob", "hepl")
	h.Command("mallory", "help")
	h.Engine.Observer().Intake("api", true)
	h.Engine.Observer().Intake("api", false)
	// A job that runs 90 seconds late and a message stuck behind an outage.
	h.Engine.HandleJob("late", func(context.Context, bot.Job) error { return nil })
	_ = h.Engine.Scheduler().Schedule(context.Background(), bot.Job{ID: "j", Kind: "late", Due: h.Clock.Now()})
	h.Chat.Fail = func(_ bot.Destination, m bot.Message) error {
		if m.Text == "refused" {
			return bot.ErrRejected
		}
		return bot.ErrUnavailable
	}
	_ = h.Engine.Post(context.Background(), "stuck", bot.ToRoom(bottest.Room, bot.ThreadRef{}), bot.Text("x"))
	// A message the chat refuses for good becomes a dead letter.
	_ = h.Engine.Post(context.Background(), "refused", bot.ToUser(bot.UserRef{Adapter: "test", ID: "bob"}), bot.Text("refused"))
	h.Clock.Advance(90 * time.Second)
	h.Engine.Step(context.Background())
	h.Clock.Advance(time.Minute)

	out := scrape(t, m)
	for _, want := range []string{
		`vigil_commands_total{outcome="ok",verb="help"} 2`,
		`vigil_command_duration_seconds_count{verb="help"} 2`,
		`vigil_intake_total{repeat="false",source="api"} 1`,
		`vigil_intake_total{repeat="true",source="api"} 1`,
		`vigil_jobs_total{kind="late",result="ok"} 1`,
		`vigil_job_lag_seconds_sum{kind="late"} 90`,
		`vigil_deliveries_total{adapter="test",result="unavailable"}`,
		`vigil_deliveries_total{adapter="test",result="ok"}`,
		`vigil_outbox_dead_letters_total{adapter="test",reason="rejected"} 1`,
		`vigil_outbox_depth 2`,
		`vigil_adapter_connected{adapter="test"} 1`,
		`vigil_store_up 1`,
		"go_goroutines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The misspelt verb never reached a command, so it is not a series.
	if strings.Contains(out, `verb="hepl"`) {
		t.Error("an unknown verb became a label: unbounded cardinality")
	}
}

func TestAuthFailuresAndThrottlesAreCounted(t *testing.T) {
	m := metrics.New()
	var obs httpserver.AuthObserver = m
	obs.AuthFailure("/api/v1/reports")
	obs.AuthFailure("/api/v1/reports")
	obs.AuthFailure("/duty/{file}")
	obs.Throttled("/api/v1/reports", "auth_failures")
	out := scrape(t, m)
	for _, want := range []string{
		`vigil_auth_failures_total{route="/api/v1/reports"} 2`,
		`vigil_auth_failures_total{route="/duty/{file}"} 1`,
		`vigil_http_throttled_total{reason="auth_failures",route="/api/v1/reports"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
