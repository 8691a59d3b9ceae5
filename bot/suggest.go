package bot

// Closest returns the candidate nearest to word when it is close enough to
// be a likely typo, or "": the did-you-mean the router gives for verbs and
// flags, for features that check names of their own (people, rotations).
func Closest(word string, candidates []string) string { return closest(word, candidates) }

// helpAsked is the command a `--help` anywhere after a verb asks about,
// for every command alike (`/sec report notify --help`), so the answer is
// the help, not "unknown flag". A command that declares its own help flag
// keeps it. "--help" given as a flag's value (--reason --help) counts too:
// reading help there is harmless, and nothing runs.
func (r *Router) helpAsked(text string) (*Command, bool) {
	words, err := SplitArgs(text)
	if err != nil {
		return nil, false
	}
	var rest []string
	asked := false
	for _, w := range words {
		if w == "--help" {
			asked = true
			continue
		}
		rest = append(rest, w)
	}
	if !asked || len(rest) == 0 {
		return nil, false
	}
	c, _, _ := r.Lookup(rest)
	if c == nil {
		return nil, false
	}
	if _, own := findFlag(c.Flags, "help"); own {
		return nil, false
	}
	return c, true
}
