package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/store"
)

// APIPath is the intake API's one endpoint.
const APIPath = "/api/v1/reports"

// apiUsage is appended to errors about the body's shape, so a client sees
// what a good request looks like.
const apiUsage = `send one JSON object: {"title": "...", "description": "...", "reporter": {"name": "...", "email": "...", "credit": true}, "repositories": ["owner/repo"]}`

// apiReport is the JSON body of POST /api/v1/reports.
type apiReport struct {
	Title        string       `json:"title"`
	Description  string       `json:"description"`
	Reporter     *apiReporter `json:"reporter,omitempty"`
	Repositories []string     `json:"repositories,omitempty"`
}

type apiReporter struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Credit bool   `json:"credit"`
}

// The fields each object of the body may have, in the order they are
// listed in error messages.
var (
	reportFields   = []string{"title", "description", "reporter", "repositories"}
	reporterFields = []string{"name", "email", "credit"}
)

// apiProblem is a refused request: the status, the field at fault ("" when
// the request as a whole is wrong) and what was wrong.
type apiProblem struct {
	status int
	field  string
	msg    string
}

func badRequest(field, format string, args ...any) *apiProblem {
	return &apiProblem{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// mountAPI registers the intake API. Besides the endpoint itself it owns
// everything under /api/, so that every answer there, including a wrong
// method (405 with Allow) and an unknown path (404), is a JSON error
// {"error", "field"} rather than the mux's plain text.
func (r *Reports) mountAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST "+APIPath, r.serveAPI)
	mux.HandleFunc(APIPath, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		apiError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("%s is not allowed here; use POST", req.Method))
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		apiError(w, http.StatusNotFound, "", "no such endpoint; reports are sent with POST "+APIPath)
	})
}

// serveAPI is the intake API for web forms and bug-bounty relays: 201 with
// the report id once it is stored; 400 naming the bad field; 401 without
// the bearer token; 413 past the size limit; 415 for a body that is not
// JSON. The same body sent again with the same Idempotency-Key is the same
// report (200 with its id). A refused request stores nothing: every check
// runs before the report reaches the sink.
func (r *Reports) serveAPI(w http.ResponseWriter, req *http.Request) {
	if r.o.APIToken == "" {
		apiError(w, http.StatusNotFound, "", "the intake API is not enabled (reports.api_token)")
		return
	}
	token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(r.o.APIToken)) != 1 {
		// The listener's middleware logs and counts this 401 (route and
		// client, never the token) and throttles clients that keep trying.
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		apiError(w, http.StatusUnauthorized, "", "missing or wrong bearer token (Authorization: Bearer <reports.api_token>)")
		return
	}
	if p := checkContentType(req.Header.Get("Content-Type")); p != nil {
		apiError(w, p.status, p.field, p.msg)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.o.MaxAPIBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is larger than %d bytes", r.o.MaxAPIBody))
			return
		}
		apiError(w, http.StatusBadRequest, "", "the body could not be read")
		return
	}
	in, p := decodeReport(raw)
	if p == nil {
		p = in.validate()
	}
	if p != nil {
		apiError(w, p.status, p.field, p.msg)
		return
	}
	key := strings.TrimSpace(req.Header.Get("Idempotency-Key"))
	if intake.Len(key) > 200 {
		apiError(w, http.StatusBadRequest, "Idempotency-Key", "the Idempotency-Key header is longer than 200 characters")
		return
	}
	sourceID := "key:" + key
	if key == "" {
		// Without a key every request is a new report.
		sourceID = "req:" + r.e.Clock().Now().Format(time.RFC3339Nano) + ":" + hashOf(in)
	}
	incoming := intake.Incoming{
		Source: intake.SourceAPI, SourceID: sourceID,
		Title: bot.Untrusted(in.Title), Description: bot.Untrusted(in.Description), Repositories: in.Repositories,
		Received: r.e.Clock().Now(),
	}
	if in.Reporter != nil {
		incoming.Reporter = intake.Reporter{Name: bot.Untrusted(in.Reporter.Name), Email: in.Reporter.Email, Credit: in.Reporter.Credit}
	}
	intake.Normalize(&incoming)
	// Cleaning can leave nothing of a field that was not blank as sent (a
	// title made only of escape sequences): name the field, as validate
	// does for one that was blank.
	for _, f := range []struct {
		name string
		text bot.Untrusted
	}{{"title", incoming.Title}, {"description", incoming.Description}} {
		if f.text.TrimSpace() == "" {
			apiError(w, http.StatusBadRequest, f.name, f.name+" has no text once control characters and escape sequences are removed")
			return
		}
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	res, err := r.Receive(ctx, incoming)
	switch {
	case errors.Is(err, intake.ErrInvalid):
		apiError(w, http.StatusBadRequest, "", err.Error())
		return
	case errors.Is(err, store.ErrUnavailable):
		w.Header().Set("Retry-After", "30")
		apiError(w, http.StatusServiceUnavailable, "", "the report could not be stored right now; nothing was kept, please retry")
		return
	case err != nil:
		r.e.Logger().Error("intake API", "err", err)
		apiError(w, http.StatusInternalServerError, "", "the report could not be stored; please retry")
		return
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": res.ReportID})
}

// checkContentType accepts application/json, with at most a charset
// parameter that says UTF-8 (the only encoding JSON has, RFC 8259).
func checkContentType(ct string) *apiProblem {
	unsupported := func(msg string) *apiProblem {
		return &apiProblem{status: http.StatusUnsupportedMediaType, field: "Content-Type", msg: msg}
	}
	if strings.TrimSpace(ct) == "" {
		return unsupported("the Content-Type header is missing; send Content-Type: application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return unsupported("the body must be JSON, sent with Content-Type: application/json")
	}
	for name, v := range params {
		if name != "charset" {
			return unsupported(fmt.Sprintf("Content-Type has an unknown parameter %q; only charset=utf-8 is allowed", name))
		}
		if !strings.EqualFold(v, "utf-8") {
			return unsupported("the body must be UTF-8 (Content-Type: application/json; charset=utf-8)")
		}
	}
	return nil
}

// decodeReport reads exactly one JSON object with only the known fields,
// each at most once. encoding/json alone would silently ignore a second
// object, keep the last of two same-named fields, and name an unknown
// field without its path; here every such body is refused and the answer
// names the field.
func decodeReport(raw []byte) (*apiReport, *apiProblem) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, badRequest("", "the body is empty; "+apiUsage)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	top, p := readObject(dec, "", reportFields)
	if p != nil {
		return nil, p
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("", "the body must be exactly one JSON object, but more data follows it at byte %d; %s", dec.InputOffset(), apiUsage)
	}
	var in apiReport
	for _, f := range []struct {
		name string
		into any
	}{{"title", &in.Title}, {"description", &in.Description}, {"repositories", &in.Repositories}} {
		if v, ok := top[f.name]; ok {
			if p := unmarshalField(v, f.name, f.into); p != nil {
				return nil, p
			}
		}
	}
	if v, ok := top["reporter"]; ok && string(v) != "null" {
		rdec := json.NewDecoder(bytes.NewReader(v))
		fields, p := readObject(rdec, "reporter", reporterFields)
		if p != nil {
			return nil, p
		}
		in.Reporter = &apiReporter{}
		for _, f := range []struct {
			name string
			into any
		}{{"name", &in.Reporter.Name}, {"email", &in.Reporter.Email}, {"credit", &in.Reporter.Credit}} {
			if v, ok := fields[f.name]; ok {
				if p := unmarshalField(v, "reporter."+f.name, f.into); p != nil {
					return nil, p
				}
			}
		}
	}
	return &in, nil
}

// readObject reads one JSON object from dec and returns its members,
// refusing anything else, unknown member names (all of them named in the
// answer's field, comma-separated) and a name given twice.
func readObject(dec *json.Decoder, path string, allowed []string) (map[string]json.RawMessage, *apiProblem) {
	what := "the body"
	if path != "" {
		what = path
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxProblem(path, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest(path, "%s must be one JSON object, not %s; %s", what, jsonKind(tok), apiUsage)
	}
	members := map[string]json.RawMessage{}
	var unknown []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxProblem(path, err)
		}
		name, _ := tok.(string) // inside an object the decoder only yields string keys
		full := name
		if path != "" {
			full = path + "." + name
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, syntaxProblem(full, err)
		}
		if _, dup := members[name]; dup {
			return nil, badRequest(full, "%s is given twice", full)
		}
		members[name] = v
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, full)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxProblem(path, err)
	}
	if len(unknown) > 0 {
		noun := "unknown field"
		if len(unknown) > 1 {
			noun = "unknown fields"
		}
		return nil, badRequest(strings.Join(unknown, ", "), "%s %s; %s may have only %s",
			noun, strings.Join(unknown, ", "), what, strings.Join(allowed, ", "))
	}
	return members, nil
}

// unmarshalField decodes one member, naming it if its type is wrong.
func unmarshalField(v json.RawMessage, field string, into any) *apiProblem {
	err := json.Unmarshal(v, into)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		want := "a string"
		switch into.(type) {
		case *bool:
			want = "true or false"
		case *[]string:
			want = "a list of strings"
		}
		return badRequest(field, "%s must be %s, not %s", field, want, typeErr.Value)
	}
	return badRequest(field, "%s could not be read: %s", field, err.Error())
}

func syntaxProblem(field string, err error) *apiProblem {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return badRequest(field, "the body is not valid JSON (%s at byte %d); %s", syn.Error(), syn.Offset, apiUsage)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest(field, "the body is not valid JSON (it ends too early); %s", apiUsage)
	}
	return badRequest(field, "the body is not valid JSON; %s", apiUsage)
}

// jsonKind names the JSON value a token starts.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return "that"
}

// validate trims the fields and checks the rules a report must meet.
// Lengths are counted in characters, as a reporter counts them, on the
// text as sent (before cleaning shows invisible characters as ⟨U+…⟩).
func (in *apiReport) validate() *apiProblem {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Title == "":
		return badRequest("title", "title is required")
	case intake.Len(in.Title) > intake.MaxTitleChars:
		return badRequest("title", "title is %d characters long; at most %d are allowed", intake.Len(in.Title), intake.MaxTitleChars)
	case in.Description == "":
		return badRequest("description", "description is required")
	case intake.Len(in.Description) > intake.MaxDescriptionChars:
		return badRequest("description", "description is %d characters long; at most %d are allowed (send long logs as a link)", intake.Len(in.Description), intake.MaxDescriptionChars)
	}
	if rep := in.Reporter; rep != nil {
		rep.Name = strings.TrimSpace(rep.Name)
		rep.Email = strings.TrimSpace(rep.Email)
		if intake.Len(rep.Name) > intake.MaxNameChars {
			return badRequest("reporter.name", "reporter.name is %d characters long; at most %d are allowed", intake.Len(rep.Name), intake.MaxNameChars)
		}
		if rep.Email != "" {
			if intake.Len(rep.Email) > intake.MaxEmailChars {
				return badRequest("reporter.email", "reporter.email is longer than %d characters", intake.MaxEmailChars)
			}
			if a, err := mail.ParseAddress(rep.Email); err != nil || a.Name != "" || a.Address != rep.Email {
				return badRequest("reporter.email", "reporter.email must be a bare address such as alice@example.org")
			}
		}
	}
	if len(in.Repositories) > intake.MaxRepositories {
		return badRequest("repositories", "repositories lists %d entries; at most %d are allowed", len(in.Repositories), intake.MaxRepositories)
	}
	for i, repo := range in.Repositories {
		field := fmt.Sprintf("repositories[%d]", i)
		if intake.Len(repo) > intake.MaxRepoChars || validRepo(repo) != nil {
			return badRequest(field, "%s must be owner/repo, such as acme/web", field)
		}
	}
	return nil
}

func hashOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// apiError answers {"error": msg, "field": field}; field is "" when the
// request as a whole is at fault.
func apiError(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}{msg, field})
}
