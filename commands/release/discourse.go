package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
)

// Forum is what releases need from a Discourse forum: a topic in the
// announcement category, replies to it, and editing its first post.
// cmd/vigil passes an adapter over adapters/discourse's Client.
type Forum interface {
	CreateTopic(ctx context.Context, categoryID int, title, raw string) (ForumPost, error)
	Reply(ctx context.Context, topicID int, raw string) (ForumPost, error)
	EditPost(ctx context.Context, postID int, raw string) (ForumPost, error)
}

// ForumPost is a post the forum created or edited.
type ForumPost struct {
	ID      int
	TopicID int
	URL     string
}

// ForumTopic records the release's announcement topic on the forum, and
// the posts already made there, so a retried job never posts twice.
type ForumTopic struct {
	TopicID     int      `json:"topic_id,omitempty"`
	FirstPostID int      `json:"first_post_id,omitempty"`
	URL         string   `json:"url,omitempty"`
	Done        []string `json:"done,omitempty"`
}

const jobForum = "release.forum"

// forumPosted is the Posted entry of a forum announcement.
func (r *Releases) forumPosted() Posted {
	return Posted{Kind: "forum", Where: r.o.ForumCategoryName}
}

// scheduleForum queues one forum step (announce, publish, postpone-N,
// cancel-N) as a job: the scheduler retries it after the forum's wait.
func (r *Releases) scheduleForum(ctx context.Context, id, kind string) error {
	return r.scheduleAt(ctx, id, "forum:"+kind, jobForum, r.e.Clock().Now(), jobPayload{ID: id, Kind: kind})
}

// forumDate is the public time in UTC and as Discourse's date tag, which
// each reader's browser shows in their own time zone.
func forumDate(rel *Release) string {
	t := rel.PublicAt.UTC()
	return fmt.Sprintf("%s UTC (%s)", t.Format("2006-01-02 15:04"),
		fmt.Sprintf(`[date=%s time=%s timezone="UTC"]`, t.Format("2006-01-02"), t.Format("15:04:05")))
}

// forumAnnouncement is the topic's title and first post: the repositories,
// the time and the severity, and nothing of the report (still embargoed).
func forumAnnouncement(rel *Release) (title, body string) {
	repos := strings.Join(rel.Repos, ", ")
	sev := rel.Severity
	if sev == "" {
		sev = "to be announced"
	}
	title = fmt.Sprintf("Upcoming security release of %s on %s", repos, rel.PublicAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	body = fmt.Sprintf("A security release of **%s** is planned for %s.\n\nSeverity: %s.\n\nDetails will be published at that time; this topic will be answered with the advisories.",
		repos, forumDate(rel), sev)
	return title, body
}

// forumPublished is the reply at publication: the advisories, then the
// fix on each repository's main branch and each back-port, labelled.
func (r *Releases) forumPublished(rel *Release, advs []report.AdvisoryRef) string {
	var b strings.Builder
	b.WriteString("The security release is published.\n\nAdvisories:\n")
	for _, a := range advs {
		l := advisoryLink(a)
		fmt.Fprintf(&b, "- %s: %s\n", l.ID, l.URL)
	}
	var fixes []string
	for _, p := range rel.PRs {
		if !p.Merged {
			continue
		}
		label := "Back-port to " + p.Base
		if p.Base == "" || p.Base == r.branchesOf(p.Repo).Main {
			label = "Fix on the main branch"
		}
		fixes = append(fixes, fmt.Sprintf("- %s (%s): %s", label, p.Repo, p.URL()))
	}
	if len(fixes) > 0 {
		b.WriteString("\nPull requests:\n" + strings.Join(fixes, "\n") + "\n")
	}
	return b.String()
}

// runForum does one forum step of a release. A rate limit or an
// unreachable forum is returned (the scheduler retries after the wait);
// a refusal (permission, validation) is told in the release's thread.
func (r *Releases) runForum(ctx context.Context, job bot.Job) error {
	rel, p, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil {
		return err
	}
	if r.o.Forum == nil || slices.Contains(rel.Forum.Done, p.Kind) {
		return nil
	}
	err = r.forumStep(ctx, rel, p.Kind)
	if err == nil {
		_, err = r.update(ctx, rel.ID, func(rel *Release) error {
			rel.Forum.Done = append(rel.Forum.Done, p.Kind)
			return nil
		})
		return err
	}
	if retryable(err) {
		return fmt.Errorf("release %s: forum %s: %w", rel.ID, p.Kind, err)
	}
	r.e.Logger().Error("release: the forum refused", "release", rel.ID, "step", p.Kind, "err", err)
	return r.sayText(ctx, rel.ID, fmt.Sprintf("forum:%s:failed:%d", p.Kind, job.Attempt),
		fmt.Sprintf("💬 The forum refused the %s post of %s (post it by hand): %v", p.Kind, rel.ID, err))
}

func (r *Releases) forumStep(ctx context.Context, rel *Release, kind string) error {
	if kind == "announce" {
		// A release cancelled while its topic waited out a rate limit is
		// not announced after all.
		if rel.Forum.TopicID != 0 || rel.State == StateCancelled {
			return nil
		}
		title, body := forumAnnouncement(rel)
		post, err := r.o.Forum.CreateTopic(ctx, r.o.ForumCategory, title, body)
		if err != nil {
			return err
		}
		if _, err := r.update(ctx, rel.ID, func(rel *Release) error {
			rel.Forum.TopicID, rel.Forum.FirstPostID, rel.Forum.URL = post.TopicID, post.ID, post.URL
			return nil
		}); err != nil {
			return err
		}
		return r.sayText(ctx, rel.ID, "forum:announce", fmt.Sprintf("💬 Announced on the forum: %s", post.URL))
	}
	if rel.Forum.TopicID == 0 {
		// Never announced there (or the forum refused it, which the thread
		// was told): there is no topic to answer.
		return nil
	}
	switch {
	case kind == "publish":
		rep, err := r.o.Reports.Get(ctx, rel.ID)
		if err != nil {
			return err
		}
		advs := releaseAdvisories(rep, rel)
		_, err = r.o.Forum.Reply(ctx, rel.Forum.TopicID, r.forumPublished(rel, advs))
		return err
	case strings.HasPrefix(kind, "postpone-"), strings.HasPrefix(kind, "cancel-"):
		c, _, ok := r.changeOf(rel, kind)
		if !ok {
			return fmt.Errorf("release %s: unknown change %q", rel.ID, kind)
		}
		edit := "edit:" + kind
		if !slices.Contains(rel.Forum.Done, edit) {
			title, body := forumAnnouncement(rel)
			if c.Kind == "cancel" {
				body = fmt.Sprintf("**Cancelled:** %s\n\n~~%s~~", c.Reason, title)
			} else {
				body = fmt.Sprintf("**Postponed** from %s: %s\n\n%s", c.From.UTC().Format("2 Jan 2006 15:04 UTC"), c.Reason, body)
			}
			if _, err := r.o.Forum.EditPost(ctx, rel.Forum.FirstPostID, body); err != nil {
				return err
			}
			if _, err := r.update(ctx, rel.ID, func(rel *Release) error {
				rel.Forum.Done = append(rel.Forum.Done, edit)
				return nil
			}); err != nil {
				return err
			}
		}
		_, err := r.o.Forum.Reply(ctx, rel.Forum.TopicID, r.changeText(rel, c))
		return err
	}
	return fmt.Errorf("release %s: unknown forum step %q", rel.ID, kind)
}

// advisoryLink names a published advisory (its GHSA id, and its CVE id
// when it has one) and gives its address, for the answers in chat, on the
// list and on the forum.
func advisoryLink(a report.AdvisoryRef) answeredAdvisory {
	url := a.URL
	if url == "" {
		url = "https://github.com/" + a.Repo + "/security/advisories/" + a.GHSA
	}
	id := a.GHSA
	if a.CVE != "" {
		id += " (" + a.CVE + ")"
	}
	return answeredAdvisory{ID: id, URL: url}
}
