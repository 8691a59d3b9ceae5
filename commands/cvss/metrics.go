package cvss

import (
	"bytes"
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

// The base metrics of each CVSS version live in metrics.yaml (with their
// sources), so they are reviewed as data; these types hold them once
// decoded. One table serves the parser (which codes exist), the canonical
// vector (the order), the dialogs (labels and option help) and the
// explanations in a result, so they cannot drift apart.

// metricDef is one base metric.
type metricDef struct {
	Key    string     `yaml:"key"`
	Name   string     `yaml:"name"`
	Help   string     `yaml:"help"` // the question's explanation in a dialog
	Values []valueDef `yaml:"values"`
}

// valueDef is one value a metric can take.
type valueDef struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
	Help string `yaml:"help"`
}

// versionDef is one CVSS version.
type versionDef struct {
	Name   string      `yaml:"name"`   // "3.1"
	Prefix string      `yaml:"prefix"` // "CVSS:3.1"
	Base   []metricDef `yaml:"base"`
	// Other are the metrics of the version's other groups (temporal or
	// threat, environmental, supplemental). They are valid in a vector but
	// Vigil scores the base only: "X" (Not Defined) is dropped, anything
	// else is refused with a clear message rather than silently ignored.
	Other map[string]string `yaml:"-"` // key → group name
}

func (v *versionDef) metric(key string) (*metricDef, bool) {
	for i := range v.Base {
		if v.Base[i].Key == key {
			return &v.Base[i], true
		}
	}
	return nil, false
}

func (m *metricDef) value(code string) (*valueDef, bool) {
	for i := range m.Values {
		if m.Values[i].Code == code {
			return &m.Values[i], true
		}
	}
	return nil, false
}

//go:embed metrics.yaml
var metricsYAML []byte

// v31 and v40 are read-only tables, decoded from metrics.yaml once at
// initialisation; nothing assigns to them after that.
var v31, v40 = mustDecodeMetrics(metricsYAML)

// metricsFile is the layout of metrics.yaml.
type metricsFile struct {
	V31 versionFile `yaml:"cvss31"`
	V40 versionFile `yaml:"cvss40"`
}

// versionFile is a version as metrics.yaml writes it: the other metrics
// listed by group, which versionDef.Other turns around (metric → group).
type versionFile struct {
	versionDef `yaml:",inline"`
	Other      map[string][]string `yaml:"other"`
}

// mustDecodeMetrics decodes the embedded tables. They are part of the
// program, so a mistake in them is a bug that every test run reports at
// once (by panicking), not a condition to handle at run time.
func mustDecodeMetrics(data []byte) (versionDef, versionDef) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f metricsFile
	if err := dec.Decode(&f); err != nil {
		panic(fmt.Sprintf("cvss: decode metrics.yaml: %v", err))
	}
	for _, v := range []*versionFile{&f.V31, &f.V40} {
		v.versionDef.Other = groups(v.Other)
	}
	return f.V31.versionDef, f.V40.versionDef
}

// groups turns metric keys listed by group around: metric key → group.
func groups(byGroup map[string][]string) map[string]string {
	out := map[string]string{}
	for g, keys := range byGroup {
		for _, k := range keys {
			out[k] = g
		}
	}
	return out
}

// Metrics only in 4.0 (and, for the three impacts, only in 3.1): a vector
// without its prefix is told apart by these. S is in both (3.1 Scope, 4.0
// Safety), so it decides nothing.
var (
	only40 = []string{"AT", "VC", "VI", "VA", "SC", "SI", "SA"}
	only31 = []string{"C", "I", "A"}
)
