package config

import (
	"strings"
	"testing"
	"time"
)

func TestDutyRotations(t *testing.T) {
	c, _, err := loadYAML(t, `
people:
  - name: alice
  - name: bob
duty:
  notice_before: 12h
  rotations:
    - name: triage
      members: ["@alice", bob]
      shift: 1w
      handoff: "Mon 09:00 Europe/Paris"
      default: true
`, map[string]string{"VIGIL_DUTY_ICAL_TOKEN": "cal-secret"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Duty.Rotations[0]
	if r.Name != "triage" || strings.Join(r.Members, ",") != "@alice,bob" || r.Shift != "1w" || !r.Default {
		t.Errorf("rotation = %+v", r)
	}
	if c.Duty.NoticeBefore.Std() != 12*time.Hour || c.Duty.ICalToken.Value() != "cal-secret" {
		t.Errorf("notice %s, token set %v", c.Duty.NoticeBefore, !c.Duty.ICalToken.IsZero())
	}
}

func TestDutyMemberMustBeAPerson(t *testing.T) {
	_, _, err := loadYAML(t, `
people:
  - name: alice
duty:
  rotations:
    - name: triage
      members: [alice, zed]
      shift: 1w
      handoff: "Mon 09:00"
`, nil)
	p := onlyProblem(t, err)
	if p.Key != "duty.rotations[0].members[1]" || !strings.Contains(p.Msg, `"zed" is not in people`) || p.Line != 6 {
		t.Errorf("problem = %+v", p)
	}
}
