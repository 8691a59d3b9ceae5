package incident

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// The timeline verbs: log and entry add to it, timeline and evidence show
// it.

// parseAt reads --at: RFC 3339, "2006-01-02 15:04", or "15:04" today, in
// the person's time zone (UTC when the directory has none).
func parseAt(s string, now time.Time, p *bot.Person) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc := time.UTC
	if p != nil && p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("15:04", s, loc); err == nil {
		local := now.In(loc)
		return time.Date(local.Year(), local.Month(), local.Day(), t.Hour(), t.Minute(), 0, 0, loc), nil
	}
	return time.Time{}, bot.Usagef("--at %q: use 14:05, \"2026-01-05 14:05\" or an RFC 3339 time", s)
}

func (inc *Incidents) runLog(ctx context.Context, req *bot.Request) error {
	text := strings.TrimSpace(strings.Join(req.Args, " "))
	at := req.Now()
	if v, ok := req.Flags.Lookup("at"); ok {
		t, err := parseAt(v, req.Now(), req.Person)
		if err != nil {
			return err
		}
		if t.After(req.Now()) {
			return bot.Usagef("--at %s is in the future", v)
		}
		at = t
	}
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	var n int
	in, err = inc.update(ctx, in.ID, func(in *Incident) error {
		n = len(in.Entries) + 1
		in.Entries = append(in.Entries, Entry{N: n, At: at, Author: req.Actor(), Text: bot.Untrusted(text), Evidence: req.Flags.Has("evidence"), Logged: req.Now(), By: req.Actor()})
		return nil
	})
	if err != nil {
		return err
	}
	what := "Timeline"
	if req.Flags.Has("evidence") {
		what = "Evidence"
	}
	return inc.announcef(ctx, req, "%s #%d of %s at %s: %s (by %s)", what, n, in.ID, stamp(at, true), text, req.ActorMention())
}

func (inc *Incidents) runEntry(ctx context.Context, req *bot.Request) error {
	n, err := strconv.Atoi(strings.TrimPrefix(req.Args[0], "#"))
	if err != nil {
		return bot.Usagef("%q is not an entry number", req.Args[0])
	}
	text := strings.TrimSpace(strings.Join(req.Args[1:], " "))
	remove := req.Flags.Has("remove")
	if remove == (text != "") {
		return bot.Usagef("give the corrected text or --remove")
	}
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	in, err = inc.update(ctx, in.ID, func(in *Incident) error {
		for i := range in.Entries {
			if in.Entries[i].N == n && !in.Entries[i].Removed {
				if remove {
					in.Entries[i].Removed = true
				} else {
					in.Entries[i].Text, in.Entries[i].Edited = bot.Untrusted(text), true
				}
				return nil
			}
		}
		return bot.Noticef("%s has no entry #%d.", in.ID, n)
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "incident.entry", in.ID, fmt.Sprintf("#%d removed=%v", n, remove)); err != nil {
		return err
	}
	if remove {
		return inc.announcef(ctx, req, "%s removed entry #%d of %s.", req.ActorMention(), n, in.ID)
	}
	return inc.announcef(ctx, req, "%s corrected entry #%d of %s.", req.ActorMention(), n, in.ID)
}

// entries returns the live entries of one kind, in time order.
func entries(in *Incident, evidence bool) []Entry {
	var out []Entry
	for _, e := range in.Entries {
		if !e.Removed && e.Evidence == evidence {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// severalDays reports whether the times span more than one UTC day (then
// every line shows its date).
func severalDays(times ...time.Time) bool {
	day := ""
	for _, t := range times {
		d := t.UTC().Format("2006-01-02")
		if day != "" && d != day {
			return true
		}
		day = d
	}
	return false
}

func entryTimes(in *Incident, es []Entry) []time.Time {
	ts := []time.Time{in.Started}
	for _, e := range es {
		ts = append(ts, e.At)
	}
	return ts
}

func (inc *Incidents) runTimeline(ctx context.Context, req *bot.Request) error {
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	es := entries(in, false)
	if len(es) == 0 {
		return inc.replyf(ctx, req, "The timeline of %s is empty: react %s to a message in the war room, or `%s incident log \"TEXT\"`.", in.ID, inc.o.PinReaction, req.Prefix())
	}
	dates := severalDays(entryTimes(in, es)...)
	var b strings.Builder
	if !dates {
		fmt.Fprintf(&b, "%s (UTC)\n", in.Started.UTC().Format("Mon 2006-01-02"))
	}
	for _, e := range es {
		fmt.Fprintf(&b, "#%d %s @%s: %s", e.N, stamp(e.At, dates), e.Author, e.Text)
		if e.Edited {
			b.WriteString(" (edited)")
		}
		b.WriteByte('\n')
	}
	return inc.reply(ctx, req, bot.Message{Header: "Timeline of " + in.ID, Text: strings.TrimRight(b.String(), "\n")})
}

// evidenceWarning goes with every list of evidence.
const evidenceWarning = "⚠️ Evidence is published with the write-up: it must hold no user data and no secrets (tokens, keys, passwords, personal addresses). Redact before you keep it."

func (inc *Incidents) runEvidence(ctx context.Context, req *bot.Request) error {
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	es := entries(in, true)
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "#%d %s @%s: %s\n", e.N, stamp(e.At, true), e.Author, e.Text)
	}
	if len(es) == 0 {
		fmt.Fprintf(&b, "No evidence yet: react %s to a message in the war room, or `%s incident log \"TEXT\" --evidence`.\n", inc.o.EvidenceReaction, req.Prefix())
	}
	return inc.reply(ctx, req, bot.Message{Header: "Evidence of " + in.ID, Text: strings.TrimRight(b.String(), "\n"), Context: evidenceWarning})
}
