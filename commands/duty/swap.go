package duty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

const (
	actionSwapAccept  = "duty.swap.accept"
	actionSwapDecline = "duty.swap.decline"
)

// swap is a proposed trade of two shifts, waiting for the other person.
type swap struct {
	ID        string    `json:"id"`
	Rotation  string    `json:"rotation"`
	Requester string    `json:"requester"`
	Other     string    `json:"other"`
	Give      int64     `json:"give"` // the requester's shift, to the other
	Take      int64     `json:"take"` // the other's shift, to the requester
	State     string    `json:"state"`
	Created   time.Time `json:"created"`
	// Asked is the text of the request, kept so that its message can be
	// edited to show the answer.
	Asked string `json:"asked,omitempty"`
}

// confirmDecline is asked before Decline acts.
func confirmDecline(string) bot.Confirm {
	return bot.Confirm{Title: "Decline the swap?", Text: "The person who asked is told, and the schedule stays as it is.", Yes: "Decline"}
}

// answered is the request's message once answered: what was asked, the
// answer, and no buttons left to press.
func (s swap) answered(state string) bot.Message {
	return bot.Message{Header: "Shift swap " + state + " (" + s.Rotation + ")", Text: s.Asked, Context: "You " + state + " this request."}
}

// showAnswer edits the request's message; the answer stands if it cannot.
func (d *Duty) showAnswer(ctx context.Context, req *bot.Request, s swap) {
	if err := req.Update(ctx, s.answered(s.State)); err != nil {
		d.e.Logger().Warn("could not edit the swap request to show its answer", "swap", s.ID, "err", err)
	}
}

func (d *Duty) runSwap(ctx context.Context, req *bot.Request) error {
	other, err := d.person(req.Args[0])
	if err != nil {
		return err
	}
	r, _, err := d.resolve(ctx, req.Flags.Get("rotation"))
	if err != nil {
		return err
	}
	now := req.Now()
	loc := r.Handoff.location()
	at, err := parseTime(req.Args[1], now, r.Handoff)
	if err != nil {
		return bot.Usagef("SHIFT: %v", err)
	}
	give := r.ShiftAt(at)
	holder, _ := r.Assignee(give)
	me := req.Actor()
	switch {
	case holder != me && !req.Person.Has(bot.RoleAdmin):
		return bot.Usagef("the shift starting %s is @%s's, not yours", fmtTime(r.ShiftStart(give), loc), holder)
	case other == holder:
		return bot.Usagef("you cannot swap a shift with yourself")
	case !r.ShiftStart(give).After(now):
		return bot.Usagef("the shift starting %s has begun; use an override instead", fmtTime(r.ShiftStart(give), loc))
	}
	take := int64(-1)
	for k := give + 1; k <= give+int64(4*len(r.Members)+8); k++ {
		if p, _ := r.Assignee(k); p == other {
			take = k
			break
		}
	}
	if take < 0 {
		return bot.Usagef("@%s has no shift after %s to trade", other, fmtTime(r.ShiftStart(give), loc))
	}
	s := swap{ID: newID(), Rotation: r.Name, Requester: holder, Other: other, Give: give, Take: take, State: "pending", Created: now}
	ask := bot.Message{
		Header: "Swap duty shifts? (" + r.Name + ")",
		Text: fmt.Sprintf("%s asks to trade shifts with you: you take %s → %s, and %s takes yours, %s → %s.",
			bot.PersonToken(holder), d.when(other, r, r.ShiftStart(give)), d.when(other, r, r.ShiftStart(give+1)),
			bot.PersonToken(holder), d.when(other, r, r.ShiftStart(take)), d.when(other, r, r.ShiftStart(take+1))),
		Buttons: []bot.Button{
			{Label: "Accept", Action: actionSwapAccept, Value: s.ID, Style: bot.ButtonPrimary},
			{Label: "Decline", Action: actionSwapDecline, Value: s.ID, Style: bot.ButtonDanger},
		},
	}
	s.Asked = ask.Text
	data, _ := json.Marshal(s)
	if _, err := d.e.Store().Put(ctx, swapColl, s.ID, data, store.NewDoc); err != nil {
		return fmt.Errorf("save swap: %w", err)
	}
	if err := req.Record(ctx, "duty.swap.ask", r.Name, fmt.Sprintf("@%s asks @%s: shift %s for %s", holder, other, r.ShiftStart(give).Format(time.RFC3339), r.ShiftStart(take).Format(time.RFC3339))); err != nil {
		return err
	}
	if err := d.dm(ctx, other, "duty:swap:"+s.ID+":ask", ask); err != nil {
		return err
	}
	return req.Replyf(ctx, "Asked %s to take the shift of %s in exchange for theirs of %s. Nothing changes until they accept.",
		bot.PersonToken(other), fmtTime(r.ShiftStart(give), loc), fmtTime(r.ShiftStart(take), loc))
}

// answerSwap handles Accept and Decline. Only the person asked may answer,
// once; the trade happens only if both shifts are still as they were.
func (d *Duty) answerSwap(accept bool) func(ctx context.Context, req *bot.Request, id string) error {
	return func(ctx context.Context, req *bot.Request, id string) error {
		doc, err := d.e.Store().Get(ctx, swapColl, id)
		if errors.Is(err, store.ErrNotFound) {
			return bot.Noticef("That swap request no longer exists.")
		}
		if err != nil {
			return err
		}
		var s swap
		if err := json.Unmarshal(doc.Data, &s); err != nil {
			return fmt.Errorf("swap %s: %w: %v", id, store.ErrCorrupt, err)
		}
		if req.Actor() != s.Other {
			return fmt.Errorf("%w: this swap request is for @%s", bot.ErrForbidden, s.Other)
		}
		if s.State != "pending" {
			return bot.Noticef("You already answered this swap request (%s).", s.State)
		}
		s.State = "declined"
		if accept {
			s.State = "accepted"
		}
		data, _ := json.Marshal(s)
		// Compare-and-swap: two presses (two devices) answer once.
		if _, err := d.e.Store().Put(ctx, swapColl, id, data, doc.Version); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return bot.Noticef("This swap request was already answered.")
			}
			return err
		}
		if !accept {
			d.showAnswer(ctx, req, s)
			if err := req.Record(ctx, "duty.swap.decline", s.Rotation, "@"+s.Requester); err != nil {
				return err
			}
			if err := d.dm(ctx, s.Requester, "duty:swap:"+s.ID+":declined", bot.Text(fmt.Sprintf("%s declined your shift swap on *%s*. Nothing changed.", bot.PersonToken(s.Other), s.Rotation))); err != nil {
				return err
			}
			return req.Replyf(ctx, "Declined; %s is told and nothing changed.", bot.PersonToken(s.Requester))
		}
		now := req.Now()
		before, after, err := d.update(ctx, s.Rotation, false, func(r *Rotation) error {
			a, _ := r.Assignee(s.Give)
			b, _ := r.Assignee(s.Take)
			if a != s.Requester || b != s.Other {
				return bot.Noticef("The schedule changed since the swap was asked for; nothing was swapped. Ask again with `/sec duty swap`.")
			}
			if !r.ShiftStart(s.Give).After(now) {
				return bot.Noticef("The shift to swap has already begun; nothing was swapped.")
			}
			if r.Assigned == nil {
				r.Assigned = map[int64]string{}
			}
			r.Assigned[s.Give], r.Assigned[s.Take] = s.Other, s.Requester
			return nil
		})
		if err != nil {
			return err
		}
		d.showAnswer(ctx, req, s)
		if err := req.Record(ctx, "duty.swap.accept", s.Rotation, fmt.Sprintf("@%s and @%s traded %s and %s", s.Requester, s.Other, after.ShiftStart(s.Give).Format(time.RFC3339), after.ShiftStart(s.Take).Format(time.RFC3339))); err != nil {
			return err
		}
		told := bot.Text(fmt.Sprintf("%s accepted your shift swap on *%s*: they take %s → %s, you take %s → %s.", bot.PersonToken(s.Other), s.Rotation,
			d.when(s.Requester, after, after.ShiftStart(s.Give)), d.when(s.Requester, after, after.ShiftStart(s.Give+1)),
			d.when(s.Requester, after, after.ShiftStart(s.Take)), d.when(s.Requester, after, after.ShiftStart(s.Take+1))))
		if err := d.dm(ctx, s.Requester, "duty:swap:"+s.ID+":accepted", told); err != nil {
			return err
		}
		if err := d.afterChange(ctx, before, after, "shift swap", s.Requester, s.Other); err != nil {
			return err
		}
		return req.Announcef(ctx, "Swapped: %s is on duty %s → %s instead of %s → %s.", req.ActorMention(),
			d.when(s.Other, after, after.ShiftStart(s.Give)), d.when(s.Other, after, after.ShiftStart(s.Give+1)),
			d.when(s.Other, after, after.ShiftStart(s.Take)), d.when(s.Other, after, after.ShiftStart(s.Take+1)))
	}
}
