package report

import (
	"context"
	"errors"
	"strings"

	"github.com/vigil-sec/vigil/bot"
)

// The report summary's buttons: what a press does, and the questions a destructive one asks first.

func (r *Reports) pressAck(ctx context.Context, req *bot.Request, id string) error {
	return r.ack(ctx, req, id)
}

func (r *Reports) pressClose(ctx context.Context, req *bot.Request, id string) error {
	return r.move(ctx, req, id, StateClosed)
}

// confirmClose is asked before the Close button acts: a closed report
// leaves the open list and its clocks and reminders stop.
func confirmClose(id string) bot.Confirm {
	return bot.Confirm{Title: "Close " + id + "?", Text: "It leaves the open list, and its reminders stop.", Yes: "Close"}
}

// pressReject asks for the reason (the reporter is told it): a modal on
// Slack, questions in the thread elsewhere; the form's answer rejects. A
// button left on an old version of the summary changes nothing.
func (r *Reports) pressReject(ctx context.Context, req *bot.Request, id string) error {
	rep, _, err := r.load(ctx, id)
	if err != nil {
		return err
	}
	if rep.State == StateRejected {
		return bot.Noticef("%s is already rejected.", rep.ID)
	}
	if !CanMove(rep.State, StateRejected) {
		return bot.Noticef("%s is %s; it can no longer be rejected.", rep.ID, rep.State)
	}
	return req.StartForm(ctx, formReject, map[string]string{"report": rep.ID})
}

// confirmReject is asked before the Reject button acts: the reporter is
// told, and a rejected report can only be closed.
func confirmReject(id string) bot.Confirm {
	return bot.Confirm{Title: "Reject " + id + "?", Text: "The reporter is told it was rejected, and why; it can then only be closed.", Yes: "Reject"}
}

// rejectForm asks the reason for a rejection from the summary's button.
func (r *Reports) rejectForm() *bot.Form {
	return &bot.Form{
		ID:        formReject,
		Title:     "Reject report",
		Intro:     "Rejecting the report. Answer the question; `cancel` stops without rejecting.",
		Sensitive: true,
		Fields: []bot.FormField{
			{Name: "reason", Label: "Reason", Help: "Why it is rejected. The reporter is told.", MaxChars: maxRejectReason},
		},
		Submit: func(ctx context.Context, req *bot.Request) error {
			return r.reject(ctx, req, req.Form.Hidden["report"], strings.TrimSpace(req.Form.Values["reason"]))
		},
	}
}

func (r *Reports) pressCheck(ctx context.Context, req *bot.Request, value string) error {
	id, key, ok := strings.Cut(value, "|")
	if !ok {
		return errors.New("malformed checklist button")
	}
	// A button left on an old version of the summary is no longer
	// offered once the report is closed: it changes nothing.
	rep, _, err := r.load(ctx, id)
	if err != nil {
		return err
	}
	if !rep.open() {
		return bot.Noticef("%s is %s; its checklist no longer changes.", rep.ID, rep.State)
	}
	return r.check(ctx, req, id, key, true)
}
