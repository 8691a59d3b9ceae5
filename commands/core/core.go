// Package core registers the commands every Vigil has: whoami, audit and
// the people directory. ("help" belongs to the router itself.)
package core

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// Register adds the core commands to the engine.
func Register(e Engine) error {
	for _, c := range []*bot.Command{whoami(), audit(e), people(e)} {
		if err := e.Register(c); err != nil {
			return fmt.Errorf("core: %w", err)
		}
	}
	return nil
}

func whoami() *bot.Command {
	return &bot.Command{
		Name:    "whoami",
		Summary: "Show who you are to Vigil, your roles, and where you are speaking from",
		Where:   bot.Anywhere,
		Run: func(ctx context.Context, req *bot.Request) error {
			var where string
			switch {
			case req.Event.DM:
				where = "a direct message"
			case req.Private:
				where = req.Event.Room.String() + " (the private security room)"
			default:
				where = req.Event.Room.String() + " (not a private room: report details are not shown here)"
			}
			if req.Person == nil {
				return req.Replyf(ctx, "You are %s, who is not in Vigil's people directory, speaking from %s.\nAsk an admin to add you (`%s people add`).",
					req.ActorMention(), where, req.Prefix())
			}
			p := req.Person
			msg := bot.Message{
				Header: p.Label(),
				Fields: []bot.Field{
					{Label: "Roles", Value: rolesOf(p)},
					{Label: "Speaking from", Value: where},
					{Label: "Chat accounts", Value: accountsOf(p)},
				},
			}
			if len(p.Maintains) > 0 {
				msg.Fields = append(msg.Fields, bot.Field{Label: "Maintains", Value: strings.Join(p.Maintains, ", ")})
			}
			if p.GitHub != "" {
				msg.Fields = append(msg.Fields, bot.Field{Label: "GitHub", Value: p.GitHub})
			}
			if p.Timezone != "" {
				msg.Fields = append(msg.Fields, bot.Field{Label: "Time zone", Value: p.Timezone})
			}
			_, err := req.Reply(ctx, msg)
			return err
		},
	}
}

// accountsOf lists the person's chat accounts as mentions, so each
// platform shows them by name rather than by internal id.
func accountsOf(p *bot.Person) string {
	name := p.DisplayName
	if name == "" {
		name = p.Name
	}
	var parts []string
	for _, u := range p.ChatRefs() {
		parts = append(parts, platformName(u.Adapter)+": "+bot.AccountToken(u, name))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// platformName is an adapter's name as people write it.
func platformName(adapter string) string {
	switch adapter {
	case bot.AdapterSlack:
		return "Slack"
	case bot.AdapterMatrix:
		return "Matrix"
	case bot.AdapterConsole:
		return "Console"
	}
	return adapter
}

func rolesOf(p *bot.Person) string {
	var roles []string
	for _, r := range []bot.Role{bot.RoleAdmin, bot.RoleResponder, bot.RoleMaintainer} {
		if p.Has(r) {
			roles = append(roles, string(r))
		}
	}
	if len(roles) == 0 {
		return "none"
	}
	return strings.Join(roles, ", ")
}

func audit(e Engine) *bot.Command {
	return &bot.Command{
		Name:     "audit",
		Summary:  "Show the last entries of the audit log",
		Usage:    "[N]",
		Help:     "Every state change is recorded with who, what, when and from where. Shows the last N entries (default 20, at most 500).",
		Examples: []string{"audit", "audit 100"},
		Roles:    []bot.Role{bot.RoleAdmin},
		MaxArgs:  1,
		Run: func(ctx context.Context, req *bot.Request) error {
			n := 20
			if len(req.Args) == 1 {
				v, err := strconv.Atoi(req.Args[0])
				if err != nil || v < 1 || v > 500 {
					return bot.Usagef("N must be a number from 1 to 500, not %q", req.Args[0])
				}
				n = v
			}
			entries, err := e.Audit().Last(ctx, n)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				return req.Replyf(ctx, "The audit log is empty.")
			}
			var b strings.Builder
			for _, en := range entries {
				fmt.Fprintf(&b, "%s  %s  %s", en.At.Format(time.RFC3339), en.Actor, en.Action)
				if en.Target != "" {
					fmt.Fprintf(&b, " %s", en.Target)
				}
				if en.Detail != "" {
					fmt.Fprintf(&b, " — %s", en.Detail)
				}
				if en.Where != "" {
					fmt.Fprintf(&b, "  (%s)", en.Where)
				}
				b.WriteByte('\n')
			}
			_, err = req.Reply(ctx, bot.Message{
				Header:    fmt.Sprintf("Audit log: last %d", len(entries)),
				Text:      strings.TrimRight(b.String(), "\n"),
				Sensitive: true,
			})
			return err
		},
	}
}
