package bot

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrUnterminatedQuote is returned by SplitArgs for a quote that is never
// closed; callers match it with errors.Is.
var ErrUnterminatedQuote = errors.New("unterminated quote")

// SplitArgs splits a command line into words the way a shell user expects:
// spaces separate words; "double" and 'single' quotes group them; inside
// double quotes and outside quotes a backslash escapes the next character.
// Chat clients turn quotes into typographic ones (Slack and macOS do), so
// “…” and ‘…’ count as quotes too.
func SplitArgs(line string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune // the closing quote we are waiting for, or 0
		opened  int  // byte offset of the open quote, for the error
		escaped bool
	)
	for i, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote != 0:
			switch {
			case r == quote:
				quote = 0
			case r == '\\' && quote == '"':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '"' || r == '\'':
			quote, opened, inWord = r, i, true
		case r == '“':
			quote, opened, inWord = '”', i, true
		case r == '‘':
			quote, opened, inWord = '’', i, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%w: the quote at character %d is never closed", ErrUnterminatedQuote, opened+1)
	}
	if escaped {
		// A trailing backslash stands for itself.
		cur.WriteByte('\\')
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// QuoteArg quotes a word so SplitArgs returns it unchanged.
func QuoteArg(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'\“”‘’`, r)
	}) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// FlagSpec declares a --flag a command accepts.
type FlagSpec struct {
	Name string
	// Bool flags take no value (--expedite); others need one
	// (--reason "..." or --reason=...).
	Bool bool
	// Value names the value in the usage line, e.g. "TIME".
	Value string
	Help  string
}

// Flags are the parsed --flags of one command.
type Flags struct {
	values map[string]string
}

// Has reports whether the flag was given.
func (f Flags) Has(name string) bool { _, ok := f.values[name]; return ok }

// Get returns the flag's value ("" when absent or a bool flag).
func (f Flags) Get(name string) string { return f.values[name] }

// Lookup returns the flag's value and whether it was given.
func (f Flags) Lookup(name string) (string, bool) { v, ok := f.values[name]; return v, ok }

// ParseFlags separates --flags from positional words. Flags may come
// anywhere; "--" ends them. Unknown flags, missing values, values given to
// boolean flags and repeated flags are usage errors.
func ParseFlags(words []string, specs []FlagSpec) ([]string, Flags, error) {
	flags := Flags{values: map[string]string{}}
	var args []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			args = append(args, words[i+1:]...)
			break
		}
		if !strings.HasPrefix(w, "--") || len(w) == 2 {
			args = append(args, w)
			continue
		}
		name, value, hasValue := strings.Cut(w[2:], "=")
		spec, ok := findFlag(specs, name)
		if !ok {
			return nil, Flags{}, usageErrorf("unknown flag --%s%s", Untrusted(name), suggestFlag(name, specs))
		}
		if _, dup := flags.values[name]; dup {
			return nil, Flags{}, usageErrorf("flag --%s is given twice", name)
		}
		switch {
		case spec.Bool && hasValue:
			return nil, Flags{}, usageErrorf("flag --%s takes no value", name)
		case spec.Bool:
			value = ""
		case !hasValue:
			if i+1 >= len(words) {
				return nil, Flags{}, usageErrorf("flag --%s needs a value%s", name, valueHint(spec))
			}
			i++
			value = words[i]
		}
		flags.values[name] = value
	}
	return args, flags, nil
}

func valueHint(s FlagSpec) string {
	if s.Value == "" {
		return ""
	}
	return " (" + s.Value + ")"
}

func findFlag(specs []FlagSpec, name string) (FlagSpec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return FlagSpec{}, false
}

func suggestFlag(name string, specs []FlagSpec) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	if best := closest(name, names); best != "" {
		return " (did you mean --" + best + "?)"
	}
	return ""
}

// closest returns the candidate nearest to word when it is close enough to
// be a likely typo, or "".
func closest(word string, candidates []string) string {
	best, bestDist := "", 3
	limit := max(1, len(word)/3+1)
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if d < bestDist && d <= limit {
			best, bestDist = c, d
		}
		if best == "" && len(word) >= 2 && strings.HasPrefix(c, word) {
			best, bestDist = c, 2
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
