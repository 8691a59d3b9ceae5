package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/commands/report"
)

// apiAnswer is one answer of the intake API, decoded strictly: every error
// must be a JSON object with exactly "error" and "field".
type apiAnswer struct {
	status int
	header http.Header
	body   map[string]string
	raw    string
}

func callAPI(t *testing.T, h http.Handler, method, path, contentType, body string) apiAnswer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok-123")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Result().Body)
	a := apiAnswer{status: rec.Code, header: rec.Header(), raw: string(raw)}
	dec := json.NewDecoder(strings.NewReader(a.raw))
	dec.DisallowUnknownFields()
	var got struct {
		Error *string `json:"error"`
		Field *string `json:"field"`
		ID    *string `json:"id"`
	}
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, rec.Code, a.raw)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, got)
	}
	a.body = map[string]string{}
	if got.ID != nil {
		a.body["id"] = *got.ID
	}
	if rec.Code >= 400 {
		if got.Error == nil || *got.Error == "" || got.Field == nil {
			t.Errorf("%s %s: error answer %q lacks \"error\" or \"field\"", method, path, a.raw)
		} else {
			a.body["error"], a.body["field"] = *got.Error, *got.Field
		}
	}
	return a
}

// storedState lists everything the report feature and the engine keep,
// so a test can show that a refused request left no trace.
func storedState(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	st := f.Engine.Store()
	var b strings.Builder
	for _, coll := range []string{"reports", "report.sources", "report.counters", "report.mailids", "report.attachments"} {
		ids, err := st.List(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%v\n", coll, ids)
	}
	open, err := st.SetMembers(ctx, "reports:open")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "open=%v\n", open)
	for _, q := range []string{"outbox", "jobs"} {
		items, err := st.Pending(ctx, q, 1000)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d\n", q, len(items))
	}
	return b.String()
}

func TestIntakeAPIRefusesMalformedRequestsAndStoresNothing(t *testing.T) {
	f := newFixture(t, report.Options{APIToken: "tok-123", MaxAPIBody: 1 << 20})
	h := f.Engine.HTTP()
	before := storedState(t, f)
	const ct = "application/json"
	ok := `{"title":"t","description":"d"}`
	for _, tc := range []struct {
		name, method, path, contentType, body string
		status                                int
		field, says                           string
	}{
		{"two objects", "POST", "/api/v1/reports", ct, ok + ok, 400, "", "exactly one JSON object"},
		{"trailing garbage", "POST", "/api/v1/reports", ct, ok + " x", 400, "", "exactly one JSON object"},
		{"an array", "POST", "/api/v1/reports", ct, "[" + ok + "]", 400, "", "must be one JSON object, not an array"},
		{"a string", "POST", "/api/v1/reports", ct, `"report"`, 400, "", "must be one JSON object, not a string"},
		{"null", "POST", "/api/v1/reports", ct, `null`, 400, "", "must be one JSON object, not null"},
		{"empty body", "POST", "/api/v1/reports", ct, "", 400, "", "the body is empty"},
		{"not JSON", "POST", "/api/v1/reports", ct, "{title", 400, "", "not valid JSON"},
		{"cut short", "POST", "/api/v1/reports", ct, `{"title":"t"`, 400, "", "not valid JSON"},
		{"unknown field", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","severity":"high"}`, 400, "severity", "unknown field severity"},
		{"two unknown fields", "POST", "/api/v1/reports", ct, `{"title":"t","cvss":1,"description":"d","severity":"high"}`, 400, "cvss, severity", "unknown fields cvss, severity"},
		{"unknown nested field", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","reporter":{"name":"m","phone":"1"}}`, 400, "reporter.phone", "unknown field reporter.phone"},
		{"reporter not an object", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","reporter":"mo"}`, 400, "reporter", "reporter must be one JSON object"},
		{"field given twice", "POST", "/api/v1/reports", ct, `{"title":"t","title":"u","description":"d"}`, 400, "title", "title is given twice"},
		{"wrong type", "POST", "/api/v1/reports", ct, `{"title":["t"],"description":"d"}`, 400, "title", "title must be a string, not array"},
		{"wrong type nested", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","reporter":{"credit":"yes"}}`, 400, "reporter.credit", "reporter.credit must be true or false"},
		{"title missing", "POST", "/api/v1/reports", ct, `{"description":"d"}`, 400, "title", "title is required"},
		{"title of blanks", "POST", "/api/v1/reports", ct, `{"title":"   ","description":"d"}`, 400, "title", "title is required"},
		{"title of escape sequences only", "POST", "/api/v1/reports", ct, `{"title":"\u001b[2J\u001b[H","description":"d"}`, 400, "title", "title has no text once control characters"},
		{"description of control characters only", "POST", "/api/v1/reports", ct, `{"title":"t","description":"\u0000\u0007\u0085"}`, 400, "description", "description has no text once control characters"},
		{"301 non-ASCII characters", "POST", "/api/v1/reports", ct, `{"title":"` + strings.Repeat("é", 301) + `","description":"d"}`, 400, "title", "title is 301 characters long; at most 300"},
		{"name too long", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","reporter":{"name":"` + strings.Repeat("ü", 201) + `"}}`, 400, "reporter.name", "at most 200"},
		{"email with a display name", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","reporter":{"email":"Mo <mo@example.org>"}}`, 400, "reporter.email", "bare address"},
		{"repository with markup", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","repositories":["acme/<!channel>"]}`, 400, "repositories[0]", "owner/repo"},
		{"too many repositories", "POST", "/api/v1/reports", ct, `{"title":"t","description":"d","repositories":[` + strings.TrimSuffix(strings.Repeat(`"a/b",`, 51), ",") + `]}`, 400, "repositories", "at most 50"},
		{"GET", "GET", "/api/v1/reports", "", "", 405, "", "GET is not allowed here; use POST"},
		{"PUT", "PUT", "/api/v1/reports", ct, ok, 405, "", "PUT is not allowed"},
		{"unknown path", "POST", "/api/v1/report", ct, ok, 404, "", "no such endpoint"},
		{"unknown version", "GET", "/api/v2/", "", "", 404, "", "no such endpoint"},
		{"no content type", "POST", "/api/v1/reports", "", ok, 415, "Content-Type", "Content-Type header is missing"},
		{"form content type", "POST", "/api/v1/reports", "application/x-www-form-urlencoded", ok, 415, "Content-Type", "must be JSON"},
		{"text content type", "POST", "/api/v1/reports", "text/plain", ok, 415, "Content-Type", "must be JSON"},
		{"wrong charset", "POST", "/api/v1/reports", "application/json; charset=latin1", ok, 415, "Content-Type", "must be UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := callAPI(t, h, tc.method, tc.path, tc.contentType, tc.body)
			if a.status != tc.status || a.body["field"] != tc.field || !strings.Contains(a.body["error"], tc.says) {
				t.Errorf("got %d %q, want %d with field %q and an error saying %q", a.status, a.raw, tc.status, tc.field, tc.says)
			}
			if tc.status == 405 && a.header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST (Allow %q)", a.header.Get("Allow"))
			}
		})
	}
	if after := storedState(t, f); after != before {
		t.Errorf("refused requests changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if sent := f.Advance(0); len(sent) != 0 {
		t.Errorf("refused requests posted %d messages: %v", len(sent), joined(sent))
	}
}

func TestIntakeAPIAcceptsWhatItShould(t *testing.T) {
	f := newFixture(t, report.Options{APIToken: "tok-123", MaxAPIBody: 1 << 20})
	h := f.Engine.HTTP()
	// 300 characters of two bytes each: 600 bytes, within the limit
	// because it is counted in characters.
	title300 := strings.Repeat("é", 300)
	a := callAPI(t, h, "POST", "/api/v1/reports", "application/json; charset=UTF-8",
		`{"title":"`+title300+`","description":"d","reporter":null,"repositories":["acme/web.site_2"]}`)
	if a.status != 201 || a.body["id"] != "VIG-2026-1" {
		t.Fatalf("300 non-ASCII characters: %d %q, want 201", a.status, a.raw)
	}
	// Hostile text is stored clean: no NUL, no escape sequence, the bidi
	// override shown, the private-use sentinel gone.
	a = callAPI(t, h, "POST", "/api/v1/reports", "application/json",
		`{"title":"Bug\u0000 \u001b[2J\u001b]0;owned\u0007in \u202eparse\ue000r","description":"line 1\r\nline 2\u001b[31m red"}`)
	if a.status != 201 {
		t.Fatalf("hostile text: %d %q", a.status, a.raw)
	}
	text := joined(f.Advance(0))
	has(t, text, "VIG-2026-2: Bug in ⟨U+202E⟩parser", "line 1\nline 2 red")
	for _, bad := range []string{"\x00", "\x1b", "\r", "\u202e", "\ue000", "owned"} {
		if strings.Contains(text, bad) {
			t.Errorf("posted report contains %q:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, title300) {
		t.Errorf("the 300-character title was not posted whole")
	}
}

// A report typed (or pasted) into the chat form is cleaned like one from
// any other source.
func TestReportFormCleansPastedText(t *testing.T) {
	f := newFixture(t, report.Options{})
	f.Command("bob", "report new")
	for _, answer := range []string{"Pasted \x1b[31mtitle\u202e\x00", "From the mail:\r\n\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "-", "-", "-", "2", "-"} {
		f.Say("bob", answer)
	}
	f.Advance(0)
	text := joined(f.Command("bob", "report show VIG-2026-1"))
	has(t, text, "VIG-2026-1: Pasted title⟨U+202E⟩", "From the mail:\nclick")
	for _, bad := range []string{"\x1b", "\x00", "\r", "\u202e", "evil.example"} {
		if strings.Contains(text, bad) {
			t.Errorf("report show contains %q:\n%s", bad, text)
		}
	}
}
