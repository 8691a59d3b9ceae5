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

// Receive files an incoming report. See intake.Sink.
//
// The report, its source index, its attachments, its place in the open
// list, its acknowledgement clock, its audit entry and its announcement
// (the thread in the private room, the assignee's DM, queued in the
// outbox) are one atomic write: either all of it is stored or none, so a
// source hears "stored" only when it is, and a failure only when nothing
// was kept. The outbox sends the announcement once a private room is
// usable, resolving the room when it sends.
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
		ops, err := r.intakeOps(ctx, rep, in)
		if err != nil {
			return intake.Result{}, err
		}
		_, err = r.e.Store().Apply(ctx, ops...)
		var conflict *store.ConflictError
		switch {
		case err == nil:
		case errors.As(err, &conflict) && conflict.Collection == reportColl:
			continue
		case errors.As(err, &conflict) && conflict.Collection == bot.OutboxCollection:
			// A message announcing an earlier report with this id (one
			// deleted since) is still queued: the id is not free.
			r.e.Logger().Warn("report id skipped: an announcement of an earlier report with it is still queued", "report", id)
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
		r.e.Outbox().Wake()
		return intake.Result{ReportID: id, Created: true}, nil
	}
	return intake.Result{}, fmt.Errorf("store report: no free report id: %w", store.ErrConflict)
}

// intakeOps are the writes that file a new report, as one batch.
func (r *Reports) intakeOps(ctx context.Context, rep *Report, in intake.Incoming) ([]store.Op, error) {
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
	for _, j := range r.clockJobs(rep) {
		jops, err := r.e.Scheduler().ScheduleOps(j)
		if err != nil {
			return nil, err
		}
		ops = append(ops, jops...)
	}
	audit, err := r.e.Audit().Op(bot.AuditEntry{Actor: "vigil", Action: "report.received", Target: rep.ID, Detail: fmt.Sprintf("from %s, assigned to %s", in.Source, orNone(rep.Assignee))})
	if err != nil {
		return nil, err
	}
	ops = append(ops, audit)
	if err := r.announce(ctx, rep, r.collectPosts(&ops)); err != nil {
		return nil, fmt.Errorf("report %s: announcement: %w", rep.ID, err)
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
