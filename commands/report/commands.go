package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/cvss"
	"github.com/vigil-sec/vigil/internal/textutil"
)

const (
	actionAck   = "report.ack"
	actionCheck = "report.check"
	actionClose = "report.close"
	// actionReject (the summary's Reject button) asks for the reason in
	// formReject.
	actionReject = "report.reject"
	formNew      = "report.new"
	formReject   = "report.reject"
	// listTitleChars is how much of each title report list shows.
	listTitleChars = 80
)

func (r *Reports) command() *bot.Command {
	team := bot.TeamRoles()
	id := func(name, summary string, run func(context.Context, *bot.Request) error) *bot.Command {
		return &bot.Command{Name: name, Summary: summary, Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: run}
	}
	checkKeys := make([]string, len(checklist))
	for i, it := range checklist {
		checkKeys[i] = it.Key
	}
	return &bot.Command{
		Name:    "report",
		Summary: "Vulnerability reports: intake, triage checklist, state, reporter replies",
		Roles:   team,
		Sub: []*bot.Command{
			{Name: "new", Summary: "File a report by hand (opens a form)", Roles: team, Run: func(ctx context.Context, req *bot.Request) error {
				return req.StartForm(ctx, formNew, nil)
			}},
			{
				Name: "list", Summary: "List reports (open ones by default)", Roles: team,
				Usage: "[--state STATE] [--mine] [--all]",
				Flags: []bot.FlagSpec{
					{Name: "state", Value: "STATE", Help: "only reports in this state"},
					{Name: "mine", Bool: true, Help: "only reports assigned to you"},
					{Name: "all", Bool: true, Help: "closed and rejected ones too"},
				},
				Run: r.runList,
			},
			{
				Name: "show", Summary: "Show a report, its checklist and its clock", Usage: "ID [--full]",
				Roles: team, MinArgs: 1, MaxArgs: 1,
				Help:     "The summary shows the beginning of a long description and says how much is left out. With --full, the whole title and description (in several messages if long), for you alone, and only in the private room or a DM with Vigil.",
				Examples: []string{"report show VIG-2026-3", "report show VIG-2026-3 --full"},
				Flags:    []bot.FlagSpec{{Name: "full", Bool: true, Help: "the full title and description"}},
				Run:      r.runShow,
			},
			{Name: "assign", Summary: "Assign a report to someone", Usage: "ID @person", Roles: team, MinArgs: 2, MaxArgs: 2, Run: r.runAssign},
			id("ack", "Acknowledge: the reporter is told, the clock stops", r.runAck),
			id("accept", "Accept as a vulnerability (moves a GitHub advisory to draft)", r.runAccept),
			{
				Name: "reject", Summary: "Reject, with the reason the reporter is told", Usage: "ID --reason \"...\"",
				Roles: team, MinArgs: 1, MaxArgs: 1,
				Flags: []bot.FlagSpec{{Name: "reason", Value: "TEXT", Help: "why (sent to the reporter)"}},
				Run:   r.runReject,
			},
			{
				Name: "score", Summary: "Score a report with CVSS: a pasted vector, or the dialog",
				Usage: "ID [VECTOR] [--v4]", Roles: team, MinArgs: 1, MaxArgs: 2,
				Help:     "With a vector (CVSS:3.1/... or CVSS:4.0/..., the prefix may be left out for 3.1), records it; without, opens the scoring dialog (CVSS 3.1, or 4.0 with --v4). The score and who gave it are kept on the report.",
				Examples: []string{"report score VIG-2026-3 CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "report score VIG-2026-3 --v4"},
				Flags:    []bot.FlagSpec{{Name: "v4", Bool: true, Help: "use CVSS 4.0 in the dialog"}},
				Run:      r.runScore,
			},
			r.notifyCommand(team),
			{Name: "forward", Summary: "Forward to an operator's security contact", Usage: "ID OPERATOR", Roles: team, MinArgs: 2, MaxArgs: 2, Run: r.runForward},
			id("close", "Close a released or rejected report", r.runClose),
			{Name: "fixing", Summary: "Mark an accepted report as being fixed", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.moveTo(StateFixing)},
			{Name: "released", Summary: "Mark a report's fix as released", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.moveTo(StateReleased)},
			{
				Name: "check", Summary: "Tick (or --undo) a checklist item", Usage: "ID ITEM [--undo]",
				Help:  "Items: " + strings.Join(checkKeys, ", ") + ".",
				Roles: team, MinArgs: 2, MaxArgs: 2,
				Flags: []bot.FlagSpec{{Name: "undo", Bool: true, Help: "untick it"}},
				Run:   r.runCheck,
			},
		},
	}
}

func (r *Reports) runList(ctx context.Context, req *bot.Request) error {
	var reps []*Report
	if req.Flags.Has("all") || req.Flags.Get("state") == string(StateClosed) || req.Flags.Get("state") == string(StateRejected) {
		ids, err := r.e.Store().List(ctx, reportColl)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rep, _, err := r.load(ctx, id)
			if err != nil {
				return err
			}
			reps = append(reps, rep)
		}
	} else {
		var err error
		if reps, err = r.openReports(ctx); err != nil {
			return err
		}
	}
	var want State
	if s, ok := req.Flags.Lookup("state"); ok {
		st, err := ParseState(s)
		if err != nil {
			return bot.Usagef("--state: %v", err)
		}
		want = st
	}
	var b strings.Builder
	n, shortened := 0, false
	now := req.Now()
	for _, rep := range reps {
		if want != "" && rep.State != want {
			continue
		}
		if req.Flags.Has("mine") && (req.Person == nil || rep.Assignee != req.Person.Name) {
			continue
		}
		n++
		title := rep.Title.Truncate(listTitleChars)
		shortened = shortened || title != rep.Title
		fmt.Fprintf(&b, "*%s* [%s] %s — %s%s\n", rep.ID, rep.State, title, orNone(rep.Assignee), clockText(rep, now))
	}
	if n == 0 {
		return req.Replyf(ctx, "No reports match.")
	}
	msg := bot.Message{Header: fmt.Sprintf("Reports (%d)", n), Text: strings.TrimRight(b.String(), "\n"), Sensitive: true}
	if shortened {
		msg.Context = "A title ending in " + textutil.Ellipsis + " is cut short; `/sec report show ID --full` shows it whole."
	}
	_, err := req.Reply(ctx, msg)
	return err
}

// clockText tells how the acknowledgement clock stands.
func clockText(rep *Report, now time.Time) string {
	switch {
	case rep.State != StateNew:
		return ""
	case rep.Breached || !now.Before(rep.AckDue):
		return " — ❗ acknowledgement overdue"
	}
	return " — " + hours(rep.AckDue.Sub(now).Round(time.Minute)) + " left to acknowledge"
}

func (r *Reports) runShow(ctx context.Context, req *bot.Request) error {
	rep, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if req.Flags.Has("full") {
		return r.showFull(ctx, req, rep)
	}
	msg := r.summary(rep)
	for i, f := range msg.Fields {
		if f.Label == "State" {
			msg.Fields[i].Value += clockText(rep, req.Now())
		}
	}
	msg.Fields = append(msg.Fields, bot.Field{Label: "Severity", Value: severityText(rep)})
	for _, adv := range rep.Advisories {
		cve := adv.CVE
		if cve == "" {
			cve = "no CVE"
		}
		msg.Fields = append(msg.Fields, bot.Field{Label: "Advisory " + adv.Repo, Value: fmt.Sprintf("<%s|%s> [%s] %s", adv.URL, adv.GHSA, adv.State, cve)})
	}
	if len(rep.Forwarded) > 0 {
		msg.Fields = append(msg.Fields, bot.Field{Label: "Forwarded to", Value: strings.Join(rep.Forwarded, ", ")})
	}
	var done []string
	for _, it := range rep.Checklist {
		if it.Done {
			done = append(done, fmt.Sprintf("%s by @%s at %s", it.Label, it.By, chatTime(it.At)))
		}
	}
	if len(done) > 0 {
		msg.Fields = append(msg.Fields, bot.Field{Label: "Done", Value: strings.Join(done, "\n")})
	}
	_, err = req.Reply(ctx, msg)
	return err
}

func (r *Reports) runAssign(ctx context.Context, req *bot.Request) error {
	name := strings.ToLower(strings.TrimPrefix(req.Args[1], "@"))
	p, ok := r.e.Directory().ByName(name)
	if !ok {
		return bot.Usagef("there is no @%s in the people directory", name)
	}
	if !p.OnTeam() {
		return bot.Usagef("@%s is not on the security team, so cannot see report details", name)
	}
	rep, err := r.update(ctx, req.Args[0], func(rep *Report) error {
		if rep.Assignee == name {
			return bot.Noticef("%s is already assigned to @%s.", rep.ID, name)
		}
		rep.Assignee = name
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "report.assign", rep.ID, "@"+name); err != nil {
		return err
	}
	if err := r.dmAssignee(ctx, rep, fmt.Sprintf("report:%s:assigned:%s:%d", rep.ID, name, req.Now().UnixNano()), r.postNow); err != nil {
		return err
	}
	return r.replyAndThread(ctx, req, rep, "assign:"+name, fmt.Sprintf("%s assigned %s to %s.", req.ActorMention(), rep.ID, bot.PersonToken(name)))
}

// replyAndThread tells the room about a change to a report (text says who
// did what) and notes it in the report's thread (once, when the command was
// given in that thread).
func (r *Reports) replyAndThread(ctx context.Context, req *bot.Request, rep *Report, what, text string) error {
	if err := r.postInThread(ctx, rep, fmt.Sprintf("%s:%d", what, req.Now().UnixNano()), bot.Message{Text: text, Sensitive: true}); err != nil {
		return err
	}
	if req.Event.Kind == bot.EventButton {
		// A press answers once (issue 16): the thread post is the answer,
		// and the summary is edited. That holds for a button on another
		// message too (`report show`'s), which would otherwise get a
		// second answer in its own thread.
		return nil
	}
	if root, ok, err := r.e.Outbox().PostedRef(ctx, rootID(rep.ID)); err == nil && ok && req.ReplyTo().Thread.ID == root.ID {
		// Said in the report's thread: the thread post is the answer.
		return nil
	}
	_, err := req.Announce(ctx, bot.Text(text))
	return err
}

// transition moves a report through the state machine.
func (r *Reports) transition(ctx context.Context, req *bot.Request, id string, to State, change func(rep *Report)) (*Report, error) {
	return r.update(ctx, id, func(rep *Report) error {
		if rep.State == to {
			return bot.Noticef("%s is already %s.", rep.ID, to)
		}
		if !CanMove(rep.State, to) {
			return bot.Usagef("%v", &TransitionError{ID: rep.ID, From: rep.State, To: to})
		}
		rep.State = to
		if change != nil {
			change(rep)
		}
		return nil
	})
}

func (r *Reports) runAck(ctx context.Context, req *bot.Request) error {
	return r.ack(ctx, req, req.Args[0])
}

func (r *Reports) ack(ctx context.Context, req *bot.Request, id string) error {
	now := req.Now()
	rep, err := r.transition(ctx, req, id, StateAcknowledged, func(rep *Report) {
		rep.AckedAt, rep.AckedBy = now, req.Actor()
	})
	if err != nil {
		return err
	}
	if err := r.stopClock(ctx, rep.ID); err != nil {
		return err
	}
	within := "within"
	if rep.Breached {
		within = "after"
	}
	if err := req.Record(ctx, "report.ack", rep.ID, fmt.Sprintf("%s the %s window", within, hours(r.o.AckWindow))); err != nil {
		return err
	}
	if err := r.tellReporter(ctx, rep, "acknowledged", req.Actor()); err != nil {
		return err
	}
	return r.replyAndThread(ctx, req, rep, "ack", fmt.Sprintf("✅ %s acknowledged %s %s; the clock has stopped.", req.ActorMention(), rep.ID, ackLateness(rep, now)))
}

func ackLateness(rep *Report, now time.Time) string {
	if now.After(rep.AckDue) {
		return hours(now.Sub(rep.AckDue).Round(time.Minute)) + " after the deadline"
	}
	return "with " + hours(rep.AckDue.Sub(now).Round(time.Minute)) + " to spare"
}

// tellReporter queues the reporter's mail when there is an address (GitHub
// reporters hear through GitHub itself).
func (r *Reports) tellReporter(ctx context.Context, rep *Report, kind, by string) error {
	if rep.Reporter.Email == "" {
		return nil
	}
	return r.queueMail(ctx, rep, kind, by)
}

func (r *Reports) runAccept(ctx context.Context, req *bot.Request) error {
	rep, err := r.transition(ctx, req, req.Args[0], StateAccepted, func(rep *Report) {
		if it := rep.item("verify"); it != nil && !it.Done {
			it.Done, it.By, it.At = true, req.Actor(), req.Now()
		}
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "report.accept", rep.ID, ""); err != nil {
		return err
	}
	if err := r.tellReporter(ctx, rep, "accepted", req.Actor()); err != nil {
		return err
	}
	if rep.GHSA != "" {
		payload := fmt.Sprintf(`{"id":%q,"kind":"draft"}`, rep.ID)
		if err := r.e.Scheduler().Schedule(ctx, bot.Job{ID: "report:" + rep.ID + ":github:draft", Kind: jobGitHub, Due: req.Now(), Payload: []byte(payload)}); err != nil {
			return err
		}
	}
	return r.replyAndThread(ctx, req, rep, "accept", fmt.Sprintf("%s accepted %s as a vulnerability. Next: identify affected repositories, score it, open advisories.", req.ActorMention(), rep.ID))
}

func (r *Reports) runReject(ctx context.Context, req *bot.Request) error {
	reason := strings.TrimSpace(req.Flags.Get("reason"))
	if reason == "" {
		return bot.Usagef("--reason is required: the reporter is told why")
	}
	return r.reject(ctx, req, req.Args[0], reason)
}

func (r *Reports) reject(ctx context.Context, req *bot.Request, id, reason string) error {
	rep, err := r.transition(ctx, req, id, StateRejected, func(rep *Report) { rep.RejectReason = reason })
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "report.reject", rep.ID, reason); err != nil {
		return err
	}
	if err := r.tellReporter(ctx, rep, "rejected", req.Actor()); err != nil {
		return err
	}
	return r.replyAndThread(ctx, req, rep, "reject", fmt.Sprintf("%s rejected %s: %s", req.ActorMention(), rep.ID, reason))
}

func (r *Reports) moveTo(to State) func(context.Context, *bot.Request) error {
	return func(ctx context.Context, req *bot.Request) error {
		return r.move(ctx, req, req.Args[0], to)
	}
}

func (r *Reports) move(ctx context.Context, req *bot.Request, id string, to State) error {
	rep, err := r.transition(ctx, req, id, to, nil)
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "report."+string(to), rep.ID, ""); err != nil {
		return err
	}
	return r.replyAndThread(ctx, req, rep, string(to), fmt.Sprintf("%s moved %s to %s.", req.ActorMention(), rep.ID, to))
}

func (r *Reports) runClose(ctx context.Context, req *bot.Request) error {
	return r.moveTo(StateClosed)(ctx, req)
}

func (r *Reports) runForward(ctx context.Context, req *bot.Request) error {
	op, ok := r.operator(req.Args[1])
	if !ok {
		var names []string
		for _, o := range r.o.Operators {
			names = append(names, o.Name)
		}
		if len(names) == 0 {
			return bot.Usagef("no operators are configured (reports.operators)")
		}
		return bot.Usagef("unknown operator %q (operators: %s)", req.Args[1], strings.Join(names, ", "))
	}
	now := req.Now()
	rep, err := r.update(ctx, req.Args[0], func(rep *Report) error {
		for _, f := range rep.Forwarded {
			if strings.EqualFold(f, op.Name) {
				return bot.Noticef("%s was already forwarded to %s.", rep.ID, op.Name)
			}
		}
		rep.Forwarded = append(rep.Forwarded, op.Name)
		if it := rep.item("forward"); it != nil {
			it.Done, it.By, it.At = true, req.Actor(), now
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "report.forward", rep.ID, op.Name+" <"+op.Contact+">"); err != nil {
		return err
	}
	if err := r.queueMail(ctx, rep, "forward:"+op.Name, req.Actor()); err != nil {
		return err
	}
	return r.replyAndThread(ctx, req, rep, "forward:"+op.Name, fmt.Sprintf("%s forwarded %s to %s (%s).", req.ActorMention(), rep.ID, op.Name, op.Contact))
}

func (r *Reports) runCheck(ctx context.Context, req *bot.Request) error {
	return r.check(ctx, req, req.Args[0], strings.ToLower(req.Args[1]), !req.Flags.Has("undo"))
}

func (r *Reports) check(ctx context.Context, req *bot.Request, id, key string, done bool) error {
	now := req.Now()
	var label string
	rep, err := r.update(ctx, id, func(rep *Report) error {
		it := rep.item(key)
		if it == nil {
			keys := make([]string, len(rep.Checklist))
			for i, c := range rep.Checklist {
				keys[i] = c.Key
			}
			return bot.Usagef("unknown checklist item %q (items: %s)", key, strings.Join(keys, ", "))
		}
		label = it.Label
		if it.Done == done {
			if done {
				return bot.Noticef("%q is already ticked on %s (by @%s).", it.Label, rep.ID, it.By)
			}
			return bot.Noticef("%q is not ticked on %s.", it.Label, rep.ID)
		}
		it.Done, it.By, it.At = done, req.Actor(), now
		if !done {
			it.By, it.At = "", time.Time{}
		}
		return nil
	})
	if err != nil {
		return err
	}
	verb := "ticked"
	if !done {
		verb = "unticked"
	}
	if err := req.Record(ctx, "report.check", rep.ID, verb+" "+key); err != nil {
		return err
	}
	return r.replyAndThread(ctx, req, rep, "check:"+key, fmt.Sprintf("%s %s %q on %s. %s", req.ActorMention(), verb, label, rep.ID, checklistText(rep.Checklist)))
}

// maxRejectReason keeps the reason to a line or two of the reporter's mail.
const maxRejectReason = 500

func (r *Reports) runScore(ctx context.Context, req *bot.Request) error {
	rep, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if len(req.Args) > 1 {
		res, err := cvss.Score(strings.Join(req.Args[1:], ""))
		if err != nil {
			return bot.Usagef("%v", err)
		}
		return r.StoreScore(ctx, req, rep.ID, res)
	}
	form := cvss.Form31
	if req.Flags.Has("v4") {
		form = cvss.Form40
	}
	return req.StartForm(ctx, form, map[string]string{"report": rep.ID})
}

// ---- the form ----
