package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
)

// Sections of the public write-up, in order.
var sections = []struct{ key, title, hint string }{
	{"tldr", "TLDR", "Does a user need to act, and how can they tell whether they are affected?"},
	{"summary", "Summary", "What happened, who was affected, and for how long."},
	{"timeline", "Timeline", ""},
	{"references", "References", "Links: advisories, fixes, announcements."},
	{"evidence", "Evidence", ""},
}

func sectionKey(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, sec := range sections {
		if sec.key == s || strings.ToLower(sec.title) == s {
			return sec.key, true
		}
	}
	return "", false
}

// todo marks a section nobody has written yet; the scan reports it.
const todo = "_To write:_ "

// writeupTitle is the issue's title.
// The write-up is GitHub Markdown, not chat: it holds the raw text
// (string(...)); the chat preview marks the whole of it untrusted.
func writeupTitle(in *Incident) string { return "Security incident: " + string(in.Title) }

// render builds the write-up as Markdown (templates/writeup.md.tmpl).
// Generated sections (summary facts, timeline, evidence) carry no chat
// names: authors are named once, and the scan flags any other name from
// the directory.
func (inc *Incidents) render(in *Incident) (string, error) {
	doc := writeupDoc{Title: writeupTitle(in), Opened: stamp(in.Started, true), Resolved: in.State == stateResolved}
	var authors []string
	for _, a := range in.Authors {
		authors = append(authors, inc.displayName(a))
	}
	doc.Authors = strings.Join(authors, ", ")
	for _, sec := range sections {
		text, written := in.Sections[sec.key]
		doc.Sections = append(doc.Sections, writeupSection{Key: sec.key, Title: sec.title, Written: written, Text: strings.TrimSpace(text), Placeholder: todo + sec.hint})
	}
	es := entries(in, false)
	doc.SeveralDays = severalDays(entryTimes(in, es)...)
	doc.Day = in.Started.UTC().Format("Monday 2 January 2006")
	for _, e := range es {
		doc.Timeline = append(doc.Timeline, writeupLine{Stamp: stamp(e.At, doc.SeveralDays), Text: oneLine(string(e.Text))})
	}
	if doc.Resolved {
		doc.ResolvedOn = stamp(in.Resolved, true)
		doc.Lasted = textutil.Duration(in.Resolved.Sub(in.Started))
		doc.ResolvedStamp = stamp(in.Resolved, doc.SeveralDays)
	}
	for _, e := range entries(in, true) {
		doc.Evidence = append(doc.Evidence, oneLine(string(e.Text)))
	}
	md, err := incidentTexts.Render("writeup.md.tmpl", doc)
	if err != nil {
		return "", fmt.Errorf("write-up of %s: %w", in.ID, err)
	}
	return strings.TrimRight(md, "\n") + "\n", nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (inc *Incidents) displayName(name string) string {
	if p, ok := inc.e.Directory().ByName(name); ok && p.DisplayName != "" {
		return p.DisplayName
	}
	return "@" + name
}

// digest identifies a write-up's exact text, so a confirmation publishes
// what was reviewed and nothing edited since.
func digest(title, body string) string {
	sum := sha256.Sum256([]byte(title + "\x00" + body))
	return hex.EncodeToString(sum[:6])
}

// Finding is something the scan found that should not go public.
type Finding struct {
	Kind string // email, token, ip, name, unwritten
	Text string // what matched (tokens shortened)
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	ipv4RE  = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b`)
	ipv6RE  = regexp.MustCompile(`(?i)\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4})?\b`)
	// tokenREs are the shapes of credentials: known prefixes (GitHub,
	// Slack, AWS, npm, PyPI, OpenAI-style), private keys, JWTs, and long
	// random-looking strings.
	tokenREs = []*regexp.Regexp{
		regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b`),
		regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`),
		regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`),
		regexp.MustCompile(`\bnpm_[A-Za-z0-9]{30,}\b`),
		regexp.MustCompile(`\bpypi-[A-Za-z0-9_-]{30,}`),
		regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}`),
		regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
		regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`),
		regexp.MustCompile(`(?i)\b(?:password|passwd|secret|token|api[_-]?key)\s*[:=]\s*\S{6,}`),
	}
	// longRandomRE catches keys of no known shape: 32+ characters mixing
	// letters and digits. Commit hashes (40 hex) are common in write-ups
	// and are let through by looksRandom.
	longRandomRE = regexp.MustCompile(`\b[A-Za-z0-9+/_-]{32,}={0,2}`)
	hexRE        = regexp.MustCompile(`^[0-9a-f]{40}$|^[0-9a-f]{64}$`)
)

func looksRandom(s string) bool {
	if hexRE.MatchString(s) {
		return false // a commit or a checksum
	}
	var lower, upper, digit bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	return digit && (lower || upper)
}

// shorten shows a credential by its first six characters: enough to find
// it in the text, too few to use it.
func shorten(s string) string { return textutil.Truncate(s, 7) }

// scan looks for what must not go public: email addresses, credentials,
// IP addresses, and names from the people directory other than the
// write-up's authors; and sections nobody wrote.
func (inc *Incidents) scan(in *Incident, body string) []Finding {
	var out []Finding
	seen := map[string]bool{}
	add := func(kind, text string) {
		if !seen[kind+text] {
			seen[kind+text] = true
			out = append(out, Finding{Kind: kind, Text: text})
		}
	}
	for _, m := range emailRE.FindAllString(body, -1) {
		add("email address", m)
	}
	for _, re := range tokenREs {
		for _, m := range re.FindAllString(body, -1) {
			add("token or key", shorten(m))
		}
	}
	for _, m := range longRandomRE.FindAllString(body, -1) {
		if looksRandom(m) && !seen["token or key"+shorten(m)] {
			add("token or key", shorten(m))
		}
	}
	for _, m := range ipv4RE.FindAllString(body, -1) {
		add("IP address", m)
	}
	for _, m := range ipv6RE.FindAllString(body, -1) {
		if strings.Count(m, ":") >= 2 {
			add("IP address", m)
		}
	}
	lower := strings.ToLower(body)
	for _, p := range inc.e.Directory().All() {
		if slices.Contains(in.Authors, p.Name) {
			continue
		}
		for _, n := range []string{p.Name, p.DisplayName, p.GitHub} {
			if len(n) < 3 {
				continue
			}
			if wordIn(lower, strings.ToLower(n)) {
				add("name", n)
			}
		}
	}
	for _, sec := range sections {
		if _, ok := in.Sections[sec.key]; !ok && sec.hint != "" {
			add("unwritten", sec.title)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// wordIn reports whether w occurs in s as a whole word.
func wordIn(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80
}

func (inc *Incidents) runWriteup(ctx context.Context, req *bot.Request) error {
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	return inc.preview(ctx, req, in)
}

// preview posts the write-up in the war room (and a pointer in reply).
func (inc *Incidents) preview(ctx context.Context, req *bot.Request, in *Incident) error {
	body, err := inc.render(in)
	if err != nil {
		return err
	}
	d := digest(writeupTitle(in), body)
	msg := bot.Message{
		Header: "Write-up of " + in.ID + " (preview)",
		// The preview shows the Markdown source inert: it quotes chat
		// messages, and a fence of Vigil's own would not hold against a
		// ``` in them.
		Text:    bot.Untrusted(body).String(),
		Context: fmt.Sprintf("Edit a section: %s incident writeup edit SECTION \"TEXT\" (tldr, summary, timeline, references, evidence). Version %s.", req.Prefix(), d),
	}
	if err := inc.say(ctx, in, fmt.Sprintf("writeup:%s:%d", d, req.Now().UnixNano()), msg); err != nil {
		return err
	}
	return inc.replyf(ctx, req, "The write-up of %s (version %s) is previewed in its war room.", in.ID, d)
}

func (inc *Incidents) runWriteupEdit(ctx context.Context, req *bot.Request) error {
	key, ok := sectionKey(req.Args[0])
	if !ok {
		return bot.Usagef("%q is not a section (tldr, summary, timeline, references, evidence)", req.Args[0])
	}
	text := strings.TrimSpace(strings.Join(req.Args[1:], " "))
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	if in.Issue != nil {
		return bot.Noticef("The write-up of %s is published (%s); edit it on GitHub.", in.ID, in.Issue.URL)
	}
	in, err = inc.update(ctx, in.ID, func(in *Incident) error {
		if in.Sections == nil {
			in.Sections = map[string]string{}
		}
		in.Sections[key] = text
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "incident.writeup", in.ID, key); err != nil {
		return err
	}
	return inc.preview(ctx, req, in)
}
