package config

import (
	"strings"
	"testing"
	"time"
)

func TestIncidentsValidation(t *testing.T) {
	c := *Default()
	c.Incidents = Incidents{Repository: "not a repo", PinnedFor: Duration(48 * time.Hour), Label: "a,b", PinReaction: ":pushpin:", EvidenceReaction: "pushpin"}
	var got []string
	validateIncidents(&c, func(key, msg string) { got = append(got, key+": "+msg) })
	all := strings.Join(got, "\n")
	for _, w := range []string{"incidents.repository", "incidents.pinned_for", "incidents.label", "incidents.evidence_reaction"} {
		if !strings.Contains(all, w) {
			t.Errorf("no problem reported for %s:\n%s", w, all)
		}
	}
	c.Incidents = Incidents{Repository: "acme/security", PinnedFor: Duration(72 * time.Hour)}
	got = nil
	validateIncidents(&c, func(key, msg string) { got = append(got, key+": "+msg) })
	if len(got) != 0 {
		t.Errorf("a good section was refused: %v", got)
	}
}

func TestIncidentsRepositoryFromEnv(t *testing.T) {
	c, err := Load("", func(k string) (string, bool) {
		if k == "VIGIL_INCIDENTS_REPOSITORY" {
			return "acme/security", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Incidents.Repository != "acme/security" {
		t.Errorf("repository %q", c.Incidents.Repository)
	}
}

func TestValidateDelivery(t *testing.T) {
	var got []string
	c := Config{Delivery: Delivery{SendTimeout: -1, MaxAttempts: -2, JobTimeout: Duration(5 * time.Minute)}}
	validateDelivery(&c, func(key, msg string) { got = append(got, key+": "+msg) })
	want := []string{"delivery.send_timeout", "delivery.max_attempts", "delivery.job_timeout"}
	if len(got) != len(want) {
		t.Fatalf("problems %v, want one each for %v", got, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w+": ") {
			t.Errorf("problem %d = %q, want %s", i, got[i], w)
		}
	}
	got = nil
	c = Config{Delivery: Delivery{SendTimeout: Duration(time.Second), MaxAttempts: 3, MaxAge: Duration(time.Hour), JobTimeout: Duration(time.Minute)}}
	validateDelivery(&c, func(key, msg string) { got = append(got, key+": "+msg) })
	if len(got) != 0 {
		t.Errorf("a sane delivery section refused: %v", got)
	}
}
