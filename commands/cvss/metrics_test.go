package cvss

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden.json from the metric tables")

// TestMetricTables pins what metrics.yaml decodes to (names, helps, order,
// groups) to a golden file, so a slip in the YAML (a misplaced anchor, a
// value in the wrong metric) shows as a diff of the decoded tables. After an
// intended change, rewrite it with:
// go test ./commands/cvss -run TestMetricTables -update
func TestMetricTables(t *testing.T) {
	got, err := json.MarshalIndent(map[string]versionDef{"3.1": v31, "4.0": v40}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "metrics.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("metric tables differ from %s (rerun with -update if the change is intended):\n%s", golden, got)
	}
}
