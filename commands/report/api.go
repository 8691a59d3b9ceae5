package report

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/store"
)

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

// serveAPI is the intake API for web forms and bug-bounty relays: 201 with
// the report id once it is stored; 400 naming the bad field; 401 without
// the bearer token; 413 past the size limit. The same body sent again with
// the same Idempotency-Key is the same report (200 with its id).
func (r *Reports) serveAPI(w http.ResponseWriter, req *http.Request) {
	if r.o.APIToken == "" {
		apiError(w, http.StatusNotFound, "", "the intake API is not enabled (reports.api_token)")
		return
	}
	token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(r.o.APIToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		apiError(w, http.StatusUnauthorized, "", "missing or wrong bearer token")
		return
	}
	body := http.MaxBytesReader(w, req.Body, r.o.MaxAPIBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var in apiReport
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			apiError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is larger than %d bytes", r.o.MaxAPIBody))
		case errors.As(err, &typeErr):
			apiError(w, http.StatusBadRequest, typeErr.Field, fmt.Sprintf("%s must be a %s", typeErr.Field, typeErr.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			apiError(w, http.StatusBadRequest, field, "unknown field "+field)
		default:
			apiError(w, http.StatusBadRequest, "", "the body is not valid JSON")
		}
		return
	}
	if field, msg := in.validate(); field != "" {
		apiError(w, http.StatusBadRequest, field, msg)
		return
	}
	key := strings.TrimSpace(req.Header.Get("Idempotency-Key"))
	if len(key) > 200 {
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

func (in *apiReport) validate() (field, msg string) {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Title == "":
		return "title", "title is required"
	case len(in.Title) > 300:
		return "title", "title is longer than 300 characters"
	case in.Description == "":
		return "description", "description is required"
	}
	if in.Reporter != nil && in.Reporter.Email != "" {
		if _, err := mail.ParseAddress(in.Reporter.Email); err != nil {
			return "reporter.email", "reporter.email is not an email address"
		}
	}
	for i, repo := range in.Repositories {
		if err := validRepos(repo); err != nil || strings.Contains(repo, ",") || strings.TrimSpace(repo) == "" {
			return fmt.Sprintf("repositories[%d]", i), fmt.Sprintf("repositories[%d] must be owner/repo", i)
		}
	}
	return "", ""
}

func hashOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func apiError(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": msg}
	if field != "" {
		body["field"] = field
	}
	_ = json.NewEncoder(w).Encode(body)
}

// Inheritance lists the open reports for a duty hand-off: each with its
// state, assignee and the time left on its clock.
func (r *Reports) Inheritance(ctx context.Context, _ string, from, _ time.Time) ([]string, error) {
	reps, err := r.openReports(ctx)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, rep := range reps {
		lines = append(lines, fmt.Sprintf("%s [%s] %s — %s%s", rep.ID, rep.State, rep.Title.Truncate(60), orNone(rep.Assignee), clockText(rep, from)))
	}
	return lines, nil
}
