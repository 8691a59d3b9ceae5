package slack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/cvss"
)

// The CVSS dialogs on Slack's modal path: "/sec cvss" (and --v4) opens a
// modal with one drop-down per base metric, labelled as the spec labels
// them; submitting it answers with the score in the channel.
func TestCVSSDialogsAsModals(t *testing.T) {
	for _, tc := range []struct {
		args    string
		metrics []string
		answers map[string]string
		want    string
	}{
		{"", []string{"AV", "AC", "PR", "UI", "S", "C", "I", "A"},
			map[string]string{"AV": "N", "AC": "L", "PR": "N", "UI": "N", "S": "U", "C": "H", "I": "H", "A": "H"},
			"9.8 Critical"},
		{"--v4", []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"},
			map[string]string{"AV": "N", "AC": "L", "AT": "N", "PR": "N", "UI": "N", "VC": "H", "VI": "H", "VA": "H", "SC": "N", "SI": "N", "SA": "N"},
			"9.3 Critical"},
	} {
		t.Run("cvss "+tc.args, func(t *testing.T) {
			r := newRig(t, rigOptions{setup: func(e *bot.Engine) {
				if _, err := cvss.Register(e, cvss.Options{}); err != nil {
					t.Fatal(err)
				}
			}})
			conn := r.slack.nextConn(t)
			r.ready()
			conn.send(t, commandEnvelope("env-c", chanSecurity, userAlice, strings.TrimSpace("cvss "+tc.args), "trig-c"))
			conn.ack(t, "env-c")
			view := r.slack.nextView(t)
			v := view["view"].(map[string]any)
			var selects []string
			var attackVector string
			for _, b := range v["blocks"].([]any) {
				bm := b.(map[string]any)
				if bm["type"] != "input" {
					continue
				}
				el := bm["element"].(map[string]any)
				if el["type"] != "static_select" {
					t.Errorf("block %v is %v, want a drop-down", bm["block_id"], el["type"])
				}
				selects = append(selects, fmt.Sprint(bm["block_id"]))
				if label := bm["label"].(map[string]any)["text"]; bm["block_id"] == "AV" {
					attackVector = fmt.Sprint(label)
				}
			}
			if strings.Join(selects, ",") != strings.Join(tc.metrics, ",") {
				t.Errorf("modal inputs %v, want one per base metric %v", selects, tc.metrics)
			}
			if !strings.HasPrefix(attackVector, "Attack Vector") {
				t.Errorf("AV is labelled %q, want the spec's Attack Vector", attackVector)
			}
			values := map[string]map[string]any{}
			for k, val := range tc.answers {
				values[k] = selectValue(val)
			}
			meta := v["private_metadata"].(string)
			conn.send(t, interactiveEnvelope("env-s", submissionPayload("trig-s", userAlice, meta, values, tc.metrics...)))
			conn.ack(t, "env-s")
			if p := r.slack.nextPost(t); !strings.Contains(p.Text, tc.want) {
				t.Errorf("score posted: %q, want %s", p.Text, tc.want)
			}
		})
	}
}
