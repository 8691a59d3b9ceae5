package main

import (
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/config"
)

func TestConsoleFilesFolder(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	o, err := parseRun([]string{"--data", "/srv/vigil"}, none)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Data: o.Data}
	if got := consoleFiles(cfg, o); got != filepath.Join("/srv/vigil", "files") {
		t.Errorf("default files folder = %q, want files/ in the data directory", got)
	}
	o, err = parseRun([]string{"--data", "/srv/vigil", "--files", "/tmp/charts"}, none)
	if err != nil {
		t.Fatal(err)
	}
	if got := consoleFiles(cfg, o); got != "/tmp/charts" {
		t.Errorf("--files /tmp/charts gave %q", got)
	}
}
