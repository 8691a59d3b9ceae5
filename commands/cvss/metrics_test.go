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

// TestMetricTables pins the metric tables (names, helps, order, groups) to a
// golden file, so a change to them is seen in review as a change of data
// and an accident in the tables' source shows as a diff. After an intended
// change, rewrite it with: go test ./commands/cvss -run TestMetricTables -update
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
