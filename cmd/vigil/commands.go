package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/advisory"
	"github.com/vigil-sec/vigil/commands/core"
	"github.com/vigil-sec/vigil/commands/cvss"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/remind"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
	"github.com/vigil-sec/vigil/config"
)

// features are the registered feature packages that need a start-up step
// once the store is reachable and the directory loaded.
type features struct {
	duty       *duty.Duty
	reports    *report.Reports
	advisories *advisory.Advisories
	incidents  *incident.Incidents
	releases   *release.Releases
	reminders  *remind.Reminders
	stats      *stats.Stats
}

// services are the outside services features call. They need nothing
// from the features (only the report sources do, and those are built
// after them: startEmailIntake, startGitHubIntake), so they are built
// first and each feature gets them in its Options at Register. A nil field is a service that is
// not configured; the features say so where they would use it.
type services struct {
	mailer intake.Mailer         // outbound mail (email.outbound)
	github *githubadapter.Client // the GitHub API (github:)
	// signedBy is the fingerprint of releases.signing_key, which signs
	// the release mails; "" when they go unsigned.
	signedBy string
	forum    *forum // the announcement forum (discourse:), resolved at start
}

// registerCommands adds every feature's commands, jobs and forms to the
// engine. Each feature package exports one Register; there is no central
// switch on verbs.
func registerCommands(e *bot.Engine, cfg *config.Config, svc services) (*features, error) {
	if err := core.Register(e); err != nil {
		return nil, err
	}
	d, err := duty.Register(e, dutyOptions(cfg))
	if err != nil {
		return nil, err
	}
	reports, err := report.Register(e, reportOptions(cfg, d, svc))
	if err != nil {
		return nil, err
	}
	// Whoever takes over duty inherits the open reports and their clocks.
	d.AddContributor(reports.Inheritance)
	// A scoring dialog started for a report stores its score there.
	if _, err := cvss.Register(e, cvss.Options{OnScored: reports.StoreScore}); err != nil {
		return nil, err
	}
	rem, err := remind.Register(e, reminderOptions(cfg, reports))
	if err != nil {
		return nil, err
	}
	// Maintainers told of an advisory are reminded until it is fixed.
	ao := advisory.Options{Reports: reports, Organizations: cfg.GitHub.Organizations, OnNotified: rem.Track}
	if svc.github != nil {
		ao.GitHub = githubAdvisories{c: svc.github}
	}
	advs, err := advisory.Register(e, ao)
	if err != nil {
		return nil, err
	}
	incs, err := registerIncidents(e, cfg, svc.github)
	if err != nil {
		return nil, err
	}
	rels, err := registerReleases(e, cfg, reports, d, svc)
	if err != nil {
		return nil, err
	}
	st, err := stats.Register(e, statsOptionsFrom(cfg, teamZone(cfg)))
	if err != nil {
		return nil, err
	}
	return &features{duty: d, reports: reports, advisories: advs, incidents: incs, releases: rels, reminders: rem, stats: st}, nil
}

func reportOptions(cfg *config.Config, d *duty.Duty, svc services) report.Options {
	o := report.Options{
		AckWindow:      time.Duration(cfg.Reports.AckWindow),
		RoomPingBefore: time.Duration(cfg.Reports.RoomPingBefore),
		APIToken:       cfg.Reports.APIToken.Value(),
		MaxAPIBody:     cfg.HTTP.MaxBodyBytes,
		Rotation:       cfg.Reports.Rotation,
		Duty:           d,
		Mailer:         svc.mailer,
	}
	if svc.github != nil { // a nil *Client in the interface would not be nil
		o.Advisories = svc.github
	}
	for _, op := range cfg.Reports.Operators {
		o.Operators = append(o.Operators, report.Operator{Name: op.Name, Domain: op.Domain, Contact: op.Contact})
	}
	return o
}

func reminderOptions(cfg *config.Config, reports *report.Reports) remind.Options {
	o := remind.Options{
		Reports:    reports,
		Cadence:    map[string]time.Duration{},
		Window:     time.Duration(cfg.Reminders.Window),
		QuietFrom:  cfg.Reminders.QuietFrom,
		QuietUntil: cfg.Reminders.QuietUntil,
	}
	for sev, d := range cfg.Reminders.Cadence.Periods() {
		o.Cadence[sev] = time.Duration(d)
	}
	return o
}

func dutyOptions(cfg *config.Config) duty.Options {
	o := duty.Options{NoticeBefore: time.Duration(cfg.Duty.NoticeBefore), ICalToken: cfg.Duty.ICalToken.Value()}
	for _, r := range cfg.Duty.Rotations {
		o.Rotations = append(o.Rotations, duty.RotationSpec{Name: r.Name, Members: r.Members, Shift: r.Shift, Handoff: r.Handoff, Default: r.Default})
	}
	return o
}

// checkFeatures reports configuration problems only the features can judge
// (rotation shift and hand-off syntax), for check-config.
func checkFeatures(cfg *config.Config) error {
	var msgs []string
	for _, err := range duty.CheckSpecs(dutyOptions(cfg).Rotations) {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return nil
}

// start runs the features' start-up steps.
func (f *features) start(ctx context.Context) error {
	if err := f.duty.Sync(ctx); err != nil {
		return err
	}
	return f.stats.Start(ctx)
}

// newServices builds the clients of the outside services from cfg; each is
// nil when its service is not configured. Their timers run on clk.
func newServices(cfg *config.Config, clk clock.Clock, logger *slog.Logger) (services, error) {
	mailer, signedBy, err := newMailer(cfg, clk, logger)
	if err != nil {
		return services{}, fmt.Errorf("email: %w", err)
	}
	gh, err := newGitHubClient(cfg, clk, logger)
	if err != nil {
		return services{}, fmt.Errorf("github: %w", err)
	}
	return services{mailer: mailer, github: gh, signedBy: signedBy}, nil
}
