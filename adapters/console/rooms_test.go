package console_test

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
)

// The console has one room: it creates none, and `incident start --room`
// says so instead of pretending.
func TestConsoleCreatesNoRooms(t *testing.T) {
	var a any = &console.Adapter{}
	if _, ok := a.(bot.RoomCreator); ok {
		t.Fatal("the console claims to create rooms")
	}
	out, _ := incidentSession(t, "/sec incident start --room \"Leak\"\n/sec incident list\n")
	if !strings.Contains(out, "--room is not available on console") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(out, "No incidents.") {
		t.Errorf("an incident was opened anyway:\n%s", out)
	}
}
