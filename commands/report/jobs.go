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

// Clock stages of the acknowledgement window.
const (
	stageHalf   = "half"
	stageRoom   = "room"
	stageBreach = "breach"
)

type clockPayload struct {
	ID    string `json:"id"`
	Stage string `json:"stage"`
}

func clockJobID(id, stage string) string { return "report:" + id + ":clock:" + stage }

// clockJobs are the three pings of a new report's window, all timed from
// its receipt. They are stored with the report (Receive), so the clock runs
// from receipt even when the report cannot be announced at once.
func (r *Reports) clockJobs(rep *Report) []bot.Job {
	var jobs []bot.Job
	for _, st := range []struct {
		stage string
		at    time.Time
	}{
		{stageHalf, rep.Received.Add(r.o.AckWindow / 2)},
		{stageRoom, rep.AckDue.Add(-r.o.RoomPingBefore)},
		{stageBreach, rep.AckDue},
	} {
		payload, _ := json.Marshal(clockPayload{ID: rep.ID, Stage: st.stage})
		jobs = append(jobs, bot.Job{ID: clockJobID(rep.ID, st.stage), Kind: jobClock, Due: st.at, Payload: payload})
	}
	return jobs
}

func (r *Reports) stopClock(ctx context.Context, id string) error {
	for _, stage := range []string{stageHalf, stageRoom, stageBreach} {
		if err := r.e.Scheduler().Cancel(ctx, clockJobID(id, stage)); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reports) runClock(ctx context.Context, job bot.Job) error {
	var p clockPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("clock job %s: %w", job.ID, err)
	}
	rep, _, err := r.load(ctx, p.ID)
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return nil
	}
	if err != nil {
		return err
	}
	if rep.State != StateNew {
		return nil // acknowledged: the clock has stopped
	}
	left := rep.AckDue.Sub(r.e.Clock().Now()).Round(time.Minute)
	switch p.Stage {
	case stageHalf:
		msg := bot.Message{
			Text:      fmt.Sprintf("⏳ Half of the acknowledgement window of %s has passed: %s left (until %s). Assigned to %s.", rep.ID, hours(left), chatTime(rep.AckDue), assigneeMention(rep.Assignee)),
			Sensitive: true,
		}
		if err := r.postInThread(ctx, rep, "clock:half", msg); err != nil {
			return err
		}
		if rep.Assignee != "" {
			if p, ok := r.e.Directory().ByName(rep.Assignee); ok {
				if to, ok := r.e.DMFor(p, ""); ok {
					dm := bot.Message{Text: fmt.Sprintf("⏳ %s (%s) must be acknowledged within %s, by %s. `/sec report ack %s` once the reporter has heard from us.", rep.ID, rep.Title.Truncate(80), hours(left), chatTime(rep.AckDue), rep.ID), Sensitive: true}
					return r.e.Post(ctx, "report:"+rep.ID+":clock:half:dm", to, dm)
				}
			}
		}
		return nil
	case stageRoom:
		return r.postInThread(ctx, rep, "clock:room", bot.Message{
			Text:      fmt.Sprintf("⏰ %s left to acknowledge %s (assigned to %s). Can someone help?", hours(left), rep.ID, assigneeMention(rep.Assignee)),
			Sensitive: true,
		})
	case stageBreach:
		if _, err := r.update(ctx, rep.ID, func(rep *Report) error {
			if rep.State != StateNew {
				return errAlreadyAcked
			}
			rep.Breached = true
			return nil
		}); errors.Is(err, errAlreadyAcked) {
			return nil
		} else if err != nil {
			return err
		}
		if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "report.ack.breach", Target: rep.ID, Detail: fmt.Sprintf("not acknowledged within %s", hours(r.o.AckWindow))}); err != nil {
			return err
		}
		return r.postInThread(ctx, rep, "clock:breach", bot.Message{
			Text:      fmt.Sprintf("❗ %s was not acknowledged within %s: the deadline (%s) is missed, and this is recorded. Acknowledge it now: `/sec report ack %s`.", rep.ID, hours(r.o.AckWindow), chatTime(rep.AckDue), rep.ID),
			Sensitive: true,
		})
	}
	return fmt.Errorf("clock job %s: unknown stage %q", job.ID, p.Stage)
}

var errAlreadyAcked = errors.New("already acknowledged")

func hours(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := int(d.Hours())
	m := int(d.Minutes()) % 60
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}

// ---- mail ----

type mailPayload struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // acknowledged, accepted, rejected, forward:<operator>
	// By is who caused the mail; replying to the reporter is ticked off in
	// their name once the mail is sent.
	By string `json:"by,omitempty"`
}

// queueMail plans a mail; the job retries until the relay takes it.
func (r *Reports) queueMail(ctx context.Context, rep *Report, kind, by string) error {
	payload, _ := json.Marshal(mailPayload{ID: rep.ID, Kind: kind, By: by})
	return r.e.Scheduler().Schedule(ctx, bot.Job{ID: "report:" + rep.ID + ":mail:" + kind, Kind: jobMail, Due: r.e.Clock().Now(), Payload: payload})
}

func (r *Reports) runMail(ctx context.Context, job bot.Job) error {
	var p mailPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("mail job %s: %w", job.ID, err)
	}
	rep, _, err := r.load(ctx, p.ID)
	if err != nil {
		return err
	}
	if r.o.Mailer == nil {
		return r.postInThread(ctx, rep, "mail:"+p.Kind+":manual", bot.Message{
			Text:      fmt.Sprintf("✉ No outbound mail is configured: send the %s message for %s by hand.", p.Kind, rep.ID),
			Sensitive: true,
		})
	}
	m, err := r.buildMail(rep, p.Kind)
	if err != nil {
		return r.postInThread(ctx, rep, "mail:"+p.Kind+":failed", bot.Message{Text: "✉ " + err.Error(), Sensitive: true})
	}
	// Record the Message-ID first, so the reporter's answer threads back
	// even if it arrives very fast.
	if _, err := r.e.Store().Put(ctx, mailIDColl, normalizeMsgID(m.MessageID), []byte(rep.ID), store.AnyVersion); err != nil {
		return err
	}
	// A retry after a later step failed must not mail the reporter twice.
	sentKey := "report-mail-sent:" + job.ID
	already, err := r.e.Store().WasSeen(ctx, sentKey, r.e.Clock().Now())
	if err != nil {
		return err
	}
	if already {
		err = nil
	} else {
		err = r.o.Mailer.Send(ctx, m)
	}
	if err != nil {
		if errors.Is(err, intake.ErrTemporary) {
			return err // the scheduler retries with backoff
		}
		r.e.Logger().Error("report mail refused", "report", rep.ID, "kind", p.Kind, "err", err)
		return r.postInThread(ctx, rep, "mail:"+p.Kind+":failed", bot.Message{
			Text:      fmt.Sprintf("✉ The %s mail for %s was refused by the mail relay: %v. Send it by hand.", p.Kind, rep.ID, err),
			Sensitive: true,
		})
	}
	if _, err := r.e.Store().MarkSeen(ctx, sentKey, r.e.Clock().Now(), 90*24*time.Hour); err != nil {
		r.e.Logger().Warn("report mail sent but not recorded", "report", rep.ID, "err", err)
	}
	if !strings.HasPrefix(p.Kind, "forward:") {
		now := r.e.Clock().Now()
		if _, err := r.update(ctx, rep.ID, func(rep *Report) error {
			if it := rep.item("reply"); it != nil && !it.Done {
				it.Done, it.By, it.At = true, p.By, now
			}
			return nil
		}); err != nil {
			return err
		}
	}
	// A sent mail is not news in the thread: the summary's "Reply to the
	// reporter" is ticked (an edit), and the audit log says what went to
	// whom. So a press that mails the reporter still answers once in the
	// thread (issue 16); only a mail that needs a person is posted there.
	return r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "report.mail", Target: rep.ID,
		Detail: fmt.Sprintf("sent the %s mail to %s", strings.SplitN(p.Kind, ":", 2)[0], m.To)})
}

// buildMail fills the templates (templates/*.txt.tmpl). The reporter
// hears the id, the state and what happens next; an operator gets the
// report itself.
func (r *Reports) buildMail(rep *Report, kind string) (intake.Mail, error) {
	m := intake.Mail{MessageID: fmt.Sprintf("<%s.%s@vigil>", strings.ToLower(rep.ID), strings.ReplaceAll(kind, ":", "."))}
	if orig := rep.OriginalMail(); orig != "" {
		m.InReplyTo, m.References = orig, []string{orig}
	}
	// Mail is not chat: the raw text goes in (string(...)), and the sender
	// keeps line breaks out of the headers.
	name := rep.Greeting()
	switch {
	case kind == "acknowledged", kind == "accepted", kind == "rejected":
		if rep.Reporter.Email == "" {
			return m, fmt.Errorf("%s has no reporter email address; tell the reporter by hand", rep.ID)
		}
		m.To = rep.Reporter.Email
		m.Subject = fmt.Sprintf("Re: %s [%s]", string(rep.Title), rep.ID)
		body, err := mailTexts.Render(kind+".txt.tmpl", reporterMail{
			Name: name, ID: rep.ID, Title: string(rep.Title), Credit: rep.Reporter.Credit, RejectReason: rep.RejectReason,
		})
		if err != nil {
			return m, fmt.Errorf("%s mail of %s: %w", kind, rep.ID, err)
		}
		m.Body = body
	case strings.HasPrefix(kind, "forward:"):
		op, ok := r.operator(strings.TrimPrefix(kind, "forward:"))
		if !ok {
			return m, fmt.Errorf("operator %q is no longer configured", strings.TrimPrefix(kind, "forward:"))
		}
		m.To = op.Contact
		m.InReplyTo, m.References = "", nil
		m.Subject = fmt.Sprintf("[%s] Security report for %s: %s", rep.ID, op.Name, string(rep.Title))
		body, err := mailTexts.Render("forward.txt.tmpl", operatorMail{
			Operator: op.Name, Domain: op.Domain, ID: rep.ID, Title: string(rep.Title),
			Received: fmtTime(rep.Received), Description: string(rep.Description),
		})
		if err != nil {
			return m, fmt.Errorf("%s mail of %s: %w", kind, rep.ID, err)
		}
		m.Body = body
	default:
		return m, fmt.Errorf("unknown mail %q", kind)
	}
	return m, nil
}

func (r *Reports) operator(name string) (Operator, bool) {
	for _, op := range r.o.Operators {
		if strings.EqualFold(op.Name, name) {
			return op, true
		}
	}
	return Operator{}, false
}

// ---- GitHub ----

func (r *Reports) runGitHub(ctx context.Context, job bot.Job) error {
	var p mailPayload // same shape: report id and what to do
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("github job %s: %w", job.ID, err)
	}
	rep, _, err := r.load(ctx, p.ID)
	if err != nil {
		return err
	}
	if r.o.Advisories == nil {
		return r.postInThread(ctx, rep, "github:"+p.Kind+":manual", bot.Message{
			Text: fmt.Sprintf("GitHub is not configured: move advisory %s in %s to %s by hand.", rep.GHSA, rep.GitHubRepo, p.Kind), Sensitive: true,
		})
	}
	if err := r.o.Advisories.SetAdvisoryState(ctx, rep.GitHubRepo, rep.GHSA, p.Kind); err != nil {
		var ra interface{ RetryAfter() time.Duration }
		var tmp interface{ Temporary() bool }
		if errors.As(err, &ra) || errors.Is(err, intake.ErrTemporary) || (errors.As(err, &tmp) && tmp.Temporary()) {
			return err // rate limited or unreachable: retried, never dropped
		}
		return r.postInThread(ctx, rep, "github:"+p.Kind+":failed", bot.Message{
			Text: fmt.Sprintf("GitHub refused to move %s to %s: %v", rep.GHSA, p.Kind, err), Sensitive: true,
		})
	}
	return r.postInThread(ctx, rep, "github:"+p.Kind+":done", bot.Message{
		Text: fmt.Sprintf("GitHub advisory %s in %s is now %s.", rep.GHSA, rep.GitHubRepo, p.Kind), Sensitive: true,
	})
}
