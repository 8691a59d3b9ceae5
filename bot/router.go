package bot

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Where says where a command may run.
type Where int

const (
	// PrivateOnly (the default) commands run only in a private security
	// room (or the console). Elsewhere the caller is told to go there and
	// gets no detail back.
	PrivateOnly Where = iota
	// Anywhere commands run in any room and in DMs.
	Anywhere
)

// Command is one verb (or sub-verb) of "/sec". Each feature package
// declares its commands and registers them; there is no central switch.
type Command struct {
	Name string
	// Summary is the one line shown in "/sec help".
	Summary string
	// Usage is the argument synopsis after the verb path, e.g.
	// "@person --from TIME --to TIME".
	Usage    string
	Help     string
	Examples []string
	// Roles: the caller needs one of them. Empty means anyone, including
	// people not in the directory.
	Roles []Role
	Where Where
	Flags []FlagSpec
	// MinArgs and MaxArgs bound the positional arguments; MaxArgs < 0
	// means no upper bound. Both zero means none are accepted.
	MinArgs, MaxArgs int
	// Sub are sub-verbs ("duty rotation create").
	Sub []*Command
	// Run does the work. A command with Sub and no Run only groups.
	Run func(ctx context.Context, req *Request) error

	parent *Command
}

// Path is the full verb path, e.g. "duty rotation create".
func (c *Command) Path() string {
	if c.parent == nil {
		return c.Name
	}
	return c.parent.Path() + " " + c.Name
}

// UsageLine is how the command is called, with the adapter's prefix.
func (c *Command) UsageLine(prefix string) string {
	line := prefix + " " + c.Path()
	if len(c.Sub) > 0 && c.Run == nil {
		line += " " + subNames(c)
	}
	if c.Usage != "" {
		line += " " + c.Usage
	}
	return line
}

func subNames(c *Command) string {
	names := make([]string, len(c.Sub))
	for i, s := range c.Sub {
		names[i] = s.Name
	}
	return strings.Join(names, "|")
}

// Router finds the command for a line of words.
type Router struct {
	commands map[string]*Command
}

func newRouter() *Router { return &Router{commands: map[string]*Command{}} }

// Register adds a top-level command; names must be unique.
func (r *Router) Register(c *Command) error {
	if err := validateCommand(c, nil); err != nil {
		return err
	}
	if _, dup := r.commands[c.Name]; dup {
		return fmt.Errorf("command %q is registered twice", c.Name)
	}
	r.commands[c.Name] = c
	return nil
}

func validateCommand(c *Command, parent *Command) error {
	c.parent = parent
	if c.Name == "" || strings.ContainsAny(c.Name, " \t") {
		return fmt.Errorf("command name %q: must be one word", c.Name)
	}
	if c.Run == nil && len(c.Sub) == 0 {
		return fmt.Errorf("command %q has neither Run nor sub-commands", c.Path())
	}
	for _, ex := range c.Examples {
		// Help prints the adapter's prefix before each example, so an
		// example is the command line after it and starts with the path.
		if w, err := SplitArgs(ex); err != nil || !startsWithPath(w, c) {
			return fmt.Errorf("command %q: example %q must start with %q and no prefix (help adds the prefix)", c.Path(), ex, c.Path())
		}
	}
	if _, own := findFlag(c.Flags, PublicFlag); own {
		return fmt.Errorf("command %q: --%s is the router's flag for every command", c.Path(), PublicFlag)
	}
	seen := map[string]bool{}
	for _, s := range c.Sub {
		if seen[s.Name] {
			return fmt.Errorf("command %q has sub-command %q twice", c.Path(), s.Name)
		}
		seen[s.Name] = true
		if err := validateCommand(s, c); err != nil {
			return err
		}
	}
	return nil
}

// startsWithPath reports whether words begin with c's verb path.
func startsWithPath(words []string, c *Command) bool {
	path := strings.Fields(c.Path())
	if len(words) < len(path) {
		return false
	}
	for i, p := range path {
		if !strings.EqualFold(words[i], p) {
			return false
		}
	}
	return true
}

// Commands returns the top-level commands, sorted by name.
func (r *Router) Commands() []*Command {
	out := make([]*Command, 0, len(r.commands))
	for _, c := range r.commands {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup walks words down the command tree. It returns the deepest command
// matched and the words left over for it.
func (r *Router) Lookup(words []string) (*Command, []string, error) {
	if len(words) == 0 {
		return nil, nil, usageErrorf("no command given")
	}
	verb := strings.ToLower(words[0])
	c, ok := r.commands[verb]
	if !ok {
		return nil, nil, &unknownCommandError{word: words[0], suggestion: closest(verb, r.names())}
	}
	rest := words[1:]
	for len(c.Sub) > 0 && len(rest) > 0 {
		sub := findSub(c, strings.ToLower(rest[0]))
		if sub == nil {
			break
		}
		c, rest = sub, rest[1:]
	}
	if c.Run == nil {
		// A group verb: the next word had to be one of its sub-verbs.
		if len(rest) == 0 {
			return c, rest, usageErrorf("%q needs one of: %s", c.Path(), strings.ReplaceAll(subNames(c), "|", ", "))
		}
		names := make([]string, len(c.Sub))
		for i, s := range c.Sub {
			names[i] = s.Name
		}
		hint := ""
		if s := closest(strings.ToLower(rest[0]), names); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", c.Path()+" "+s)
		}
		return c, rest, usageErrorf("%q has no sub-command %q%s", c.Path(), Untrusted(rest[0]), hint)
	}
	return c, rest, nil
}

func findSub(c *Command, name string) *Command {
	for _, s := range c.Sub {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (r *Router) names() []string {
	names := make([]string, 0, len(r.commands))
	for n := range r.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type unknownCommandError struct{ word, suggestion string }

func (e *unknownCommandError) Error() string {
	msg := fmt.Sprintf("unknown command %q", Untrusted(e.word))
	if e.suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.suggestion)
	}
	return msg
}

// allowed reports whether p may run something that needs one of roles.
func allowed(p *Person, roles []Role) bool {
	if len(roles) == 0 {
		return true
	}
	return slices.ContainsFunc(roles, p.Has)
}

func rolesText(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// parseCommand turns the text after the prefix into a command and its
// parsed arguments. It does no I/O, so it is what the fuzzer exercises.
func (r *Router) parseCommand(text string) (*Command, []string, Flags, error) {
	words, err := SplitArgs(text)
	if err != nil {
		return nil, nil, Flags{}, usageErrorf("%v", err)
	}
	c, rest, err := r.Lookup(words)
	if err != nil {
		return c, nil, Flags{}, err
	}
	args, flags, err := ParseFlags(rest, append(slices.Clip(c.Flags), publicFlagSpec))
	if err != nil {
		return c, nil, Flags{}, err
	}
	switch {
	case len(args) < c.MinArgs:
		return c, nil, Flags{}, usageErrorf("%q needs %s", c.Path(), argCount(c.MinArgs, c.MaxArgs))
	case c.MaxArgs >= 0 && len(args) > c.MaxArgs:
		if c.MaxArgs == 0 {
			return c, nil, Flags{}, usageErrorf("%q takes no arguments, got %q", c.Path(), Untrusted(strings.Join(args, " ")))
		}
		return c, nil, Flags{}, usageErrorf("%q takes %s, got %d", c.Path(), argCount(c.MinArgs, c.MaxArgs), len(args))
	}
	return c, args, flags, nil
}

// DryRun resolves text (a command line without the adapter's prefix, as
// in Command.Examples) the way a command is resolved before it runs: it
// walks the command tree and validates the flags and the number of
// arguments, and returns the command it reaches. It runs nothing and
// checks neither roles nor the room, which depend on who asks where.
func (r *Router) DryRun(text string) (*Command, error) {
	c, _, _, err := r.parseCommand(text)
	if err != nil {
		return c, err
	}
	return c, nil
}

func argCount(lo, hi int) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case hi < 0:
		return "at least " + plural(lo)
	case lo == hi:
		return plural(lo)
	case lo == 0:
		return "at most " + plural(hi)
	}
	return fmt.Sprintf("%d to %d arguments", lo, hi)
}
