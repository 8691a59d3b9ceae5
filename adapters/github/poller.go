package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// Lister lists advisories in triage; *Client is one.
type Lister interface {
	ListTriageAdvisories(ctx context.Context, repo string) ([]Advisory, error)
	ListOrgTriageAdvisories(ctx context.Context, org string) ([]Advisory, error)
}

var _ Lister = (*Client)(nil)

// PollerOptions configure a Poller.
type PollerOptions struct {
	Client Lister
	Sink   intake.Sink
	Clock  clock.Clock
	// Organizations and Repositories are listed every Interval (default
	// 10 minutes).
	Organizations []string
	Repositories  []string // owner/name
	Interval      time.Duration
	Logger        *slog.Logger
}

// Poller lists advisories in state triage and hands each to the Sink, so a
// report whose webhook was missed (Vigil down, webhook not set up, delivery
// failed) still arrives. The Sink dedupes by GHSA id, so a report the
// webhook already filed is not filed again.
type Poller struct {
	client   Lister
	sink     intake.Sink
	clock    clock.Clock
	orgs     []string
	repos    []string
	interval time.Duration
	log      *slog.Logger
}

// NewPoller checks o; it does no I/O.
func NewPoller(o PollerOptions) (*Poller, error) {
	var problems []error
	if o.Client == nil {
		problems = append(problems, errors.New("a GitHub client is required"))
	}
	if o.Sink == nil {
		problems = append(problems, errors.New("an intake sink is required"))
	}
	if o.Clock == nil {
		problems = append(problems, errors.New("a clock is required"))
	}
	if o.Interval < 0 {
		problems = append(problems, fmt.Errorf("interval must not be negative, got %s", o.Interval))
	}
	for _, org := range o.Organizations {
		if !ownerRE.MatchString(org) {
			problems = append(problems, fmt.Errorf("not an organisation name: %q", org))
		}
	}
	for _, r := range o.Repositories {
		if _, err := ParseRepo(r); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("github poller: %w", errors.Join(problems...))
	}
	p := &Poller{
		client: o.Client, sink: o.Sink, clock: o.Clock,
		orgs: o.Organizations, repos: o.Repositories, interval: o.Interval, log: o.Logger,
	}
	if p.interval == 0 {
		p.interval = 10 * time.Minute
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Run polls at once and then every interval until ctx ends. After a rate
// limit it waits what GitHub asked (RetryAfter) instead, then polls again:
// nothing is dropped, only delayed. It returns nil when ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	for {
		wait, err := p.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Warn("github poller: pass incomplete", "err", err, "next_in", wait)
		}
		if clock.Sleep(ctx, p.clock, wait) != nil {
			return nil
		}
	}
}

// Poll makes one pass over the organisations and repositories and returns
// how long to wait before the next one: the interval, or a rate limit's
// RetryAfter (the pass stops at a rate limit, since every further call
// would meet the same limit). Other errors (a repository the token cannot
// read, GitHub down) are logged and the pass goes on; the returned error
// joins them.
func (p *Poller) Poll(ctx context.Context) (time.Duration, error) {
	seen := map[string]bool{} // GHSA ids handed over in this pass
	var errs []error
	type source struct {
		name string
		list func() ([]Advisory, error)
	}
	var sources []source
	for _, org := range p.orgs {
		sources = append(sources, source{"organisation " + org, func() ([]Advisory, error) { return p.client.ListOrgTriageAdvisories(ctx, org) }})
	}
	for _, r := range p.repos {
		sources = append(sources, source{r, func() ([]Advisory, error) { return p.client.ListTriageAdvisories(ctx, r) }})
	}
	for _, s := range sources {
		advisories, err := s.list()
		if err != nil {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				p.log.Warn("github poller: rate limited, pausing", "source", s.name, "retry_after", rl.RetryAfter())
				return max(rl.RetryAfter(), time.Second), errors.Join(append(errs, err)...)
			}
			if ctx.Err() != nil {
				return p.interval, ctx.Err()
			}
			level := slog.LevelWarn
			if errors.Is(err, ErrPermission) {
				// A configuration problem a person must fix.
				level = slog.LevelError
			}
			p.log.Log(ctx, level, "github poller: cannot list advisories", "source", s.name, "err", err)
			errs = append(errs, err)
			continue
		}
		for i := range advisories {
			a := &advisories[i]
			if a.State != StateTriage || seen[a.GHSAID] || !ValidGHSA(a.GHSAID) {
				continue
			}
			repo, ok := a.Repo()
			if !ok {
				p.log.Warn("github poller: advisory without a repository", "ghsa", a.GHSAID)
				continue
			}
			seen[a.GHSAID] = true
			res, err := p.sink.Receive(ctx, Incoming(a, repo, "", p.clock.Now()))
			if err != nil {
				// Not stored: the next pass offers it again.
				p.log.Error("github poller: report not stored", "ghsa", a.GHSAID, "err", err)
				errs = append(errs, fmt.Errorf("filing %s: %w", a.GHSAID, err))
				continue
			}
			if res.Created {
				p.log.Info("github poller: report received", "ghsa", a.GHSAID, "repo", repo.String(), "report", res.ReportID)
			}
		}
	}
	return p.interval, errors.Join(errs...)
}
