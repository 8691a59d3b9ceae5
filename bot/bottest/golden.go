package bottest

import (
	"os"
	"path/filepath"
	"testing"
)

// Golden compares got with the file at path (under the package's testdata).
// With VIGIL_UPDATE_GOLDEN=1 in the environment it writes got there instead,
// so a deliberate change of a text is one run and a reviewed diff.
func Golden(t testing.TB, path, got string) {
	t.Helper()
	if os.Getenv("VIGIL_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (VIGIL_UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("text differs from %s:\n got: %q\nwant: %q", path, got, want)
	}
}
