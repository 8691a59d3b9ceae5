package discoursetest

import (
	"net/http"
	"strings"
	"testing"
)

// send posts body to the fake with the given headers and returns the status.
func send(t *testing.T, f *Fake, method, path, body string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(method, f.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestFakeFlagsRequestsDiscourseWouldRefuse(t *testing.T) {
	var got []string
	f := New(t, Options{APIKey: "k", APIUsername: "vigil", OnViolation: func(err error) { got = append(got, err.Error()) }})
	auth := map[string]string{"Api-Key": "k", "Api-Username": "vigil"}

	if s := send(t, f, http.MethodPost, "/posts.json", `{"title":"t","raw":"r"}`, nil); s != http.StatusForbidden {
		t.Errorf("no auth headers: status %d; want 403", s)
	}
	// A field Discourse's description does not have (additionalProperties: false).
	if s := send(t, f, http.MethodPost, "/posts.json", `{"title":"t","raw":"r","body":"x"}`, auth); s != http.StatusUnprocessableEntity {
		t.Errorf("unknown field: status %d; want 422", s)
	}
	// raw is required when editing.
	if s := send(t, f, http.MethodPut, "/posts/1.json", `{"post":{}}`, auth); s != http.StatusUnprocessableEntity {
		t.Errorf("edit without raw: status %d; want 422", s)
	}
	if s := send(t, f, http.MethodGet, "/no/such/route.json", "", auth); s != http.StatusNotFound {
		t.Errorf("unknown route: status %d; want 404", s)
	}
	if len(got) != 4 || len(f.Violations()) != 4 {
		t.Fatalf("violations = %q; want 4", got)
	}
	// A wrong key is Discourse's 403, not a contract violation.
	if s := send(t, f, http.MethodGet, "/categories.json", "", map[string]string{"Api-Key": "other", "Api-Username": "vigil"}); s != http.StatusForbidden {
		t.Errorf("wrong key: status %d; want 403", s)
	}
	if len(f.Violations()) != 4 {
		t.Errorf("a wrong key counted as a violation: %v", f.Violations())
	}
}
