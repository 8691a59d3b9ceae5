package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testredis"
)

func TestParse(t *testing.T) {
	for _, args := range [][]string{{"--redis", ""}, {"--redis", "redis://x", "--n", "5"}, {"--redis", "redis://x", "--concurrency", "0"},
		{"--redis", "redis://x", "--scenarios", "commands,bogus"}, {"--redis", "redis://x", "--clients", "0"}, {"--redis", "redis://x", "--rate", "-1"}} {
		if _, err := parse(args); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}

// A short run on a real Redis: every kind is measured at 1 and 2 in
// flight, and each read command costs one Redis round trip (the load
// target), counted by the client hook. (A new pooled connection's HELLO
// counts too, hence the small allowance.)
func TestBenchRun(t *testing.T) {
	srv := testredis.Start(t)
	var out bytes.Buffer
	o, err := parse([]string{"--redis", srv.URL(), "--n", "300", "--concurrency", "2", "--intake-n", "300", "--embedded-n", "100", "--clients", "4", "--slack-n", "100", "--rate", "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "raw Redis round trip (PING, one client): p50") {
		t.Errorf("no raw round trip line:\n%s", text)
	}
	// command, in flight, cmds/s, p50, p99, p99.9, allocs/cmd, round trips, ...
	row := regexp.MustCompile(`(?m)^/sec (whoami|duty|help|report list|help duty)\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+\S+\s+[\d.]+\s+([\d.]+)\s`)
	rows := row.FindAllStringSubmatch(text, -1)
	if len(rows) != 10 {
		t.Fatalf("want 10 result rows:\n%s", text)
	}
	for _, r := range rows {
		trips, _ := strconv.ParseFloat(r[4], 64)
		if trips < 1 || trips > 1.05 {
			t.Errorf("/sec %s at %s in flight: %.2f Redis round trips per command, want 1", r[1], r[2], trips)
		}
	}
	// Every report was answered 201 (run fails otherwise), on each store.
	for _, store := range []string{"redis", "embedded (fsync per commit)", "embedded (batched commits)"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(store) + `\s+\d+\s`).MatchString(text) {
			t.Errorf("no intake row for %s:\n%s", store, text)
		}
	}
	// Every Slack event was acknowledged with 200 (run fails otherwise),
	// and the commands they carried ran: their answers reached Slack.
	m := regexp.MustCompile(`(?m)^event to HTTP 200\s+\S+\s+\S+\s+\S+\s+(\d+)\s*$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no Slack acknowledgement row:\n%s", text)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("no answer to the Slack events reached Slack:\n%s", text)
	}
}
