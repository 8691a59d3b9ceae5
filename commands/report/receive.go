package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/store"
)

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
		// A redelivered reply is posted once: its outbox id is its source
		// id (and the part's number after the first). A long one is posted
		// whole, in order, in parts.
		first := bot.Message{Header: "Reply from the reporter", Sensitive: true}
		whole := fmt.Sprintf("%s · %s · %s", rep.ID, bot.Untrusted(in.Reporter.Email), in.Received.Format(time.RFC3339))
		for i, msg := range inParts(first, whole, in.Description) {
			id := "reply:" + sourceKey(in)
			if i > 0 {
				id += fmt.Sprintf(":%d", i+1)
			}
			if err := r.postInThread(ctx, rep, id, msg); err != nil {
				return intake.Result{}, true, err
			}
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

// announce queues the report's thread (the summary, and the full text
// when the summary cuts it) and the assignee's DM. All are idempotent
// (fixed outbox ids), so the announce job may run it again after a crash.
// The thread goes to "the security room", resolved when it is sent: while
// no private room is usable (the bot not yet invited, chat down) it waits
// in the outbox and goes out once one is. The clock is not planned here:
// it is stored with the report.
func (r *Reports) announce(ctx context.Context, rep *Report) error {
	if err := r.e.PostRoot(ctx, rootID(rep.ID), bot.ToSecurityRoom(), r.summary(rep)); err != nil {
		return err
	}
	if err := r.postFullText(ctx, rep); err != nil {
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
	text := fmt.Sprintf("*%s*\nReceived %s from %s.", rep.Title, chatTime(rep.Received), sourceText(rep))
	header, hint := "Report assigned to you: "+rep.ID, "Details are in the report's thread in the private room."
	if rep.State == StateNew {
		header = "New report assigned to you: " + rep.ID
		// Only a new report has an acknowledgement to give.
		text += " Acknowledge by " + chatTime(rep.AckDue) + "."
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
