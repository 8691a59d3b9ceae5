package config

import _ "embed" // for the example file

// exampleYAML is example.yaml, shipped in the binary so that the command can
// print a starting point (`vigil check-config --example`, say) that is
// guaranteed to load: a test loads this very text.
//
//go:embed example.yaml
var exampleYAML string

// Example returns the documented example configuration file.
func Example() string { return exampleYAML }
