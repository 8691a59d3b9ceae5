package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

// State is where a report is in the triage process.
type State string

const (
	StateNew          State = "new"
	StateAcknowledged State = "acknowledged"
	StateAccepted     State = "accepted"
	StateRejected     State = "rejected"
	StateFixing       State = "fixing"
	StateReleased     State = "released"
	StateClosed       State = "closed"
)

// States in process order, for help and validation.
var States = []State{StateNew, StateAcknowledged, StateAccepted, StateRejected, StateFixing, StateReleased, StateClosed}

// transitions is the explicit state machine:
// new -> acknowledged -> accepted | rejected; accepted -> fixing ->
// released -> closed; rejected -> closed.
var transitions = map[State][]State{
	StateNew:          {StateAcknowledged},
	StateAcknowledged: {StateAccepted, StateRejected},
	StateAccepted:     {StateFixing},
	StateFixing:       {StateReleased},
	StateReleased:     {StateClosed},
	StateRejected:     {StateClosed},
}

// ParseState validates a state name.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == strings.ToLower(s) {
			return st, nil
		}
	}
	names := make([]string, len(States))
	for i, st := range States {
		names[i] = string(st)
	}
	return "", fmt.Errorf("unknown state %q (states: %s)", s, strings.Join(names, ", "))
}

// CanMove reports whether from -> to is allowed.
func CanMove(from, to State) bool {
	for _, next := range transitions[from] {
		if next == to {
			return true
		}
	}
	return false
}

// TransitionError explains an illegal move.
type TransitionError struct {
	ID       string
	From, To State
}

func (e *TransitionError) Error() string {
	next := transitions[e.From]
	allowed := "none: it is finished"
	if len(next) > 0 {
		parts := make([]string, len(next))
		for i, s := range next {
			parts[i] = string(s)
		}
		allowed = strings.Join(parts, " or ")
	}
	return fmt.Sprintf("%s is %s and cannot become %s (from %s it can become %s)", e.ID, e.From, e.To, e.From, allowed)
}

// Item is one step of the triage checklist.
type Item struct {
	Key   string    `json:"key"`
	Label string    `json:"label"`
	Done  bool      `json:"done,omitempty"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at,omitzero"`
}

// checklist is the triage process, in order.
var checklist = []Item{
	{Key: "verify", Label: "Verify the report"},
	{Key: "reply", Label: "Reply to the reporter"},
	{Key: "forward", Label: "Forward to an operator if operator-specific"},
	{Key: "repos", Label: "Identify affected repositories"},
	{Key: "score", Label: "Score severity"},
	{Key: "advisory", Label: "Open advisories"},
	{Key: "notify", Label: "Notify maintainers"},
}

// Report is one vulnerability report.
type Report struct {
	ID          string           `json:"id"`
	Title       bot.Untrusted    `json:"title"`
	Description bot.Untrusted    `json:"description"`
	Source      intake.Source    `json:"source"`
	SourceID    string           `json:"source_id"`
	URL         string           `json:"url,omitempty"`
	Reporter    intake.Reporter  `json:"reporter"`
	Received    time.Time        `json:"received"`
	AckDue      time.Time        `json:"ack_due"`
	State       State            `json:"state"`
	Assignee    string           `json:"assignee,omitempty"`
	Repos       []string         `json:"repositories,omitempty"`
	Attachments []AttachmentInfo `json:"attachments,omitempty"`
	Notes       []bot.Untrusted  `json:"notes,omitempty"`
	Checklist   []Item           `json:"checklist"`
	GitHubRepo  string           `json:"github_repo,omitempty"`
	GHSA        string           `json:"ghsa,omitempty"`
	// AckedAt stops the clock; Breached records a missed acknowledgement.
	AckedAt  time.Time `json:"acked_at,omitzero"`
	AckedBy  string    `json:"acked_by,omitempty"`
	Breached bool      `json:"breached,omitempty"`
	// RejectReason is told to the reporter.
	RejectReason string `json:"reject_reason,omitempty"`
	// Forwarded lists operators the report was sent to.
	Forwarded []string `json:"forwarded,omitempty"`
	// Room is where the report's thread is (adapter and room).
	Room string `json:"room,omitempty"`
	// Score is the team's CVSS score; Adjudications are maintainers'
	// different severities, latest last. Both are kept and shown.
	Score         *Score         `json:"score,omitempty"`
	Adjudications []Adjudication `json:"adjudications,omitempty"`
	// Advisories opened for the report, one per repository.
	Advisories []AdvisoryRef `json:"advisories,omitempty"`
	// Maintainers told of the report by name (`report notify`), the
	// OEP-60 step 7 for a team that does not open GitHub advisories.
	Maintainers []NotifiedMaintainer `json:"maintainers,omitempty"`
}

// NotifiedMaintainer is a maintainer told of a report: for which
// repository (empty when the report names none they maintain), by whom
// and when.
type NotifiedMaintainer struct {
	Name string    `json:"name"`
	Repo string    `json:"repo,omitempty"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// Score is a CVSS score recorded on a report.
type Score struct {
	Version  string    `json:"version"`
	Vector   string    `json:"vector"`
	Value    float64   `json:"value"`
	Severity string    `json:"severity"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Adjudication is a maintainer's severity for a report, with the reason.
type Adjudication struct {
	Severity string    `json:"severity"`
	Reason   string    `json:"reason"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// AdvisoryRef is a GitHub repository security advisory opened for a report.
type AdvisoryRef struct {
	Repo  string `json:"repo"`
	GHSA  string `json:"ghsa"`
	URL   string `json:"url,omitempty"`
	State string `json:"state,omitempty"`
	CVE   string `json:"cve,omitempty"`
	// CVERequested: a CVE was asked for and is awaited.
	CVERequested bool   `json:"cve_requested,omitempty"`
	Fork         string `json:"fork,omitempty"`
}

// EffectiveSeverity drives reminders: the latest maintainer adjudication,
// else the team's score, else "" (not scored yet).
func (r *Report) EffectiveSeverity() string {
	if n := len(r.Adjudications); n > 0 {
		return r.Adjudications[n-1].Severity
	}
	if r.Score != nil {
		return r.Score.Severity
	}
	return ""
}

// Affected lists the repositories a report concerns: those named, and
// those with advisories.
func (r *Report) Affected() []string {
	seen := map[string]bool{}
	var out []string
	add := func(repo string) {
		if k := strings.ToLower(repo); repo != "" && !seen[k] {
			seen[k] = true
			out = append(out, repo)
		}
	}
	for _, repo := range r.Repos {
		add(repo)
	}
	if r.GitHubRepo != "" {
		add(r.GitHubRepo)
	}
	for _, a := range r.Advisories {
		add(a.Repo)
	}
	return out
}

// AttachmentInfo lists an attachment; its content is stored apart and
// never posted.
type AttachmentInfo struct {
	Name        bot.Untrusted `json:"name"`
	ContentType string        `json:"content_type"`
	Size        int64         `json:"size"`
	Truncated   bool          `json:"truncated,omitempty"`
}

// open reports whether the report still needs work.
func (r *Report) open() bool { return r.State != StateClosed && r.State != StateRejected }

func (r *Report) item(key string) *Item {
	for i := range r.Checklist {
		if r.Checklist[i].Key == key {
			return &r.Checklist[i]
		}
	}
	return nil
}

// rootID is the outbox id of the report's thread root.
func rootID(id string) string { return "report:" + id + ":root" }
