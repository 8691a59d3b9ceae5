package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

func (e *Engine) registerBuiltins() {
	e.MustRegister(&Command{
		Name:     "help",
		Summary:  "List the commands, or show how to use one",
		Usage:    "[VERB ...]",
		Help:     "Without arguments, lists every command with one line each. With a verb, shows its usage, flags, sub-commands and examples.",
		Examples: []string{"help", "help duty", "help duty override"},
		Where:    Anywhere,
		MaxArgs:  -1,
		Run:      e.runHelp,
	})
}

func (e *Engine) runHelp(ctx context.Context, req *Request) error {
	prefix := req.Prefix()
	if len(req.Args) == 0 {
		var b strings.Builder
		for _, c := range e.router.Commands() {
			fmt.Fprintf(&b, "`%s %s` — %s%s\n", prefix, c.Name, c.Summary, restriction(c))
		}
		fmt.Fprintf(&b, "\nMore on one command: `%s help VERB`. Answers are for you alone; add `--%s` to any command to show its answer to everyone here.", prefix, PublicFlag)
		_, err := req.Reply(ctx, Message{Header: "Vigil commands", Text: b.String()})
		return err
	}
	c, rest, err := e.router.Lookup(req.Args)
	if c == nil {
		return err
	}
	if len(rest) > 0 && c.Run != nil {
		return Usagef("%q has no sub-command %q", c.Path(), Untrusted(rest[0]))
	}
	_, err = req.Reply(ctx, commandHelp(c, prefix))
	return err
}

func restriction(c *Command) string {
	var parts []string
	if len(c.Roles) > 0 {
		parts = append(parts, rolesText(c.Roles))
	}
	if c.Where == PrivateOnly {
		parts = append(parts, "private room")
	}
	if len(parts) == 0 {
		return ""
	}
	return " _(" + strings.Join(parts, ", ") + ")_"
}

func commandHelp(c *Command, prefix string) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: `%s`\n", c.UsageLine(prefix))
	if c.Help != "" {
		fmt.Fprintf(&b, "\n%s\n", c.Help)
	} else if c.Summary != "" {
		fmt.Fprintf(&b, "\n%s\n", c.Summary)
	}
	if c.Run != nil {
		b.WriteString("\nFlags:\n")
		for _, f := range append(slices.Clip(c.Flags), publicFlagSpec) {
			name := "--" + f.Name
			if !f.Bool {
				v := f.Value
				if v == "" {
					v = "VALUE"
				}
				name += " " + v
			}
			fmt.Fprintf(&b, "  `%s` — %s\n", name, f.Help)
		}
	}
	if len(c.Sub) > 0 {
		b.WriteString("\nSub-commands:\n")
		for _, s := range c.Sub {
			fmt.Fprintf(&b, "  `%s %s` — %s%s\n", prefix, s.Path(), s.Summary, restriction(s))
		}
	}
	if len(c.Examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, ex := range c.Examples {
			fmt.Fprintf(&b, "  `%s %s`\n", prefix, ex)
		}
	}
	return Message{Header: prefix + " " + c.Path(), Text: strings.TrimRight(b.String(), "\n"), Context: strings.TrimPrefix(restriction(c), " ")}
}
