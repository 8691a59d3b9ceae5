package main

import (
	"context"
	"fmt"
	"time"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/config"
)

// registerReleases adds the release feature from cfg.Releases, with GitHub
// (publishing advisories) and outbound mail (announcement list,
// distributors) when they are configured; the person taking over duty
// inherits the releases planned in the shift.
func registerReleases(e *bot.Engine, cfg *config.Config, reports *report.Reports, d *duty.Duty, svc services) (*release.Releases, error) {
	c := cfg.Releases
	o := release.Options{
		Mailer:        svc.mailer,
		Reports:       reports,
		Duty:          d,
		Rotation:      c.Rotation,
		MinNotice:     time.Duration(c.MinNotice),
		PublishWindow: time.Duration(c.PublishWindow),
		PingAfter:     time.Duration(c.PingAfter),
		Zone:          c.Timezone.Location(),
		MailingList:   c.Announce.MailingList,
		Distributors:  c.Distributors.List,
		NoticeBefore:  time.Duration(c.Distributors.NoticeBefore),
		SignedBy:      svc.signedBy,
		PublicLists:   c.PublicLists,
	}
	for _, s := range c.Announce.Rooms {
		room, err := bot.ParseRoomRef(s)
		if err != nil {
			return nil, fmt.Errorf("releases.announce.rooms: %w", err)
		}
		o.AnnounceRooms = append(o.AnnounceRooms, room)
	}
	for _, b := range c.Branches {
		o.Branches = append(o.Branches, release.Branches{Repo: b.Repo, Main: b.Main, Supported: b.Supported})
	}
	if svc.github != nil {
		o.GitHub = svc.github
	}
	if svc.forum != nil {
		o.Forum, o.ForumCategory, o.ForumCategoryName = svc.forum, svc.forum.category.ID, svc.forum.category.Slug
	}
	rel, err := release.Register(e, o)
	if err != nil {
		return nil, err
	}
	if d != nil {
		d.AddContributor(rel.Inheritance)
	}
	return rel, nil
}

// releasePullRequests adapts the webhook's merged pull requests to the
// release feature: githubadapter.WebhookOptions.PullRequests.
func releasePullRequests(r *release.Releases) githubadapter.PullRequestHandler {
	return func(ctx context.Context, pr githubadapter.PullRequestMerged) error {
		return r.PullRequestMerged(ctx, pr.Repo, pr.Number, pr.Base, pr.MergedBy, pr.MergedAt)
	}
}
