package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

// announceJobID names the job that announced a stored report before the
// announcement joined the intake batch. Reports filed by earlier versions
// may still have one queued; runAnnounce and repeat finish them.
func announceJobID(id string) string { return "report:" + id + ":announce" }

// poster queues one message of a report's announcement; root marks the
// message that starts the report's thread.
type poster func(ctx context.Context, id string, to bot.Destination, msg bot.Message, root bool) error

// postNow queues the message through the outbox at once.
func (r *Reports) postNow(ctx context.Context, id string, to bot.Destination, msg bot.Message, root bool) error {
	if root {
		return r.e.PostRoot(ctx, id, to, msg)
	}
	return r.e.Post(ctx, id, to, msg)
}

// collectPosts is a poster that adds each message's outbox writes to *ops,
// for the batch that creates the report they announce: their ids are new
// with it (Outbox.NewMessageOps), so queueing them costs no round trip.
func (r *Reports) collectPosts(ops *[]store.Op) poster {
	return func(_ context.Context, id string, to bot.Destination, msg bot.Message, root bool) error {
		mops, err := r.e.Outbox().NewMessageOps(id, to, msg, root)
		*ops = append(*ops, mops...)
		return err
	}
}

// announceNow queues the announcement of a report filed by an earlier
// version and, once that is queued, removes its announce job. Failing here
// loses nothing: the job stays and the scheduler runs it.
func (r *Reports) announceNow(ctx context.Context, rep *Report) {
	if err := r.announce(ctx, rep, r.postNow); err != nil {
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
	return r.announce(ctx, rep, r.postNow)
}

// announce queues the report's thread (the summary, and the full text
// when the summary cuts it) and the assignee's DM through post. All have
// fixed outbox ids, so queueing them again (an old announce job run after
// a crash) posts each once. The thread goes to "the security room",
// resolved when it is sent: while no private room is usable (the bot not
// yet invited, chat down) it waits in the outbox and goes out once one is.
// The clock is not planned here: it is stored with the report.
func (r *Reports) announce(ctx context.Context, rep *Report, post poster) error {
	if err := post(ctx, rootID(rep.ID), bot.ToSecurityRoom(), r.summary(rep), true); err != nil {
		return err
	}
	if err := r.postFullText(ctx, rep, post); err != nil {
		return err
	}
	if rep.Assignee != "" {
		return r.dmAssignee(ctx, rep, "report:"+rep.ID+":assigned:"+rep.Assignee, post)
	}
	return nil
}

func (r *Reports) dmAssignee(ctx context.Context, rep *Report, id string, post poster) error {
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
	return post(ctx, id, to, bot.Message{
		Header:    header,
		Text:      text,
		Context:   hint,
		Sensitive: true,
	}, false)
}

// postInThread posts a durable message in the report's thread.
func (r *Reports) postInThread(ctx context.Context, rep *Report, id string, msg bot.Message) error {
	return r.postInThreadVia(ctx, rep, id, msg, r.postNow)
}

func (r *Reports) postInThreadVia(ctx context.Context, rep *Report, id string, msg bot.Message, post poster) error {
	return post(ctx, "report:"+rep.ID+":"+id, bot.ToThreadOf(bot.SecurityRoomRef, rootID(rep.ID)), msg, false)
}
