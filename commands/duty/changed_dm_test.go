package duty

import (
	"fmt"
	"testing"
)

// TestChangedDMWithNoShiftsLeft covers the shape the whole-flow golden
// test does not reach; want is what strings.Builder made before the
// template.
func TestChangedDMWithNoShiftsLeft(t *testing.T) {
	got, err := dutyTexts.Render("changed-dm.txt.tmpl", changedDM{Rotation: "triage", Why: "@bob is away, set by @alice"})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Your duty on *%s* changed (%s).", "triage", "@bob is away, set by @alice") + "\nYou have no shifts in the next 12 weeks."
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
