package release

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

// Pull requests linked to a release, and their merges: by command or by GitHub's webhook, which starts the publication clock.

// parsePRs reads pull request URLs and checks each is in a repository of
// the release (a merge elsewhere must not start this release's clock).
func parsePRs(rel *Release, urls []string) ([]PR, error) {
	var out []PR
	for _, u := range urls {
		m := prURLRE.FindStringSubmatch(strings.TrimSpace(u))
		if m == nil {
			return nil, bot.Usagef("%q is not a pull request URL (https://github.com/owner/repo/pull/N)", u)
		}
		n, err := strconv.Atoi(m[2])
		if err != nil || n <= 0 {
			return nil, bot.Usagef("%q has no pull request number", u)
		}
		repo := ""
		for _, r := range rel.Repos {
			if strings.EqualFold(r, m[1]) {
				repo = r
			}
		}
		if repo == "" {
			return nil, bot.Usagef("%s is not a repository of the release of %s (%s)", m[1], rel.ID, strings.Join(rel.Repos, ", "))
		}
		out = append(out, PR{Repo: repo, Number: n})
	}
	return out, nil
}

// link records the pull requests on the release and in the index the
// webhook looks them up in.
func (r *Releases) link(ctx context.Context, id string, prs []PR) (*Release, error) {
	for _, p := range prs {
		if _, err := r.e.Store().Put(ctx, prColl, p.key(), []byte(strings.ToUpper(id)), store.AnyVersion); err != nil {
			return nil, fmt.Errorf("link %s: %w", p.URL(), err)
		}
	}
	return r.update(ctx, id, func(rel *Release) error {
		for _, p := range prs {
			if !rel.hasPR(p) {
				rel.PRs = append(rel.PRs, p)
			}
		}
		return nil
	})
}

func (rel *Release) hasPR(p PR) bool {
	for _, q := range rel.PRs {
		if q.key() == p.key() {
			return true
		}
	}
	return false
}

// linkArgs links the pull requests a command names (ID PR-URL...) to the
// release, for `release link` and `release merged` alike.
func (r *Releases) linkArgs(ctx context.Context, req *bot.Request) (*Release, []PR, error) {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return nil, nil, err
	}
	prs, err := parsePRs(rel, req.Args[1:])
	if err != nil {
		return nil, nil, err
	}
	if _, err := r.link(ctx, rel.ID, prs); err != nil {
		return nil, nil, err
	}
	return rel, prs, nil
}

func (r *Releases) runLink(ctx context.Context, req *bot.Request) error {
	rel, prs, err := r.linkArgs(ctx, req)
	if err != nil {
		return err
	}
	var urls []string
	for _, p := range prs {
		urls = append(urls, p.URL())
	}
	if err := req.Record(ctx, "release.link", rel.ID, strings.Join(urls, " ")); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s linked to the release of %s: %s. When GitHub says one is merged, the publication clock starts.", req.ActorMention(), rel.ID, strings.Join(urls, ", "))
}

func (r *Releases) runMerged(ctx context.Context, req *bot.Request) error {
	rel, prs, err := r.linkArgs(ctx, req)
	if err != nil {
		return err
	}
	changed := false
	for _, p := range prs {
		p.Base = req.Flags.Get("branch")
		did, err := r.markMerged(ctx, rel.ID, p, req.Actor(), "command", time.Time{})
		if err != nil {
			return err
		}
		changed = changed || did
	}
	if !changed {
		return bot.Noticef("Those pull requests were already recorded as merged.")
	}
	rel, err = r.Get(ctx, rel.ID)
	if err != nil {
		return err
	}
	return req.Announcef(ctx, "%s recorded the merge. Release of %s: %s.", req.ActorMention(), rel.ID, r.clockText(rel, req.Now()))
}

// PullRequestMerged is told by the GitHub webhook that a pull request was
// merged, at mergedAt by GitHub's own account (merged_at). The publication
// clock counts from then, not from when the webhook arrived, so a late
// delivery does not extend the deadline. Pull requests not linked to a
// release are ignored.
func (r *Releases) PullRequestMerged(ctx context.Context, repo string, number int, base, by string, mergedAt time.Time) error {
	p := PR{Repo: repo, Number: number, Base: base}
	doc, err := r.e.Store().Get(ctx, prColl, p.key())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release: pull request %s: %w", p.URL(), err)
	}
	rel, _, err := r.load(ctx, string(doc.Data))
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return nil // the release is gone; the link is stale
	}
	if err != nil {
		return err
	}
	for _, q := range rel.PRs {
		if q.key() == p.key() {
			p.Repo = q.Repo
		}
	}
	_, err = r.markMerged(ctx, rel.ID, p, by, "GitHub", mergedAt)
	return err
}

// markMerged records a merge made at `at` (zero: now, as for a merge
// recorded by command) and, at the first one, starts the two-hour clock
// from then. A time in the future (a skewed clock) counts as now. It
// reports whether anything changed (a redelivered webhook or a repeated
// command changes nothing).
func (r *Releases) markMerged(ctx context.Context, id string, p PR, by, via string, at time.Time) (bool, error) {
	now := r.e.Clock().Now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	started, changed := false, false
	rel, err := r.update(ctx, id, func(rel *Release) error {
		started, changed = false, false
		if rel.State == StatePublished || rel.State == StateCancelled {
			return nil
		}
		idx := -1
		for i, q := range rel.PRs {
			if q.key() == p.key() {
				idx = i
			}
		}
		if idx < 0 {
			rel.PRs = append(rel.PRs, PR{Repo: p.Repo, Number: p.Number})
			idx = len(rel.PRs) - 1
		}
		q := &rel.PRs[idx]
		if q.Merged {
			return nil
		}
		changed = true
		q.Merged, q.MergedAt, q.MergedBy = true, at, by
		if p.Base != "" {
			q.Base = p.Base
		}
		branch := q.Base
		if branch == "" {
			branch = r.branchesOf(q.Repo).Main
		}
		rel.tick(mergeKey(q.Repo, branch), by, now)
		if rel.MergedAt.IsZero() {
			started = true
			rel.MergedAt, rel.PublishDue, rel.State = at, at.Add(r.o.PublishWindow), StateMerged
		}
		return nil
	})
	if err != nil || !changed {
		return false, err
	}
	if started {
		if err := r.scheduleAt(ctx, id, "ping", jobPing, rel.MergedAt.Add(r.o.PingAfter), jobPayload{ID: id}); err != nil {
			return true, err
		}
		if err := r.scheduleAt(ctx, id, "breach", jobBreach, rel.PublishDue, jobPayload{ID: id}); err != nil {
			return true, err
		}
	}
	pr := rel.PRs[0]
	for _, q := range rel.PRs {
		if q.key() == p.key() {
			pr = q
		}
	}
	if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: by, Action: "release.merged", Target: id, Detail: pr.URL() + " (" + via + ")"}); err != nil {
		return true, err
	}
	text := fmt.Sprintf("🔀 %s merged (%s, by %s).", pr.URL(), via, by)
	if started {
		text += fmt.Sprintf(" The publication clock runs: publish the advisories and answer the announcement before %s (`/sec release publish %s`).", r.chatWhen(rel.PublishDue), id)
	}
	return true, r.sayText(ctx, id, "merged:"+pr.key(), text)
}
