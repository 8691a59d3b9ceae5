package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/hostile"
)

// literalToken is inertMrkdwn's way of showing a run of formatting
// characters as text; it is the only <…> an untrusted run may produce.
var literalToken = regexp.MustCompile("<!date\\^00000000\\^\\{_\\}\\|[*_~`]+>")

// vigilDate is a time Vigil itself writes (a time token of its own text,
// such as a report's Received), drawn in each reader's zone: the one other
// <…> a report message may hold. Untrusted text cannot make one: the
// renderer reads tokens only outside untrusted runs, and escapes < there.
var vigilDate = regexp.MustCompile(`<!date\^[0-9]{9,11}\^\{date_short_pretty\} \{time\}\|[^<>|]*>`)

// mrkdwnProblems checks a mrkdwn text Vigil sent for a report (which has no
// links or mentions of Vigil's own): once the literal-formatting tokens are
// taken out, no < or > is left (so no <!channel>, <!here>, <!subteam^…>,
// <@U…>, <#C…>, <url|label> or <!date…> from the input), every & starts
// &amp;, &lt; or &gt;, and no marker or placeholder leaked.
func mrkdwnProblems(s string) []string {
	var out []string
	rest := vigilDate.ReplaceAllString(literalToken.ReplaceAllString(s, ""), "")
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		out = append(out, fmt.Sprintf("unescaped %q at %q", rest[i], around(rest, i)))
	}
	for i := strings.IndexByte(rest, '&'); i >= 0; i = next(rest, i) {
		if !strings.HasPrefix(rest[i:], "&amp;") && !strings.HasPrefix(rest[i:], "&lt;") && !strings.HasPrefix(rest[i:], "&gt;") {
			out = append(out, fmt.Sprintf("bare & at %q", around(rest, i)))
			break
		}
	}
	if strings.ContainsAny(s, "\uE000\uE001") {
		out = append(out, "a marker leaked")
	}
	return out
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '&')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func around(s string, i int) string {
	lo, hi := max(0, i-20), min(len(s), i+20)
	return s[lo:hi]
}

// decodeMrkdwn is what a Slack client shows for inertMrkdwn's output:
// tokens show their fallback, entities decode, soft hyphens are invisible.
func decodeMrkdwn(s string) string {
	s = literalToken.ReplaceAllStringFunc(s, func(tok string) string {
		return strings.TrimSuffix(strings.TrimPrefix(tok, literalFmtOpen), literalFmtClose)
	})
	s = strings.ReplaceAll(s, "\u00ad", "")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// untrustedProblems checks inertMrkdwn on its own: no formatting character
// outside a token, no line that quotes, and nothing lost.
func untrustedProblems(in string) []string {
	out := inertMrkdwn(in)
	problems := mrkdwnProblems(out)
	if rest := literalToken.ReplaceAllString(out, ""); strings.ContainsAny(rest, "*_~`") {
		problems = append(problems, "a formatting character outside a literal token")
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "&gt;") {
			problems = append(problems, fmt.Sprintf("line %q would quote", l))
		}
	}
	if got := decodeMrkdwn(out); got != in {
		problems = append(problems, fmt.Sprintf("shows %q, want the text as written %q", got, in))
	}
	return problems
}

// checkBlocks checks every text object of a rendered message.
func checkBlocks(t *testing.T, name string, blocks []map[string]any) {
	t.Helper()
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			if typ, _ := v["type"].(string); typ == "mrkdwn" || typ == "plain_text" {
				text, _ := v["text"].(string)
				if strings.ContainsAny(text, "\uE000\uE001") {
					t.Errorf("%s: %s: a marker leaked into %q", name, path, text)
				}
				if !utf8.ValidString(text) {
					t.Errorf("%s: %s: invalid UTF-8 sent", name, path)
				}
				if typ == "mrkdwn" {
					for _, p := range mrkdwnProblems(text) {
						t.Errorf("%s: %s: %s", name, path, p)
					}
				}
				return
			}
			for k, c := range v {
				walk(c, path+"."+k)
			}
		case []any:
			for i, c := range v {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	for i, b := range blocks {
		walk(map[string]any(b), fmt.Sprintf("block[%d]", i))
	}
}

func blocksJSON(t *testing.T, o outgoing) []map[string]any {
	t.Helper()
	data, err := json.Marshal(o.blocks)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every corpus string, as a report's title, description and reporter name
// from every source, renders with nothing live: in blocks and in the
// fallback text.
func TestHostileCorpusRendersInert(t *testing.T) {
	filed := hostile.Reports(t, hostile.Load(t))
	sources := map[string]bool{}
	for _, f := range filed {
		sources[string(f.Source)] = true
		name := f.Case.Name + "/" + string(f.Source)
		for _, o := range render(f.Msg) {
			for _, p := range mrkdwnProblems(o.text) {
				t.Errorf("%s: fallback text: %s", name, p)
			}
			checkBlocks(t, name, blocksJSON(t, o))
		}
	}
	if len(sources) != 4 {
		t.Errorf("reports came from %v, want all four sources", sources)
	}
}

func TestInertMrkdwnCorpus(t *testing.T) {
	for _, c := range hostile.Load(t) {
		in := strings.ToValidUTF8(bot.StripSentinels(c.Text), "\uFFFD")
		for _, p := range untrustedProblems(in) {
			t.Errorf("%s: %s", c.Name, p)
		}
	}
}

// Vigil's own text keeps its formatting and links, and its stray < and &
// are escaped as Slack requires; untrusted runs inside it are inert while
// Vigil's bold around them still pairs.
func TestMrkdwnTextMixesOwnAndUntrusted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*Title* <https://example.org/a|the advisory>", "*Title* <https://example.org/a|the advisory>"},
		{"Trent <trent@example.com> & co", "Trent &lt;trent@example.com&gt; &amp; co"},
		{"a < b", "a &lt; b"},
		{"ping <!channel>", "ping @channel"},
		{"*" + bot.Untrusted("<!channel> *x*").String() + "*", "*&lt;!channel&gt; " + literalFmtOpen + "*" + literalFmtClose + "x" + literalFmtOpen + "*" + literalFmtClose + "*"},
		{"Reporter: " + bot.Untrusted("<https://evil.example/|docs.slack.com>").String(), "Reporter: &lt;https://evil.example/|docs.slack.com&gt;"},
		{bot.Untrusted("> quote\nok").String(), "\u00ad&gt; quote\nok"},
	}
	for _, tt := range tests {
		if got := mrkdwnText(tt.in); got != tt.want {
			t.Errorf("mrkdwnText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Cutting rendered text never leaves half a token or entity.
func TestTruncateMrkdwnKeepsTokensWhole(t *testing.T) {
	s := inertMrkdwn(strings.Repeat("<*>&", 500))
	for n := 4; n < 200; n++ {
		got := truncateMrkdwn(s, n)
		if len(got) > n+len("…") {
			t.Fatalf("n=%d: %d bytes", n, len(got))
		}
		for _, p := range mrkdwnProblems(strings.TrimSuffix(got, "…")) {
			t.Fatalf("n=%d: %q: %s", n, got, p)
		}
	}
	for _, chunk := range splitText(s, 300) {
		for _, p := range mrkdwnProblems(chunk) {
			t.Fatalf("chunk %q: %s", chunk, p)
		}
	}
}

// Acceptance: through Slack HTTP mode against the fake Web API, every
// payload Vigil sends for a report built from the corpus (POSTed to the
// intake API) has no live mention, broadcast, user-group ping, labelled
// link or unescaped <, in blocks and in text, and asks for no unfurls.
func TestHostileReportsThroughSlackHTTP(t *testing.T) {
	r := newRig(t, rigOptions{mode: ModeHTTP, start: time.Now().Truncate(time.Second), setup: func(e *bot.Engine) {
		if _, err := report.Register(e, report.Options{APIToken: "tok"}); err != nil {
			t.Fatal(err)
		}
	}})
	srv := httptest.NewServer(r.engine.HTTP())
	t.Cleanup(srv.Close)
	r.ready()
	ctx := context.Background()
	posts := 0
	for i, c := range hostile.Load(t) {
		body, _ := json.Marshal(map[string]any{"title": c.Text, "description": c.Text, "reporter": map[string]any{"name": c.Text, "email": "eve@example.org"}})
		h := http.Header{}
		h.Set("Authorization", "Bearer tok")
		h.Set("Idempotency-Key", fmt.Sprintf("k%d", i))
		status, answer := post(t, srv, "/api/v1/reports", "application/json", string(body), h)
		if status >= 500 {
			t.Fatalf("%s: %d %s", c.Name, status, answer)
		}
		r.engine.Step(ctx)
		for {
			var p posted
			select {
			case p = <-r.slack.postCh:
			default:
			}
			if p.TS == "" && p.Channel == "" {
				break
			}
			posts++
			for _, prob := range mrkdwnProblems(p.Text) {
				t.Errorf("%s: text: %s", c.Name, prob)
			}
			checkBlocks(t, c.Name, p.Blocks)
			if p.UnfurlLinks != "false" || p.UnfurlMedia != "false" {
				t.Errorf("%s: unfurl_links=%s unfurl_media=%s, want both false", c.Name, p.UnfurlLinks, p.UnfurlMedia)
			}
		}
	}
	if posts < 40 {
		t.Errorf("only %d messages posted for the corpus: the reports did not get through", posts)
	}
}

func FuzzRenderUntrusted(f *testing.F) {
	for _, c := range []string{"<!channel>", "*x* _y_ ~z~ `w`", "```", "> q", "&amp;", "\ue001<!here>", "a\ue000b"} {
		f.Add(c, "Title")
	}
	f.Fuzz(func(t *testing.T, outside, own string) {
		own = strings.Map(func(r rune) rune {
			if strings.ContainsRune("<>&\ue000\ue001", r) {
				return -1
			}
			return r
		}, own)
		msg := bot.Message{
			Header: own + bot.Untrusted(outside).String(),
			Text:   "*" + own + "* " + bot.Untrusted(outside).String() + "\n" + bot.Untrusted(outside).String(),
			Fields: []bot.Field{{Label: own, Value: bot.Untrusted(outside).String()}},
		}
		for _, o := range render(msg) {
			for _, p := range mrkdwnProblems(o.text) {
				t.Fatalf("text %q: %s", o.text, p)
			}
			checkBlocks(t, "fuzz", blocksJSON(t, o))
		}
		if utf8.ValidString(outside) {
			for _, p := range untrustedProblems(bot.StripSentinels(outside)) {
				t.Fatalf("%q: %s", outside, p)
			}
		}
	})
}
