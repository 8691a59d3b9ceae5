// Package report files vulnerability reports from every source into the
// private security room, one thread each, assigned to whoever is on duty,
// with the triage checklist and the acknowledgement clock.
//
// Nothing is lost: Receive returns only once the report is stored and its
// post and clock jobs are queued, so a source acknowledges only then; and
// the same report arriving twice (same source and source id) is one report.
// Report details are sensitive: they go only to the private room and to the
// team by DM.
package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

const (
	reportColl     = "reports"
	sourceColl     = "report.sources"
	mailIDColl     = "report.mailids"
	attachmentColl = "report.attachments"
	openSet        = "reports:open"
	jobClock       = "report.clock"
	jobMail        = "report.mail"
	jobGitHub      = "report.github"
	jobAnnounce    = "report.announce"
)

// OnDuty tells who is on duty; the duty feature provides it.
type OnDuty interface {
	OnDuty(ctx context.Context, rotation string, t time.Time) (*bot.Person, error)
}

// AdvisoryStates moves a GitHub advisory between states; the GitHub
// adapter provides it.
type AdvisoryStates interface {
	SetAdvisoryState(ctx context.Context, repo, ghsa, state string) error
}

// Operator runs an instance of the software (a hosting provider, a
// distribution); operator-specific reports are forwarded to them.
type Operator struct {
	Name    string
	Domain  string
	Contact string // email address
}

// Options configure the feature.
type Options struct {
	// AckWindow is how long the team has to acknowledge (48h). The person
	// assigned is pinged at half time, the room RoomPingBefore the end
	// (8h, so at 40h), and a breach is recorded at the end.
	AckWindow      time.Duration
	RoomPingBefore time.Duration
	// APIToken enables POST /api/v1/reports (bearer token).
	APIToken string
	// MaxAPIBody caps intake API bodies (413 past it); default 1 MiB.
	MaxAPIBody int64
	Operators  []Operator
	Duty       OnDuty
	// Rotation is the duty rotation reports are assigned from ("" = the
	// default one).
	Rotation string
	// Mailer sends reporter replies and forwards; without one, replies
	// are noted in the thread as to be sent by hand.
	Mailer intake.Mailer
	// Advisories, when GitHub is configured, moves a GitHub report's
	// advisory from triage to draft when the report is accepted.
	Advisories AdvisoryStates
}

// Reports is the report feature. It implements intake.Sink.
type Reports struct {
	e        Engine
	o        Options
	watchers []Watcher
	notified []NotifiedHook
}

// Watcher is told when a report's effective severity or state changed,
// after the change is stored (reminders re-plan, stop when released).
type Watcher func(ctx context.Context, before, after *Report) error

// Watch registers a watcher. Register watchers at start, before events flow.
func (r *Reports) Watch(w Watcher) { r.watchers = append(r.watchers, w) }

var _ intake.Sink = (*Reports)(nil)

// Register validates the options and adds the report commands, jobs, form,
// buttons and the intake API route. It does no I/O.
func Register(e Engine, o Options) (*Reports, error) {
	if o.AckWindow <= 0 {
		o.AckWindow = 48 * time.Hour
	}
	if o.RoomPingBefore <= 0 {
		o.RoomPingBefore = 8 * time.Hour
	}
	if o.RoomPingBefore >= o.AckWindow {
		return nil, fmt.Errorf("report: the room ping (%s before) must fall inside the acknowledgement window (%s)", o.RoomPingBefore, o.AckWindow)
	}
	if o.MaxAPIBody <= 0 {
		o.MaxAPIBody = 1 << 20
	}
	seen := map[string]bool{}
	for _, op := range o.Operators {
		if op.Name == "" || !strings.Contains(op.Contact, "@") {
			return nil, fmt.Errorf("report: operator %q needs a name and a contact email address", op.Name)
		}
		if seen[strings.ToLower(op.Name)] {
			return nil, fmt.Errorf("report: operator %q is listed twice", op.Name)
		}
		seen[strings.ToLower(op.Name)] = true
	}
	r := &Reports{e: e, o: o}
	for _, f := range []*bot.Form{r.newReportForm(), r.rejectForm()} {
		if err := e.RegisterForm(f); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	if err := e.Register(r.command()); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	// `report list` reads the open reports on every call; they change far
	// less often than they are listed.
	e.CacheDocs(reportColl, openSet)
	e.HandleJob(jobClock, r.runClock)
	e.HandleJob(jobMail, r.runMail)
	e.HandleJob(jobGitHub, r.runGitHub)
	e.HandleJob(jobAnnounce, r.runAnnounce)
	team := bot.TeamRoles()
	e.HandleAction(&bot.Action{Name: actionAck, Roles: team, Run: r.pressAck})
	e.HandleAction(&bot.Action{Name: actionCheck, Roles: team, Run: r.pressCheck})
	e.HandleAction(&bot.Action{Name: actionClose, Roles: team, Run: r.pressClose, Confirm: confirmClose})
	e.HandleAction(&bot.Action{Name: actionReject, Roles: team, Run: r.pressReject, Confirm: confirmReject})
	r.mountAPI(e.HTTP())
	return r, nil
}
