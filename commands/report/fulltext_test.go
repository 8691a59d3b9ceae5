package report_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
)

// longText is n characters of numbered sentences in paragraphs, with
// accented letters (so a cut inside a character would show) and a Slack
// broadcast (which must stay the reporter's inert text).
func longText(n int) string {
	var b strings.Builder
	for i := 1; utf8.RuneCountInString(b.String()) < n; i++ {
		fmt.Fprintf(&b, "Step %04d: the décodeur reads the next field <!channel>.", i)
		if i%6 == 0 {
			b.WriteString("\n\n")
		} else {
			b.WriteString(" ")
		}
	}
	runes := []rune(b.String())[:n]
	runes[n-1] = '!' // the end is not white space, which intake would trim
	return string(runes)
}

// untrustedText is what a message shows of outside text: its untrusted
// runs, joined.
func untrustedText(msgs ...bot.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		for _, seg := range bot.Segments(m.Text) {
			if seg.Untrusted {
				b.WriteString(seg.Text)
			}
		}
	}
	return b.String()
}

// noSpace drops white space: parts are cut at spaces and line breaks,
// which they do not repeat at their ends.
func noSpace(s string) string { return strings.Join(strings.Fields(s), "") }

// checkParts checks that msgs hold text whole and in order, each part
// marked untrusted, sensitive, at most 2,000 characters of it, and saying
// which part it is.
func checkParts(t *testing.T, what string, msgs []bot.Message, text string) {
	t.Helper()
	if len(msgs) < 2 {
		t.Fatalf("%s: %d messages, want the text in several parts", what, len(msgs))
	}
	for i, m := range msgs {
		if !m.Sensitive || !m.HasUntrusted() {
			t.Errorf("%s part %d: sensitive %v, untrusted %v", what, i+1, m.Sensitive, m.HasUntrusted())
		}
		if n := utf8.RuneCountInString(untrustedText(m)); n > 2000 {
			t.Errorf("%s part %d holds %d characters", what, i+1, n)
		}
		if want := fmt.Sprintf("part %d of %d", i+1, len(msgs)); !strings.Contains(m.Context, want) {
			t.Errorf("%s part %d: context %q lacks %q", what, i+1, m.Context, want)
		}
	}
	if got := untrustedText(msgs...); noSpace(got) != noSpace(text) {
		t.Errorf("%s: the parts joined are not the text in order (%d characters of %d)", what, utf8.RuneCountInString(got), utf8.RuneCountInString(text))
	}
}

// A 10,000-character report through the intake API: the summary shows the
// beginning and says how much is left and where; the thread gets all of
// it, in order; `report show --full` gives all of it to the asker, and
// nothing of it in a public room.
func TestLongReportIsReadableInFull(t *testing.T) {
	f := newFixture(t, report.Options{APIToken: "tok-123", MaxAPIBody: 1 << 20})
	desc := longText(10_000)
	body, _ := json.Marshal(map[string]any{"title": "Heap overflow in the décodeur", "description": desc})
	if a := callAPI(t, f.Engine.HTTP(), "POST", "/api/v1/reports", "application/json", string(body)); a.status != 201 {
		t.Fatalf("intake answered %d %s", a.status, a.raw)
	}
	sent := f.Advance(0)

	var root *bottest.Sent
	var thread []bot.Message
	for i, s := range sent {
		switch {
		case strings.HasPrefix(bot.StripSentinels(s.Msg.Header), "VIG-2026-1:"):
			root = &sent[i]
		case !s.To.Thread.IsZero():
			if root == nil {
				t.Errorf("a thread post came before the summary: %q", bottest.Read(s.Msg))
			}
			thread = append(thread, s.Msg)
		}
	}
	if root == nil || !root.To.Thread.IsZero() {
		t.Fatalf("no summary at the top of the room in %q", bottest.Texts(sent))
	}
	excerpt := untrustedText(root.Msg)
	if n := utf8.RuneCountInString(excerpt); n > 2500 || n < 1250 || !strings.HasPrefix(desc, excerpt) {
		t.Errorf("the summary's excerpt is %d characters, or not the beginning of the text", n)
	}
	if !strings.HasSuffix(excerpt, ".") {
		t.Errorf("the excerpt is not cut at the end of a sentence: …%q", excerpt[len(excerpt)-20:])
	}
	summary := bottest.Read(root.Msg)
	m := regexp.MustCompile(`\((\d+) more characters\. The full text follows in the report's thread; ` + "`/sec report show VIG-2026-1 --full`" + ` shows it to you\.\)`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("the summary does not say what is left out and where:\n%s", summary)
	}
	// What is left out, plus the white space trimmed where it was cut.
	if left, _ := strconv.Atoi(m[1]); left+utf8.RuneCountInString(excerpt) < 10_000-2 || left+utf8.RuneCountInString(excerpt) > 10_000 {
		t.Errorf("the summary says %d more characters after an excerpt of %d, of 10,000", left, utf8.RuneCountInString(excerpt))
	}
	bottest.InOrder(t, summary, "Step 0001", textOf(excerpt, 30), "more characters", "Checklist:")

	checkParts(t, "thread", thread, desc)
	threads := map[string]bool{}
	for _, s := range sent {
		if !s.To.Thread.IsZero() {
			threads[s.To.Thread.ID] = true
		}
	}
	if len(threads) != 1 {
		t.Errorf("the parts went to %d threads, want the summary's", len(threads))
	}
	if thread[0].Header != "Full text of VIG-2026-1" || strings.Contains(bottest.Read(thread[0]), "Title:") {
		t.Errorf("the first part: header %q, text begins %q", thread[0].Header, bottest.Read(thread[0])[:40])
	}
	if more := f.Advance(time.Hour); len(more) != 0 && strings.Contains(bottest.Joined(more), "Step 0001") {
		t.Errorf("the full text was posted again: %q", bottest.Texts(more))
	}

	// `report show` without --full is the summary, with the same note.
	has(t, joined(f.Command("bob", "report show VIG-2026-1")), "more characters. The full text follows in the report's thread")

	full := f.Command("bob", "report show VIG-2026-1 --full")
	var shown []bot.Message
	for _, s := range full {
		if !s.ForAsker() {
			t.Errorf("--full answered the room: %q", bottest.Read(s.Msg))
		}
		shown = append(shown, s.Msg)
	}
	checkParts(t, "--full", shown, "Heap overflow in the décodeur"+desc)
	if !strings.HasPrefix(bottest.Read(shown[0]), "Full text of VIG-2026-1\n*Title:* Heap overflow in the décodeur\n\nStep 0001") {
		t.Errorf("--full does not begin with the title: %q", bottest.Read(shown[0])[:60])
	}

	public := f.CommandIn(bottest.PublicRoom, "bob", "report show VIG-2026-1 --full")
	if len(public) != 1 || strings.Contains(joined(public), "Step 0") || !strings.Contains(joined(public), "only in the private security room") {
		t.Errorf("report show --full in a public room: %q", bottest.Texts(public))
	}
}

// textOf is the last n characters of s, for ordering checks.
func textOf(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

// A short report is shown whole: no note, nothing more in the thread.
func TestShortReportIsNotCut(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("short@example.org"))
	sent := f.Advance(0)
	for _, s := range sent {
		if !s.To.Thread.IsZero() {
			t.Errorf("a short report posted in its thread: %q", bottest.Read(s.Msg))
		}
	}
	if got := joined(sent); strings.Contains(got, "more characters") || strings.Contains(got, "cut short") {
		t.Errorf("a short report says it is cut:\n%s", got)
	}
	full := f.Command("bob", "report show VIG-2026-1 --full")
	if len(full) != 1 || !strings.Contains(joined(full), "The q parameter is reflected unescaped.") || strings.Contains(full[0].Msg.Context, "part") {
		t.Errorf("--full of a short report: %q (context %q)", bottest.Texts(full), full[0].Msg.Context)
	}
}

// A title too long for the summary's header is said to be cut, and the
// thread gives it whole.
func TestLongTitleIsReadableInFull(t *testing.T) {
	f := newFixture(t, report.Options{})
	in := sample("title@example.org")
	in.Title = bot.Untrusted(strings.Repeat("very long subject ", 12) + "END")
	f.receive(t, in)
	sent := f.Advance(0)
	has(t, joined(sent), "(The title is cut short. The full text follows in the report's thread", "*Title:* very long subject", "END")
	if list := joined(f.Command("bob", "report list")); !strings.Contains(list, "is cut short; `/sec report show ID --full` shows it whole.") {
		t.Errorf("report list does not say that a title is cut:\n%s", list)
	}
}

// A long answer from the reporter is posted whole in the thread, in parts,
// once.
func TestLongReporterReplyIsPostedWhole(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.receive(t, sample("orig@example.org"))
	f.Command("bob", "report ack VIG-2026-1")
	f.Advance(time.Minute)
	text := longText(7000)
	reply := intake.Incoming{
		Source: intake.SourceEmail, SourceID: "reply-long@example.org", Title: "Re: XSS",
		Description: bot.Untrusted(text), Reporter: intake.Reporter{Email: "eve@example.org"},
		InReplyTo: []string{f.mail.all()[0].MessageID},
	}
	f.receive(t, reply)
	f.receive(t, reply) // redelivered
	var parts []bot.Message
	for _, s := range f.Advance(time.Minute) {
		if s.To.Thread.IsZero() {
			t.Errorf("a part of the reply went outside the thread")
		}
		parts = append(parts, s.Msg)
	}
	checkParts(t, "reply", parts, text)
	if parts[0].Header != "Reply from the reporter" {
		t.Errorf("first part's header %q", parts[0].Header)
	}
}
