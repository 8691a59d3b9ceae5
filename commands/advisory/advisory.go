// Package advisory opens GitHub draft repository security advisories from
// chat, requests CVEs and follows them, creates temporary private forks,
// tells the maintainers of affected repositories, finds the repositories
// that depend on a package, and records maintainers' severity
// adjudications.
//
// Every GitHub call runs in a scheduled job, not in the chat handler: a slow
// or rate-limited GitHub never holds up an answer in chat, and a call GitHub
// asks us to delay is retried after the wait it gave, never dropped.
package advisory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/textutil"
)

// GitHub is what the feature needs from GitHub; cmd/vigil adapts the
// GitHub adapter's client to it.
type GitHub interface {
	CreateDraft(ctx context.Context, repo string, d Draft) (Created, error)
	RequestCVE(ctx context.Context, repo, ghsa string) error
	CreateFork(ctx context.Context, repo, ghsa string) (string, error)
	Advisory(ctx context.Context, repo, ghsa string) (Status, error)
	OrgRepos(ctx context.Context, org string) ([]string, error)
	SBOM(ctx context.Context, repo string) ([]Package, error)
}

// Draft is a draft advisory to open. GitHub takes a CVSS vector or a
// severity, not both.
type Draft struct {
	Summary     string
	Description string
	Severity    string // critical, high, medium, low
	CVSSVector  string
	CWEs        []string
	Packages    []AffectedPackage
	Credits     []Credit
}

// AffectedPackage is one vulnerable package of a draft.
type AffectedPackage struct {
	Ecosystem       string
	Name            string
	VulnerableRange string
	PatchedVersions string
}

// Credit names someone in the advisory (type reporter, finder, ...).
type Credit struct {
	Login string
	Type  string
}

// Created is what GitHub answered.
type Created struct {
	GHSA  string
	URL   string
	State string
}

// Status is an advisory's state on GitHub.
type Status struct {
	State string
	CVE   string
	URL   string
}

// Package is one entry of a repository's software bill of materials.
type Package struct {
	Name    string
	Version string
	PURL    string
}

// Options configure the feature.
type Options struct {
	Reports *report.Reports
	// GitHub may be nil (not configured): commands then say so.
	GitHub GitHub
	// Organizations searched by "/sec affected".
	Organizations []string
	// CVEPoll is how often an awaited CVE id is looked for (1h).
	CVEPoll time.Duration
	// GiveUpAfter is how many failed attempts of a GitHub job a person
	// waits on (open, CVE request, private fork) Vigil makes while GitHub
	// cannot be reached or rate-limits it, before it stops and says how to
	// try again. With the scheduler's backoff (10 s doubling to 1 h) the
	// default, 30, is about a day.
	GiveUpAfter int
	// OnNotified is told which maintainers were notified of an advisory
	// (reminders start one period later).
	OnNotified func(ctx context.Context, reportID, repo, ghsa, url string, maintainers []string, at time.Time) error
}

// Advisories is the feature.
type Advisories struct {
	e Engine
	o Options
}

const (
	jobCreate  = "advisory.create"
	jobCVE     = "advisory.cve"
	jobCVEPoll = "advisory.cvepoll"
	jobFork    = "advisory.fork"
	formOpen   = "advisory.open"
)

// team may use every advisory verb and its dialog.
var team = bot.TeamRoles()

// Register adds the advisory, severity and affected commands, their form
// and jobs. It does no I/O.
func Register(e Engine, o Options) (*Advisories, error) {
	if o.Reports == nil {
		return nil, errors.New("advisory: the report feature is required")
	}
	if o.CVEPoll <= 0 {
		o.CVEPoll = time.Hour
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = defaultGiveUpAfter
	}
	a := &Advisories{e: e, o: o}
	if err := e.RegisterForm(a.openForm()); err != nil {
		return nil, fmt.Errorf("advisory: %w", err)
	}
	for _, c := range []*bot.Command{a.advisoryCommand(), a.severityCommand(), a.affectedCommand()} {
		if err := e.Register(c); err != nil {
			return nil, fmt.Errorf("advisory: %w", err)
		}
	}
	e.HandleJob(jobCreate, a.runCreate)
	e.HandleJob(jobCVE, a.runCVE)
	e.HandleJob(jobCVEPoll, a.runCVEPoll)
	e.HandleJob(jobFork, a.runForkJob)
	return a, nil
}

var (
	repoRE = regexp.MustCompile(`^[A-Za-z0-9](?:-?[A-Za-z0-9])*/[A-Za-z0-9._-]+$`)
	cweRE  = regexp.MustCompile(`^CWE-[0-9]{1,5}$`)
)

// Ecosystems GitHub advisories know.
var ecosystems = []bot.Option{
	{Value: "npm", Label: "npm"}, {Value: "pip", Label: "pip (PyPI)"}, {Value: "maven", Label: "Maven"},
	{Value: "nuget", Label: "NuGet"}, {Value: "go", Label: "Go"}, {Value: "rubygems", Label: "RubyGems"},
	{Value: "rust", Label: "Rust (crates.io)"}, {Value: "composer", Label: "Composer"},
	{Value: "erlang", Label: "Erlang (Hex)"}, {Value: "actions", Label: "GitHub Actions"},
	{Value: "pub", Label: "Pub"}, {Value: "swift", Label: "Swift"}, {Value: "other", Label: "Other"},
}

func validEcosystem(s string) bool {
	for _, e := range ecosystems {
		if e.Value == s {
			return true
		}
	}
	return false
}

// createPayload is a job: open one draft in one repository.
type createPayload struct {
	Report      string          `json:"report"`
	Repo        string          `json:"repo"`
	Package     AffectedPackage `json:"package"`
	CWEs        []string        `json:"cwes,omitempty"`
	PrivateFork bool            `json:"private_fork,omitempty"`
	By          string          `json:"by"`
	// Asked is when the person asked (Unix nanoseconds). It names this
	// request's messages in the outbox, so a retried job says a thing
	// once and a new request after giving up is heard again.
	Asked int64 `json:"asked,omitempty"`
	// Prefix is how the person writes commands, for the retry hint.
	Prefix string `json:"prefix,omitempty"`
}

type ghsaPayload struct {
	Report string `json:"report"`
	Repo   string `json:"repo"`
	GHSA   string `json:"ghsa"`
	By     string `json:"by,omitempty"`
	Asked  int64  `json:"asked,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

func (a *Advisories) needGitHub() error {
	if a.o.GitHub == nil {
		return bot.Noticef("GitHub is not configured (the `github:` section), so Vigil cannot open or follow advisories.")
	}
	return nil
}

// queueCreate plans one creation job per repository.
func (a *Advisories) queueCreate(ctx context.Context, req *bot.Request, rep *report.Report, repos []string, pkg AffectedPackage, cwes []string, fork bool) error {
	for _, repo := range repos {
		payload, _ := json.Marshal(createPayload{Report: rep.ID, Repo: repo, Package: pkg, CWEs: cwes, PrivateFork: fork, By: req.Actor(), Asked: req.Now().UnixNano(), Prefix: req.Prefix()})
		id := "advisory:create:" + rep.ID + ":" + strings.ToLower(repo)
		if err := a.e.Scheduler().Schedule(ctx, bot.Job{ID: id, Kind: jobCreate, Due: req.Now(), Payload: payload}); err != nil {
			return err
		}
	}
	if err := req.Record(ctx, "advisory.open", rep.ID, strings.Join(repos, ", ")); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s is opening draft advisories for %s in %s; the links (or what went wrong) will appear in the report's thread.", req.ActorMention(), rep.ID, strings.Join(repos, ", "))
}

// draftFor builds the advisory from the report: summary, description,
// credits, and the CVSS vector or, when a maintainer adjudicated a
// different severity (or there is no score), the severity.
func draftFor(rep *report.Report, pkg AffectedPackage, cwes []string) (Draft, error) {
	d := Draft{
		Summary:     textutil.Truncate(string(rep.Title), 1000),
		Description: string(rep.Description),
		CWEs:        cwes,
		Packages:    []AffectedPackage{pkg},
	}
	switch {
	case len(rep.Adjudications) > 0:
		d.Severity = strings.ToLower(rep.EffectiveSeverity())
	case rep.Score != nil:
		d.CVSSVector = rep.Score.Vector
	default:
		return d, errors.New("score it first (`/sec report score " + rep.ID + "`): an advisory needs a CVSS vector or a severity")
	}
	if d.Severity == "none" {
		d.Severity = "low"
	}
	if rep.Reporter.Credit && rep.Reporter.GitHub != "" {
		d.Credits = append(d.Credits, Credit{Login: rep.Reporter.GitHub, Type: "reporter"})
	}
	return d, nil
}

func (a *Advisories) runCreate(ctx context.Context, job bot.Job) error {
	var p createPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("advisory job %s: %w", job.ID, err)
	}
	rep, err := a.o.Reports.Get(ctx, p.Report)
	if err != nil {
		return err
	}
	for _, adv := range rep.Advisories {
		if strings.EqualFold(adv.Repo, p.Repo) {
			return nil // opened already (a job that ran twice)
		}
	}
	if err := a.needGitHub(); err != nil {
		return a.say(ctx, rep, "create:"+p.Repo+":nogithub", err.Error())
	}
	d, err := draftFor(rep, p.Package, p.CWEs)
	if err != nil {
		return a.say(ctx, rep, "create:"+p.Repo+":noscore", fmt.Sprintf("Could not open the advisory in %s: %v", p.Repo, err))
	}
	created, err := a.o.GitHub.CreateDraft(ctx, p.Repo, d)
	if err != nil {
		w := waited{
			key:   fmt.Sprintf("create:%s:%d", p.Repo, p.Asked),
			what:  "open the draft advisory in " + p.Repo,
			retry: fmt.Sprintf("%s advisory open %s %s", prefixOr(p.Prefix), rep.ID, p.Repo),
		}
		return a.failed(ctx, rep, job, w, err)
	}
	ref := report.AdvisoryRef{Repo: p.Repo, GHSA: created.GHSA, URL: created.URL, State: created.State}
	rep, err = a.o.Reports.Update(ctx, rep.ID, func(r *report.Report) error {
		for _, adv := range r.Advisories {
			if strings.EqualFold(adv.Repo, p.Repo) {
				return nil
			}
		}
		r.Advisories = append(r.Advisories, ref)
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.o.Reports.Tick(ctx, rep.ID, "advisory", p.By); err != nil {
		return err
	}
	if err := a.e.Audit().Record(ctx, bot.AuditEntry{Actor: p.By, Action: "advisory.created", Target: rep.ID, Detail: p.Repo + " " + created.GHSA}); err != nil {
		return err
	}
	if err := a.say(ctx, rep, "create:"+p.Repo+":done", fmt.Sprintf("Draft advisory %s opened in %s: <%s|%s>", created.GHSA, p.Repo, created.URL, created.GHSA)); err != nil {
		return err
	}
	if p.PrivateFork {
		// The fork is a job of its own: the advisory exists whatever
		// happens to it, and a rate limit only delays the fork.
		payload, _ := json.Marshal(ghsaPayload{Report: rep.ID, Repo: p.Repo, GHSA: created.GHSA, By: p.By, Asked: p.Asked, Prefix: p.Prefix})
		if err := a.e.Scheduler().Schedule(ctx, bot.Job{ID: "advisory:fork:" + created.GHSA, Kind: jobFork, Due: a.e.Clock().Now(), Payload: payload}); err != nil {
			return err
		}
	}
	return a.notifyMaintainers(ctx, rep, p.Repo, created, p.By)
}

// defaultGiveUpAfter is Options.GiveUpAfter's default: with the
// scheduler's backoff (10 s doubling to 1 h) 30 attempts span about a day.
const defaultGiveUpAfter = 30

// waited is a GitHub job a person waits on: the key names this request's
// messages in the outbox, what says what Vigil tried, retry is the exact
// command that asks again.
type waited struct {
	key, what, retry string
}

// failed handles a GitHub job's error so the report's thread is never
// left waiting in silence. A refusal is said and the job ends. A failure
// that may pass (GitHub unreachable, rate limit) is said after the first
// attempt, once (the outbox id is deterministic, so a retried job does not
// repeat it), and the error goes back to the scheduler, which retries with
// its backoff; after GiveUpAfter attempts Vigil says it stopped and how to
// ask again, and the job ends. Chat hears the kind of failure and GitHub's
// own complaint, never a raw transport error (which can carry a URL with
// credentials): that goes to the log with the scheduler's warning.
func (a *Advisories) failed(ctx context.Context, rep *report.Report, job bot.Job, w waited, err error) error {
	if !retryable(err) {
		return a.say(ctx, rep, w.key+":failed", fmt.Sprintf("Could not %s: %s. Fix what GitHub says, then ask again: `%s`.", w.what, redact(err.Error()), w.retry))
	}
	attempt := job.Attempt + 1
	if attempt >= a.o.GiveUpAfter {
		a.e.Logger().Warn("advisory: giving up on a GitHub job", "job", job.ID, "attempts", attempt, "err", err)
		return a.say(ctx, rep, w.key+":gaveup", fmt.Sprintf("⚠ Gave up trying to %s after %d attempts: %s. Nothing was changed on GitHub. When GitHub is back, ask again: `%s`.", w.what, attempt, unreachable(err), w.retry))
	}
	if job.Attempt == 0 {
		if serr := a.say(ctx, rep, w.key+":retrying", fmt.Sprintf("⚠ Could not %s yet: %s. Vigil keeps retrying (up to %d attempts, backing off to hourly) and will post here when it works or when it gives up.", w.what, unreachable(err), a.o.GiveUpAfter)); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err // the scheduler retries, after GitHub's wait if it gave one
}

// unreachable says what kind of passing failure err is, in words safe for
// chat.
func unreachable(err error) string {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) || errors.Is(err, bot.ErrRateLimited) {
		if ra != nil && ra.RetryAfter() > 0 {
			return fmt.Sprintf("GitHub's rate limit was reached (it asked Vigil to wait %s)", ra.RetryAfter().Round(time.Second))
		}
		return "GitHub's rate limit was reached"
	}
	return "GitHub could not be reached or answered with a server error"
}

// urlRE finds URLs in an error text, which may carry a token in their
// query or user info.
var urlRE = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

// redact replaces every URL in s with "(a URL)": GitHub's complaints are
// safe to show, the addresses around them may not be.
func redact(s string) string {
	return urlRE.ReplaceAllString(s, "(a URL)")
}

func prefixOr(p string) string {
	if p == "" {
		return "/sec"
	}
	return p
}

// retryable: GitHub asked us to wait (rate limit) or could not be reached.
func retryable(err error) bool {
	var ra interface{ RetryAfter() time.Duration }
	var tmp interface{ Temporary() bool }
	return errors.As(err, &ra) || (errors.As(err, &tmp) && tmp.Temporary()) || errors.Is(err, bot.ErrUnavailable) || errors.Is(err, bot.ErrRateLimited)
}

// say posts in the report's thread.
func (a *Advisories) say(ctx context.Context, rep *report.Report, id, text string) error {
	return a.o.Reports.Post(ctx, rep, "advisory:"+id, bot.Message{Text: text, Sensitive: true})
}

// maintainersOf lists the directory's maintainers of repo.
func (a *Advisories) maintainersOf(repo string) []bot.Person {
	var out []bot.Person
	for _, p := range a.e.Directory().All() {
		for _, m := range p.Maintains {
			if strings.EqualFold(m, repo) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// notifyMaintainers DMs each maintainer of the repository the severity,
// the advisory link and what is expected of them. The DM is sensitive but
// addressed to them by name (Message.Audience), so the privacy rule lets
// it through to people who are not on the security team.
func (a *Advisories) notifyMaintainers(ctx context.Context, rep *report.Report, repo string, created Created, by string) error {
	people := a.maintainersOf(repo)
	if len(people) == 0 {
		return a.say(ctx, rep, "notify:"+repo+":none", fmt.Sprintf("No maintainer of %s is in the people directory: tell them by hand, and add them (`/sec people add NAME --maintains %s`).", repo, repo))
	}
	sev := rep.EffectiveSeverity()
	if sev == "" {
		sev = "not scored yet"
	}
	var told []string
	for _, p := range people {
		to, ok := a.e.DMFor(&p, "")
		if !ok {
			continue
		}
		msg := bot.Message{
			Header: fmt.Sprintf("Security advisory for %s (%s)", repo, rep.ID),
			Text: fmt.Sprintf("A vulnerability in %s was reported to the security team and confirmed: *%s*.\n"+
				"A draft advisory is open: <%s|%s>. Please work on a fix in the advisory's private fork, keep it confidential until the release, and tell the team when a fix is ready. "+
				"If you think the severity is wrong, say so: `/sec severity %s LEVEL --reason \"...\"`.", repo, rep.Title, created.URL, created.GHSA, rep.ID),
			Fields:    []bot.Field{{Label: "Severity", Value: sev}, {Label: "Report", Value: rep.ID}},
			Sensitive: true,
			Audience:  []string{p.Name},
		}
		if err := a.e.Post(ctx, "advisory:notify:"+rep.ID+":"+created.GHSA+":"+p.Name, to, msg); err != nil {
			return err
		}
		told = append(told, "@"+p.Name)
	}
	sort.Strings(told)
	if err := a.o.Reports.Tick(ctx, rep.ID, "notify", by); err != nil {
		return err
	}
	if a.o.OnNotified != nil && len(told) > 0 {
		names := make([]string, len(told))
		for i, n := range told {
			names[i] = strings.TrimPrefix(n, "@")
		}
		if err := a.o.OnNotified(ctx, rep.ID, repo, created.GHSA, created.URL, names, a.e.Clock().Now()); err != nil {
			return err
		}
	}
	return a.say(ctx, rep, "notify:"+repo+":done", fmt.Sprintf("Maintainers of %s notified: %s.", repo, strings.Join(told, ", ")))
}

// ---- CVE ----

func (a *Advisories) runCVE(ctx context.Context, job bot.Job) error {
	var p ghsaPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("cve job %s: %w", job.ID, err)
	}
	rep, err := a.o.Reports.Get(ctx, p.Report)
	if err != nil {
		return err
	}
	if err := a.needGitHub(); err != nil {
		return a.say(ctx, rep, "cve:"+p.GHSA+":nogithub", err.Error())
	}
	if err := a.o.GitHub.RequestCVE(ctx, p.Repo, p.GHSA); err != nil {
		w := waited{
			key:   fmt.Sprintf("cve:%s:%d", p.GHSA, p.Asked),
			what:  "request a CVE for " + p.GHSA,
			retry: fmt.Sprintf("%s advisory cve %s", prefixOr(p.Prefix), rep.ID),
		}
		return a.failed(ctx, rep, job, w, err)
	}
	if _, err := a.o.Reports.Update(ctx, rep.ID, func(r *report.Report) error {
		for i := range r.Advisories {
			if r.Advisories[i].GHSA == p.GHSA {
				r.Advisories[i].CVERequested = true
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := a.e.Audit().Record(ctx, bot.AuditEntry{Actor: p.By, Action: "advisory.cve.request", Target: rep.ID, Detail: p.GHSA}); err != nil {
		return err
	}
	if err := a.say(ctx, rep, "cve:"+p.GHSA+":requested", fmt.Sprintf("CVE requested for %s in %s; Vigil will post the id when GitHub assigns it.", p.GHSA, p.Repo)); err != nil {
		return err
	}
	return a.scheduleCVEPoll(ctx, p)
}

func (a *Advisories) scheduleCVEPoll(ctx context.Context, p ghsaPayload) error {
	payload, _ := json.Marshal(p)
	return a.e.Scheduler().Schedule(ctx, bot.Job{ID: "advisory:cvepoll:" + p.GHSA, Kind: jobCVEPoll, Due: a.e.Clock().Now().Add(a.o.CVEPoll), Payload: payload})
}

// runCVEPoll looks for the assigned CVE id, and looks again later until
// it is there (or the advisory was closed).
func (a *Advisories) runCVEPoll(ctx context.Context, job bot.Job) error {
	var p ghsaPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("cve poll %s: %w", job.ID, err)
	}
	rep, err := a.o.Reports.Get(ctx, p.Report)
	if err != nil || a.o.GitHub == nil {
		return err
	}
	st, err := a.o.GitHub.Advisory(ctx, p.Repo, p.GHSA)
	if err != nil {
		if retryable(err) {
			return err
		}
		return a.say(ctx, rep, "cvepoll:"+p.GHSA+":failed", fmt.Sprintf("Could not read %s from GitHub to look for its CVE: %v", p.GHSA, err))
	}
	if st.CVE == "" {
		if st.State == "closed" || st.State == "withdrawn" {
			return nil
		}
		return a.scheduleCVEPoll(ctx, p)
	}
	if _, err := a.o.Reports.Update(ctx, rep.ID, func(r *report.Report) error {
		for i := range r.Advisories {
			if r.Advisories[i].GHSA == p.GHSA {
				r.Advisories[i].CVE, r.Advisories[i].CVERequested, r.Advisories[i].State = st.CVE, false, st.State
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := a.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "advisory.cve.assigned", Target: rep.ID, Detail: p.GHSA + " " + st.CVE}); err != nil {
		return err
	}
	return a.say(ctx, rep, "cvepoll:"+p.GHSA+":assigned", fmt.Sprintf("🆔 %s was assigned to %s (%s).", st.CVE, p.GHSA, p.Repo))
}

func (a *Advisories) runForkJob(ctx context.Context, job bot.Job) error {
	var p ghsaPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("fork job %s: %w", job.ID, err)
	}
	rep, err := a.o.Reports.Get(ctx, p.Report)
	if err != nil {
		return err
	}
	if err := a.needGitHub(); err != nil {
		return a.say(ctx, rep, "fork:"+p.GHSA+":nogithub", err.Error())
	}
	fork, err := a.o.GitHub.CreateFork(ctx, p.Repo, p.GHSA)
	if err != nil {
		w := waited{
			key:   fmt.Sprintf("fork:%s:%d", p.GHSA, p.Asked),
			what:  "create the private fork of " + p.Repo + " for " + p.GHSA,
			retry: fmt.Sprintf("%s advisory fork %s %s", prefixOr(p.Prefix), rep.ID, p.Repo),
		}
		return a.failed(ctx, rep, job, w, err)
	}
	if _, err := a.o.Reports.Update(ctx, rep.ID, func(r *report.Report) error {
		for i := range r.Advisories {
			if r.Advisories[i].GHSA == p.GHSA {
				r.Advisories[i].Fork = fork
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := a.e.Audit().Record(ctx, bot.AuditEntry{Actor: p.By, Action: "advisory.fork", Target: rep.ID, Detail: fork}); err != nil {
		return err
	}
	return a.say(ctx, rep, "fork:"+p.GHSA+":done", fmt.Sprintf("Temporary private fork for the fix of %s: <%s|%s>", p.GHSA, fork, fork))
}
