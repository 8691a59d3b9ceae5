package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/commands/cvss"
)

const (
	crit31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	crit40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
)

// cvssCLI runs "vigil cvss args..." with stdin.
func cvssCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return vigil(t, stdin, nil, append([]string{"cvss"}, args...)...)
}

func TestCVSSArguments(t *testing.T) {
	code, out, errOut := cvssCLI(t, "", crit31, "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "  A:N/I:N/C:L/S:U/UI:R/PR:H/AC:H/AV:L ")
	want := "9.8 Critical " + crit31 + "\n" +
		"9.3 Critical " + crit40 + "\n" +
		"1.8 Low CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %q", code, out, want, errOut)
	}
	// A score of 10 and one of 0 keep one decimal.
	_, out, _ = cvssCLI(t, "", "AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N")
	if out != "10.0 Critical CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H\n0.0 None CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N\n" {
		t.Errorf("stdout %q", out)
	}
}

func TestCVSSBadVectorStillScoresTheOthers(t *testing.T) {
	code, out, errOut := cvssCLI(t, "", crit31, "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", crit40)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out != "9.8 Critical "+crit31+"\n9.3 Critical "+crit40+"\n" {
		t.Errorf("stdout %q", out)
	}
	want := `vigil cvss: argument 2: "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": metric "AV" has no value "Q" (want N, A, L or P)` + "\n"
	if errOut != want {
		t.Errorf("stderr %q\nwant   %q", errOut, want)
	}
}

func TestCVSSStdin(t *testing.T) {
	stdin := "# triage batch\n" +
		crit31 + "\r\n" +
		"\n" +
		"   \n" +
		"  AV:N/AC:L/UI:N/S:U/C:H/I:H/A:H\n" +
		"    # indented comment\n" +
		crit40 + "\n" +
		"CVSS:3.1/" + strings.TrimPrefix(crit31, "CVSS:3.1/") + "/XX:1" // no final newline
	code, out, errOut := cvssCLI(t, stdin)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out != "9.8 Critical "+crit31+"\n9.3 Critical "+crit40+"\n" {
		t.Errorf("stdout %q", out)
	}
	for _, w := range []string{
		`vigil cvss: line 5: "AV:N/AC:L/UI:N/S:U/C:H/I:H/A:H": missing metric "PR"`,
		`vigil cvss: line 8: "` + crit31 + `/XX:1": unknown metric "XX"`,
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if n := strings.Count(errOut, "\n"); n != 2 {
		t.Errorf("stderr has %d lines, want one per bad vector:\n%s", n, errOut)
	}

	code, out, errOut = cvssCLI(t, "# nothing here\n\n")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("only comments: exit %d, %q %q", code, out, errOut)
	}
}

func TestCVSSJSON(t *testing.T) {
	// Flags may follow the vectors.
	code, out, errOut := cvssCLI(t, "", crit31, "--json", crit40)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per line, got:\n%s", out)
	}
	var got []cvss.Result
	for _, l := range lines {
		var r cvss.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, r)
	}
	if got[0].Version != "3.1" || got[0].Vector != crit31 || got[0].Score != 9.8 || got[0].Severity != "Critical" ||
		got[0].CalculatorURL != "https://www.first.org/cvss/calculator/3.1#"+crit31 || len(got[0].Metrics) != 8 {
		t.Errorf("first object %+v", got[0])
	}
	if m := got[1].Metrics[2]; got[1].Version != "4.0" || len(got[1].Metrics) != 11 || m.Key != "AT" || m.Name != "Attack Requirements" || m.Value != "N" || m.ValueName != "None" || m.Help == "" {
		t.Errorf("second object %+v", got[1])
	}
	for _, key := range []string{`"version":`, `"vector":`, `"score":9.8`, `"severity":`, `"metrics":`, `"value_name":`, `"calculator_url":`} {
		if !strings.Contains(lines[0], key) {
			t.Errorf("JSON lacks %s: %s", key, lines[0])
		}
	}

	code, out, errOut = cvssCLI(t, crit40+"\nAV:Z\n", "--json")
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"vector":"`+crit40+`"`) || !strings.Contains(errOut, `line 2: "AV:Z"`) {
		t.Errorf("JSON from stdin with a bad line: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestCVSSUsage(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		code, out, _ := cvssCLI(t, "", arg)
		if code != 0 || !strings.Contains(out, "Usage: vigil cvss [--json] [VECTOR...]") {
			t.Errorf("%s: exit %d %q", arg, code, out)
		}
	}
	code, out, errOut := cvssCLI(t, "", crit31, "--yaml")
	if code != 2 || out != "" || !strings.Contains(errOut, "flag provided but not defined: -yaml") || !strings.Contains(errOut, "Usage: vigil cvss") {
		t.Errorf("unknown flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, out, _ := vigil(t, "", nil, "help"); !strings.Contains(out, "vigil cvss [--json] [VECTOR...]") {
		t.Errorf("vigil help does not list cvss:\n%s", out)
	}
}
