package core

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

func people(e Engine) *bot.Command {
	admin := []bot.Role{bot.RoleAdmin}
	team := []bot.Role{bot.RoleAdmin, bot.RoleResponder}
	return &bot.Command{
		Name:    "people",
		Summary: "The people directory: who Vigil knows, their roles and chat accounts",
		Roles:   team,
		Sub: []*bot.Command{
			{
				Name:    "list",
				Summary: "List everyone in the directory",
				Roles:   team,
				Run: func(ctx context.Context, req *bot.Request) error {
					all := e.Directory().All()
					if len(all) == 0 {
						return req.Replyf(ctx, "The directory is empty.")
					}
					var b strings.Builder
					for _, p := range all {
						fmt.Fprintf(&b, "%s — %s\n", p.Label(), rolesOf(&p))
					}
					_, err := req.Reply(ctx, bot.Message{Header: fmt.Sprintf("People (%d)", len(all)), Text: strings.TrimRight(b.String(), "\n")})
					return err
				},
			},
			{
				Name:    "show",
				Summary: "Show one person",
				Usage:   "@NAME",
				Roles:   team,
				MinArgs: 1, MaxArgs: 1,
				Run: func(ctx context.Context, req *bot.Request) error {
					p, ok := e.Directory().ByName(req.Args[0])
					if !ok {
						return unknownPerson(e, req.Args[0])
					}
					_, err := req.Reply(ctx, personMessage(p))
					return err
				},
			},
			{
				Name:    "add",
				Summary: "Add or change a person",
				Usage:   "NAME [--roles R,R] [--maintains owner/repo,...] [--email E] [--github LOGIN] [--tz ZONE] [--chat adapter:id,...] [--display \"Name\"]",
				Help: "Adds a person to the directory, or changes the given fields of someone already there. " +
					"Roles are responder, maintainer and admin. Chat accounts are adapter:id pairs (slack:U0123, matrix:@alice:example.org, console:alice).",
				Examples: []string{
					"people add alice --roles responder,admin --tz Europe/Paris --chat slack:U0123",
					"people add bob --maintains acme/web --email bob@example.org",
				},
				Roles:   admin,
				MinArgs: 1, MaxArgs: 1,
				Flags: []bot.FlagSpec{
					{Name: "roles", Value: "R,R", Help: "responder, maintainer, admin"},
					{Name: "maintains", Value: "owner/repo,...", Help: "repositories the person maintains"},
					{Name: "email", Value: "ADDRESS", Help: "email address"},
					{Name: "github", Value: "LOGIN", Help: "GitHub login"},
					{Name: "tz", Value: "ZONE", Help: "IANA time zone, e.g. Europe/Paris"},
					{Name: "chat", Value: "adapter:id,...", Help: "chat accounts"},
					{Name: "display", Value: "NAME", Help: "display name"},
				},
				Run: func(ctx context.Context, req *bot.Request) error { return addPerson(ctx, e, req) },
			},
			{
				Name:    "remove",
				Summary: "Remove a person",
				Usage:   "@NAME",
				Roles:   admin,
				MinArgs: 1, MaxArgs: 1,
				Run: func(ctx context.Context, req *bot.Request) error {
					name := strings.TrimPrefix(req.Args[0], "@")
					if req.Person != nil && req.Person.Name == name {
						return bot.Usagef("you cannot remove yourself; ask another admin")
					}
					if err := e.RemovePerson(ctx, name); err != nil {
						return err
					}
					if err := req.Record(ctx, "people.remove", "@"+name, ""); err != nil {
						return err
					}
					return req.Announcef(ctx, "%s removed @%s from the directory.", req.ActorMention(), name)
				},
			},
		},
	}
}

func unknownPerson(e Engine, name string) error {
	return bot.Usagef("there is no @%s in the directory (known: %s)", strings.TrimPrefix(name, "@"), strings.Join(e.Directory().Names(), ", "))
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func addPerson(ctx context.Context, e Engine, req *bot.Request) error {
	name := strings.ToLower(strings.TrimPrefix(req.Args[0], "@"))
	if err := bot.ValidPersonName(name); err != nil {
		return bot.Usagef("%v", err)
	}
	p, existed := e.Directory().ByName(name)
	if !existed {
		p = &bot.Person{Name: name}
	}
	f := req.Flags
	if v, ok := f.Lookup("roles"); ok {
		p.Roles = nil
		for _, r := range splitList(v) {
			role, err := bot.ParseRole(r)
			if err != nil {
				return bot.Usagef("--roles: %v", err)
			}
			p.Roles = append(p.Roles, role)
		}
	}
	if v, ok := f.Lookup("maintains"); ok {
		p.Maintains = nil
		for _, repo := range splitList(v) {
			owner, rname, ok := strings.Cut(repo, "/")
			if !ok || owner == "" || rname == "" || strings.Contains(rname, "/") {
				return bot.Usagef("--maintains: %q is not owner/repo", repo)
			}
			p.Maintains = append(p.Maintains, repo)
		}
	}
	if v, ok := f.Lookup("email"); ok {
		if _, err := mail.ParseAddress(v); err != nil {
			return bot.Usagef("--email: %q is not an email address", v)
		}
		p.Email = v
	}
	if v, ok := f.Lookup("github"); ok {
		p.GitHub = strings.TrimPrefix(v, "@")
	}
	if v, ok := f.Lookup("tz"); ok {
		if _, err := time.LoadLocation(v); err != nil || v == "" {
			return bot.Usagef("--tz: unknown time zone %q (use an IANA name like Europe/Paris)", v)
		}
		p.Timezone = v
	}
	if v, ok := f.Lookup("display"); ok {
		p.DisplayName = v
	}
	if v, ok := f.Lookup("chat"); ok {
		if p.Chat == nil {
			p.Chat = map[string]string{}
		}
		for _, acct := range splitList(v) {
			ref, err := bot.ParseUserRef(acct)
			if err != nil {
				return bot.Usagef("--chat: %v", err)
			}
			p.Chat[ref.Adapter] = ref.ID
		}
	}
	if p.Chat == nil {
		p.Chat = map[string]string{}
	}
	if p.Chat[bot.AdapterConsole] == "" {
		// Everyone can be spoken as in the console by their name.
		p.Chat[bot.AdapterConsole] = p.Name
	}
	if err := e.SavePerson(ctx, *p); err != nil {
		return err
	}
	action := "people.add"
	if existed {
		action = "people.change"
	}
	if err := req.Record(ctx, action, "@"+name, rolesOf(p)); err != nil {
		return err
	}
	verb := "added"
	if existed {
		verb = "updated"
	}
	_, err := req.Announce(ctx, bot.Message{Text: req.ActorMention() + " " + verb + " " + p.Label() + ".", Fields: personMessage(p).Fields})
	return err
}

func personMessage(p *bot.Person) bot.Message {
	msg := bot.Message{Header: p.Label(), Fields: []bot.Field{{Label: "Roles", Value: rolesOf(p)}}}
	add := func(label, v string) {
		if v != "" {
			msg.Fields = append(msg.Fields, bot.Field{Label: label, Value: v})
		}
	}
	add("Maintains", strings.Join(p.Maintains, ", "))
	add("Email", p.Email)
	add("GitHub", p.GitHub)
	add("Time zone", p.Timezone)
	var accts []string
	for _, a := range []string{bot.AdapterSlack, bot.AdapterMatrix, bot.AdapterConsole} {
		if id := p.Chat[a]; id != "" {
			accts = append(accts, a+":"+id)
		}
	}
	add("Chat", strings.Join(accts, ", "))
	return msg
}
