package bot

import (
	"context"
	"slices"
	"strings"
	"time"
)

// ZoneSource names the team's zone when it knows it (the duty feature: the
// zone of the default rotation's hand-offs). It is asked at delivery, so a
// rotation created in chat counts at once on every replica.
type ZoneSource func(ctx context.Context) (*time.Location, bool)

// SetTeamZone makes src the source of the team's zone; Options.TeamZone
// stays the fallback when it names none.
func (e *Engine) SetTeamZone(src ZoneSource) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.zoneSource = src
}

// ReaderTimeLayout is how an instant is written for a reader whose client
// cannot localise it: in their zone, with the zone named.
const ReaderTimeLayout = "Mon 2 Jan 2006 15:04 MST"

// resolveTokens writes the person and time tokens of msg's trusted text
// for the destination (native.go lists the tokens):
//
//   - a person token becomes their account on the destination's adapter
//     (an account token, and the account is added to Mentions), or their
//     display name when they have none there;
//   - an account token of another adapter becomes its label;
//   - a time token stays for Slack, whose client shows it in each reader's
//     zone; elsewhere it becomes text in the reader's zone: the person's
//     for a DM, the team's for a room.
//
// Untrusted runs are never read: a token quoted in a report stays text.
func (e *Engine) resolveTokens(ctx context.Context, to Destination, msg Message) Message {
	r := tokenResolver{ctx: ctx, engine: e, adapter: to.Adapter(), to: to}
	msg.Header = r.text(msg.Header)
	msg.Text = r.text(msg.Text)
	msg.Context = r.text(msg.Context)
	msg.Fallback = r.text(msg.Fallback)
	if len(msg.Fields) > 0 {
		fields := make([]Field, len(msg.Fields))
		for i, f := range msg.Fields {
			fields[i] = Field{Label: r.text(f.Label), Value: r.text(f.Value)}
		}
		msg.Fields = fields
	}
	if len(msg.Buttons) > 0 {
		buttons := slices.Clone(msg.Buttons)
		for i := range buttons {
			buttons[i].Label = r.text(buttons[i].Label)
		}
		msg.Buttons = buttons
	}
	for _, u := range r.mentions {
		if !slices.Contains(msg.Mentions, u) {
			// A new slice: msg.Mentions may share its array with the
			// caller's message (an outbox item, a feature's template).
			msg.Mentions = append(slices.Clip(msg.Mentions), u)
		}
	}
	return msg
}

// tokenResolver rewrites the tokens of one message for one destination.
type tokenResolver struct {
	ctx      context.Context
	engine   *Engine
	adapter  string
	to       Destination
	zone     *time.Location // the reader's, looked up on first use
	mentions []UserRef
}

// text rewrites the tokens in the trusted runs of s.
func (r *tokenResolver) text(s string) string {
	if !strings.Contains(s, "<@") && !strings.Contains(s, "<!time:") {
		return s
	}
	if !HasUntrusted(s) {
		return ReplaceTokens(s, r.token)
	}
	var b strings.Builder
	for _, seg := range Segments(s) {
		if seg.Untrusted {
			b.WriteString(openMark + seg.Text + closeMark)
			continue
		}
		b.WriteString(ReplaceTokens(seg.Text, r.token))
	}
	return b.String()
}

func (r *tokenResolver) token(t Token) string {
	switch t.Kind {
	case TokenPerson:
		p, ok := r.engine.directory.ByName(t.Person)
		if !ok {
			return "@" + t.Person
		}
		if u, ok := p.ChatRef(r.adapter); ok {
			if !slices.Contains(r.mentions, u) {
				r.mentions = append(r.mentions, u)
			}
			return AccountToken(u, displayName(p))
		}
		if p.DisplayName != "" {
			return p.DisplayName
		}
		return "@" + p.Name
	case TokenAccount:
		if t.Account.Adapter == r.adapter {
			return AccountToken(t.Account, t.Label)
		}
		return t.Label
	case TokenTime:
		if r.adapter == AdapterSlack {
			return TimeToken(t.Time, t.Fallback)
		}
		return t.Time.In(r.readerZone()).Format(ReaderTimeLayout)
	}
	return ""
}

// readerZone is the zone of whoever reads the destination: the person's
// own for a DM (from the directory), the team's for a room.
func (r *tokenResolver) readerZone() *time.Location {
	if r.zone != nil {
		return r.zone
	}
	r.zone = r.engine.teamZoneNow(r.ctx)
	if r.to.IsDM() {
		if p, ok := r.engine.directory.ByChat(r.to.DM); ok && p.Timezone != "" {
			if loc, err := time.LoadLocation(p.Timezone); err == nil {
				r.zone = loc
			}
		}
	}
	return r.zone
}

// displayName is the name a person is shown by: their display name, or
// their handle.
func displayName(p *Person) string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Name
}

// teamZoneNow is the team's zone: from the zone source, else the
// configured one.
func (e *Engine) teamZoneNow(ctx context.Context) *time.Location {
	e.mu.RLock()
	src := e.zoneSource
	e.mu.RUnlock()
	if src != nil {
		if loc, ok := src(ctx); ok && loc != nil {
			return loc
		}
	}
	return e.teamZone
}
