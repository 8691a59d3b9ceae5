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
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/store"
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
	e        *bot.Engine
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
func Register(e *bot.Engine, o Options) (*Reports, error) {
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
	if err := e.RegisterForm(r.newReportForm()); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := e.Register(r.command()); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	e.HandleJob(jobClock, r.runClock)
	e.HandleJob(jobMail, r.runMail)
	e.HandleJob(jobGitHub, r.runGitHub)
	e.HandleJob(jobAnnounce, r.runAnnounce)
	team := []bot.Role{bot.RoleResponder, bot.RoleAdmin}
	e.HandleAction(&bot.Action{Name: actionAck, Roles: team, Run: r.pressAck})
	e.HandleAction(&bot.Action{Name: actionCheck, Roles: team, Run: r.pressCheck})
	r.mountAPI(e.HTTP())
	return r, nil
}

// ---- storage ----

func (r *Reports) load(ctx context.Context, id string) (*Report, int64, error) {
	rep, version, err := store.GetJSON[Report](ctx, r.e.Store(), reportColl, strings.ToUpper(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, bot.Usagef("there is no report %s", strings.ToUpper(id))
	}
	return rep, version, err
}

// update changes a report with compare-and-swap, retrying on conflict.
func (r *Reports) update(ctx context.Context, id string, change func(rep *Report) error) (*Report, error) {
	for range 5 {
		rep, version, err := r.load(ctx, id)
		if err != nil {
			return nil, err
		}
		before := *rep
		before.Adjudications = append([]Adjudication(nil), rep.Adjudications...)
		if err := change(rep); err != nil {
			return nil, err
		}
		data, err := json.Marshal(rep)
		if err != nil {
			return nil, err
		}
		_, err = r.e.Store().Put(ctx, reportColl, rep.ID, data, version)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("save report %s: %w", rep.ID, err)
		}
		if !rep.open() {
			if err := r.e.Store().SetRemove(ctx, openSet, rep.ID); err != nil {
				return nil, err
			}
		}
		if before.State != rep.State || before.EffectiveSeverity() != rep.EffectiveSeverity() {
			for _, w := range r.watchers {
				if err := w(ctx, &before, rep); err != nil {
					return rep, fmt.Errorf("report %s changed, but a follower failed: %w", rep.ID, err)
				}
			}
		}
		return rep, nil
	}
	return nil, fmt.Errorf("save report %s: %w", id, store.ErrConflict)
}

// openReports lists the reports still needing work, oldest first.
func (r *Reports) openReports(ctx context.Context) ([]*Report, error) {
	ids, err := r.e.Store().SetMembers(ctx, openSet)
	if err != nil {
		return nil, fmt.Errorf("open reports: %w", err)
	}
	out := make([]*Report, 0, len(ids))
	for _, id := range ids {
		rep, _, err := r.load(ctx, id)
		var ue *bot.UsageError
		if errors.As(err, &ue) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out, nil
}

// nextID allocates VIG-<year>-<n> from the store's atomic counter for the
// year, so concurrent intake on any replica never collides or retries.
func (r *Reports) nextID(ctx context.Context, year int) (string, error) {
	n, err := r.e.Store().Incr(ctx, "report:"+strconv.Itoa(year))
	if err != nil {
		return "", fmt.Errorf("report counter: %w", err)
	}
	return fmt.Sprintf("VIG-%d-%d", year, n), nil
}

// ---- intake ----

func sourceKey(in intake.Incoming) string { return string(in.Source) + ":" + in.SourceID }

// announceJobID names the job that posts a stored report to the room. It
// is written in the same batch as the report, so a report is never stored
// without the work that announces it.
func announceJobID(id string) string { return "report:" + id + ":announce" }

// Receive files an incoming report. See intake.Sink.
//
// The report, its source index, its attachments, its place in the open
// list, its acknowledgement clock and the job that announces it are one
// atomic write: either all of it is stored or none, so a source hears
// "stored" only when it is, and a failure only when nothing was kept.
// Announcing (the thread in the private room, the assignee's DM) comes
// after, through the outbox: if it cannot happen now (no private room is
// usable, the process dies), the announce job does it later, once.
func (r *Reports) Receive(ctx context.Context, in intake.Incoming) (intake.Result, error) {
	// Every source cleans its text already; doing it here as well means a
	// new source cannot forget (it is idempotent).
	intake.Normalize(&in)
	in.Title = in.Title.TrimSpace()
	in.Description = in.Description.TrimSpace()
	if in.Title == "" && in.Description == "" {
		return intake.Result{}, fmt.Errorf("%w: a report needs a title or a description", intake.ErrInvalid)
	}
	if in.Title == "" {
		in.Title = in.Description.FirstLine().Truncate(80)
	}
	if in.SourceID == "" {
		return intake.Result{}, fmt.Errorf("%w: no source id to recognise a repeat by", intake.ErrInvalid)
	}
	if in.Received.IsZero() {
		in.Received = r.e.Clock().Now()
	}
	if res, ok, err := r.threadReply(ctx, in); ok || err != nil {
		return res, err
	}
	if rep, err := r.bySource(ctx, sourceKey(in)); err != nil {
		return intake.Result{}, err
	} else if rep != nil {
		return r.repeat(ctx, in, rep)
	}
	rep := &Report{
		Title: in.Title, Description: in.Description, Source: in.Source, SourceID: in.SourceID,
		URL: in.URL, Reporter: in.Reporter, Received: in.Received, AckDue: in.Received.Add(r.o.AckWindow),
		State: StateNew, Repos: in.Repositories, Notes: in.Notes, GitHubRepo: in.GitHubRepo, GHSA: in.GHSA,
		Checklist: append([]Item(nil), checklist...),
	}
	for _, a := range in.Attachments {
		rep.Attachments = append(rep.Attachments, AttachmentInfo{Name: a.Name, ContentType: a.ContentType, Size: a.Size, Truncated: a.Truncated})
	}
	if r.o.Duty != nil {
		if p, err := r.o.Duty.OnDuty(ctx, r.o.Rotation, r.e.Clock().Now()); err == nil && p != nil {
			rep.Assignee = p.Name
		} else if err != nil && !isNotice(err) {
			r.e.Logger().Warn("report: could not ask who is on duty; leaving it unassigned", "err", err)
		}
	}
	// An id the counter hands out may already be taken by a report filed
	// before the counter existed; the batch refuses it and the next one is
	// tried. Each try writes nothing unless it succeeds.
	for range 10_000 {
		id, err := r.nextID(ctx, in.Received.Year())
		if err != nil {
			return intake.Result{}, err
		}
		rep.ID = id
		ops, err := r.intakeOps(rep, in)
		if err != nil {
			return intake.Result{}, err
		}
		_, err = r.e.Store().Apply(ctx, ops...)
		var conflict *store.ConflictError
		switch {
		case err == nil:
		case errors.As(err, &conflict) && conflict.Collection == reportColl:
			continue
		case errors.As(err, &conflict) && conflict.Collection == sourceColl:
			// The same report arrived twice at once; the other one won and
			// nothing of ours was written.
			other, err := r.bySource(ctx, sourceKey(in))
			if err != nil || other == nil {
				return intake.Result{}, fmt.Errorf("store report: concurrent duplicate: %w", errors.Join(err, store.ErrConflict))
			}
			return r.repeat(ctx, in, other)
		default:
			return intake.Result{}, fmt.Errorf("store report %s: %w", id, err)
		}
		r.e.Observer().Intake(string(in.Source), true)
		if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "report.received", Target: id, Detail: fmt.Sprintf("from %s, assigned to %s", in.Source, orNone(rep.Assignee))}); err != nil {
			r.e.Logger().Warn("report stored, but its audit entry was not", "report", id, "err", err)
		}
		// The report is stored: from here on, nothing may turn the answer
		// into a failure (the source would send it again). Announcing now
		// is only the fast path; the announce job in the batch is the
		// guarantee.
		r.announceNow(ctx, rep)
		return intake.Result{ReportID: id, Created: true}, nil
	}
	return intake.Result{}, fmt.Errorf("store report: no free report id: %w", store.ErrConflict)
}

// intakeOps are the writes that file a new report, as one batch.
func (r *Reports) intakeOps(rep *Report, in intake.Incoming) ([]store.Op, error) {
	data, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	ops := []store.Op{store.PutOp(reportColl, rep.ID, data, store.NewDoc)}
	for i, a := range in.Attachments {
		blob, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		ops = append(ops, store.PutOp(attachmentColl, fmt.Sprintf("%s/%d", rep.ID, i), blob, store.AnyVersion))
	}
	ops = append(ops,
		store.PutOp(sourceColl, sourceKey(in), []byte(rep.ID), store.NewDoc),
		store.SetAddOp(openSet, rep.ID),
	)
	jobs := append(r.clockJobs(rep), bot.Job{ID: announceJobID(rep.ID), Kind: jobAnnounce, Due: r.e.Clock().Now(), Payload: idPayload(rep.ID)})
	for _, j := range jobs {
		jops, err := r.e.Scheduler().ScheduleOps(j)
		if err != nil {
			return nil, err
		}
		ops = append(ops, jops...)
	}
	return ops, nil
}

// repeat answers a report that arrived before with the same report, and
// repairs what an earlier arrival left undone (a report filed before
// intake was atomic may lack its open-list entry or its announcement).
func (r *Reports) repeat(ctx context.Context, in intake.Incoming, rep *Report) (intake.Result, error) {
	r.e.Observer().Intake(string(in.Source), false)
	if rep.open() {
		if err := r.e.Store().SetAdd(ctx, openSet, rep.ID); err != nil {
			return intake.Result{}, fmt.Errorf("report %s: %w", rep.ID, err)
		}
	}
	if _, err := r.e.Scheduler().Get(ctx, announceJobID(rep.ID)); err == nil {
		r.announceNow(ctx, rep)
	} else if !errors.Is(err, store.ErrNotFound) {
		return intake.Result{}, err
	}
	return intake.Result{ReportID: rep.ID}, nil
}

// announceNow queues the report's announcement and, once that is queued,
// removes the announce job. Failing here loses nothing: the job stays and
// the scheduler runs it.
func (r *Reports) announceNow(ctx context.Context, rep *Report) {
	if err := r.announce(ctx, rep); err != nil {
		r.e.Logger().Info("report stored; its announcement will be retried", "report", rep.ID, "err", err)
		return
	}
	if err := r.e.Scheduler().Cancel(ctx, announceJobID(rep.ID)); err != nil {
		r.e.Logger().Debug("announce job left to run (harmless: announcing is idempotent)", "report", rep.ID, "err", err)
	}
}

// runAnnounce is the announce job: a report stored but not yet announced.
func (r *Reports) runAnnounce(ctx context.Context, job bot.Job) error {
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("announce job %s: %w", job.ID, err)
	}
	rep, _, err := r.load(ctx, p.ID)
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return nil // the report is gone
	}
	if err != nil {
		return err
	}
	return r.announce(ctx, rep)
}

func idPayload(id string) json.RawMessage {
	b, _ := json.Marshal(struct {
		ID string `json:"id"`
	}{id})
	return b
}

func isNotice(err error) bool {
	var n *bot.NoticeError
	return errors.As(err, &n)
}

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return "@" + s
}

func (r *Reports) bySource(ctx context.Context, key string) (*Report, error) {
	doc, err := r.e.Store().Get(ctx, sourceColl, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report source %s: %w", key, err)
	}
	rep, _, err := r.load(ctx, string(doc.Data))
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return nil, nil // index without its report: file it again
	}
	return rep, err
}

// threadReply threads a reporter's answer to one of Vigil's mails into its
// report. It reports whether in was such a reply.
func (r *Reports) threadReply(ctx context.Context, in intake.Incoming) (intake.Result, bool, error) {
	for _, ref := range in.InReplyTo {
		doc, err := r.e.Store().Get(ctx, mailIDColl, normalizeMsgID(ref))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return intake.Result{}, true, err
		}
		rep, _, err := r.load(ctx, string(doc.Data))
		if err != nil {
			return intake.Result{}, true, err
		}
		// A redelivered reply is posted once: its outbox id is its source id.
		msg := bot.Message{
			Header:    "Reply from the reporter",
			Text:      in.Description.Truncate(3000).String(),
			Context:   fmt.Sprintf("%s · %s · %s", rep.ID, bot.Untrusted(in.Reporter.Email), in.Received.Format(time.RFC3339)),
			Sensitive: true,
		}
		if err := r.postInThread(ctx, rep, "reply:"+sourceKey(in), msg); err != nil {
			return intake.Result{}, true, err
		}
		if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "report.reporter-reply", Target: rep.ID, Detail: "by " + string(in.Source)}); err != nil {
			return intake.Result{}, true, err
		}
		return intake.Result{ReportID: rep.ID, Reply: true}, true, nil
	}
	return intake.Result{}, false, nil
}

func normalizeMsgID(id string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(id), "<>"))
}

// announce queues the report's thread and the assignee's DM. Both are
// idempotent (fixed outbox ids), so the announce job may run it again after
// a crash. The thread goes to "the security room", resolved when it is
// sent: while no private room is usable (the bot not yet invited, chat
// down) it waits in the outbox and goes out once one is. The clock is not
// planned here: it is stored with the report.
func (r *Reports) announce(ctx context.Context, rep *Report) error {
	if err := r.e.PostRoot(ctx, rootID(rep.ID), bot.ToSecurityRoom(), r.summary(rep)); err != nil {
		return err
	}
	if rep.Assignee != "" {
		return r.dmAssignee(ctx, rep, "report:"+rep.ID+":assigned:"+rep.Assignee)
	}
	return nil
}

func (r *Reports) dmAssignee(ctx context.Context, rep *Report, id string) error {
	p, ok := r.e.Directory().ByName(rep.Assignee)
	if !ok {
		return nil
	}
	to, ok := r.e.DMFor(p, "")
	if !ok {
		return nil
	}
	text := fmt.Sprintf("*%s*\nReceived %s from %s.", rep.Title, fmtTime(rep.Received), sourceText(rep))
	header, hint := "Report assigned to you: "+rep.ID, "Details are in the report's thread in the private room."
	if rep.State == StateNew {
		header = "New report assigned to you: " + rep.ID
		// Only a new report has an acknowledgement to give.
		text += " Acknowledge by " + fmtTime(rep.AckDue) + "."
		hint += " `/sec report ack " + rep.ID + "` when the reporter has been answered."
	} else {
		text += " It is " + string(rep.State) + "."
	}
	return r.e.Post(ctx, id, to, bot.Message{
		Header:    header,
		Text:      text,
		Context:   hint,
		Sensitive: true,
	})
}

// postInThread posts a durable message in the report's thread.
func (r *Reports) postInThread(ctx context.Context, rep *Report, id string, msg bot.Message) error {
	return r.e.Post(ctx, "report:"+rep.ID+":"+id, bot.ToThreadOf(bot.SecurityRoomRef, rootID(rep.ID)), msg)
}

func fmtTime(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }

func sourceText(rep *Report) string {
	switch rep.Source {
	case intake.SourceGitHub:
		return "GitHub private vulnerability reporting"
	case intake.SourceEmail:
		return "the security mailbox"
	case intake.SourceAPI:
		return "the intake API"
	case intake.SourceManual:
		return "a team member's form"
	}
	return string(rep.Source)
}

func reporterText(rep *Report) string {
	// Every part came from outside: the brackets around the address go
	// inside the untrusted run, so Slack never reads them as a link.
	rp := rep.Reporter
	var parts []string
	if rp.Name != "" {
		parts = append(parts, rp.Name.String())
	}
	if rp.Email != "" {
		parts = append(parts, bot.Untrusted("<"+rp.Email+">").String())
	}
	if rp.GitHub != "" {
		parts = append(parts, "GitHub "+bot.Untrusted("@"+rp.GitHub).String())
	}
	if len(parts) == 0 {
		return "anonymous"
	}
	s := strings.Join(parts, " ")
	if rp.Credit {
		s += " (wants credit)"
	}
	return s
}

// summary is the thread's root message.
func (r *Reports) summary(rep *Report) bot.Message {
	fields := []bot.Field{
		{Label: "Source", Value: sourceText(rep)},
		{Label: "Reporter", Value: reporterText(rep)},
		{Label: "Received", Value: fmtTime(rep.Received)},
		ackField(rep),
		{Label: "Assignee", Value: orNone(rep.Assignee)},
	}
	if len(rep.Repos) > 0 {
		fields = append(fields, bot.Field{Label: "Repositories", Value: bot.Untrusted(strings.Join(rep.Repos, ", ")).String()})
	}
	if rep.GHSA != "" {
		fields = append(fields, bot.Field{Label: "Advisory", Value: bot.Untrusted(rep.GitHubRepo + " " + rep.GHSA).String()})
	}
	if len(rep.Attachments) > 0 {
		var names []string
		for _, a := range rep.Attachments {
			n := fmt.Sprintf("%s (%s, %d bytes)", a.Name, bot.Untrusted(a.ContentType), a.Size)
			if a.Truncated {
				n += " [cut]"
			}
			names = append(names, n)
		}
		fields = append(fields, bot.Field{Label: "Attachments (not shown)", Value: strings.Join(names, "\n")})
	}
	text := rep.Description.Truncate(2500).String()
	for _, n := range rep.Notes {
		text += "\n⚠ " + n.String()
	}
	return bot.Message{
		Header:    rep.ID + ": " + rep.Title.Truncate(120).String(),
		Text:      text,
		Fields:    fields,
		Buttons:   actions(rep),
		Context:   checklistText(rep.Checklist),
		Sensitive: true,
		Mentions:  r.assigneeRefs(rep),
	}
}

// ackField is the acknowledgement clock while the report is new, and when
// it was acknowledged afterwards: a report past "new" has no deadline to
// meet any more.
func ackField(rep *Report) bot.Field {
	switch {
	case rep.State == StateNew:
		return bot.Field{Label: "Acknowledge by", Value: fmtTime(rep.AckDue)}
	case !rep.AckedAt.IsZero():
		return bot.Field{Label: "Acknowledged", Value: fmtTime(rep.AckedAt)}
	}
	return bot.Field{Label: "Acknowledged", Value: "yes"}
}

// actions are the buttons the report's state allows: Acknowledge only
// while the state machine can still move it to acknowledged, and a tick
// for each checklist item not yet done (a ticked one is only a notice).
func actions(rep *Report) []bot.Button {
	var buttons []bot.Button
	if CanMove(rep.State, StateAcknowledged) {
		buttons = append(buttons, bot.Button{Label: "Acknowledge", Action: actionAck, Value: rep.ID, Style: bot.ButtonPrimary})
	}
	for _, it := range checklist {
		if done := rep.item(it.Key); done != nil && done.Done {
			continue
		}
		buttons = append(buttons, bot.Button{Label: "✓ " + shortLabel(it.Key), Action: actionCheck, Value: rep.ID + "|" + it.Key})
	}
	return buttons
}

// assigneeRefs is whom the summary means to notify: the assignee only.
func (r *Reports) assigneeRefs(rep *Report) []bot.UserRef {
	if rep.Assignee == "" {
		return nil
	}
	p, ok := r.e.Directory().ByName(rep.Assignee)
	if !ok {
		return nil
	}
	return p.ChatRefs()
}

func shortLabel(key string) string {
	switch key {
	case "verify":
		return "Verified"
	case "reply":
		return "Replied"
	case "forward":
		return "Forwarded"
	case "repos":
		return "Repos identified"
	case "score":
		return "Scored"
	case "advisory":
		return "Advisories opened"
	case "notify":
		return "Maintainers notified"
	}
	return key
}

func checklistText(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		mark := "☐"
		if it.Done {
			mark = "☑"
		}
		parts[i] = mark + " " + it.Label
	}
	return "Checklist: " + strings.Join(parts, " · ")
}
