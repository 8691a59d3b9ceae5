package hostile_test

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/email"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/internal/hostile"
)

// The property tests in the adapters are only as good as what they
// render: every source must file the corpus, and each summary must carry
// the reporter's text as untrusted runs.
func TestEverySourceFilesTheCorpus(t *testing.T) {
	cases := hostile.Load(t)
	summaries := map[intake.Source]int{}
	for _, f := range hostile.Reports(t, cases) {
		if !strings.HasPrefix(bot.StripSentinels(f.Msg.Header), "VIG-") {
			continue
		}
		summaries[f.Source]++
		if !bot.HasUntrusted(f.Msg.Header) || !f.Msg.HasUntrusted() {
			t.Errorf("%s/%s: summary without untrusted runs: %q", f.Case.Name, f.Source, f.Msg.Header)
		}
	}
	for _, src := range []intake.Source{intake.SourceAPI, intake.SourceEmail, intake.SourceGitHub, intake.SourceManual} {
		// The API refuses titles over its limit; the others file them all.
		if summaries[src] < len(cases)*3/4 {
			t.Errorf("%s filed %d summaries for %d cases", src, summaries[src], len(cases))
		}
	}
}

// Outbound mail quoting a hostile title (the reporter's acknowledgement)
// has exactly Vigil's headers: nothing injected, no markers, and the body
// text intact.
func TestOutboundMailHasNoInjectedHeaders(t *testing.T) {
	s, err := email.NewSender(email.SenderOptions{Addr: "127.0.0.1:25", From: "Security <security@example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true, "In-Reply-To": true,
		"References": true, "Content-Type": true, "Content-Transfer-Encoding": true, "Auto-Submitted": true, "Mime-Version": true}
	for _, c := range hostile.Load(t) {
		title := bot.Untrusted(c.Text)
		raw, err := s.Build(intake.Mail{To: "eve@example.org", Subject: "Re: " + title.String() + " [VIG-2026-1]",
			Body: "Thank you for your report \"" + string(title) + "\".\n", MessageID: "<vig-2026-1.ack@vigil>", InReplyTo: "<m1@example.org>"})
		if err != nil {
			if strings.ToValidUTF8(c.Text, "") != c.Text {
				continue // a body that is not UTF-8 is refused, as it should be
			}
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if bytes.ContainsAny(raw, "\ue000\ue001") {
			t.Errorf("%s: markers in the mail", c.Name)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("%s: the mail does not parse: %v", c.Name, err)
			continue
		}
		for k := range m.Header {
			if !allowed[k] {
				t.Errorf("%s: header %q injected", c.Name, k)
			}
		}
		if len(m.Header["Subject"]) != 1 || len(m.Header["To"]) != 1 {
			t.Errorf("%s: headers %v", c.Name, m.Header)
		}
	}
}
