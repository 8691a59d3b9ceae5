package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vigil-sec/vigil/adapters/discourse"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/config"
)

// forum is the announcement forum: the client, as the release feature
// uses it, and the category resolved at start.
type forum struct {
	release.Forum
	category discourse.Category
}

// startForum builds the Discourse client from cfg.Discourse and resolves
// the announcement category, so a bad key, URL or category stops the start
// with a clear error instead of failing the first announcement. It returns
// nil when no forum is configured.
func startForum(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*forum, error) {
	d := cfg.Discourse
	if !d.Enabled() {
		return nil, nil
	}
	c, err := discourse.New(discourse.Options{URL: d.URL, APIKey: d.APIKey.Value(), APIUsername: d.APIUsername, Logger: logger})
	if err != nil {
		return nil, err // says "discourse: ..." and which option
	}
	cat, err := c.ResolveCategory(ctx, d.Category)
	if err != nil {
		hint := ""
		if errors.Is(err, discourse.ErrPermission) {
			hint = " (check discourse.api_key, discourse.api_username and that the category exists and the user can see it)"
		}
		return nil, fmt.Errorf("discourse.category %q: %w%s", d.Category, err, hint)
	}
	logger.Info("discourse: announcements go to the forum's category", "url", d.URL, "category", cat.Slug, "category_id", cat.ID)
	return &forum{Forum: discourseForum{c: c}, category: cat}, nil
}

// discourseForum adapts the Discourse client to release.Forum, keeping the
// adapter's types out of commands/.
type discourseForum struct{ c *discourse.Client }

var _ release.Forum = discourseForum{}

func forumPost(p discourse.Post, err error) (release.ForumPost, error) {
	if err != nil {
		return release.ForumPost{}, err
	}
	return release.ForumPost{ID: p.ID, TopicID: p.TopicID, URL: p.URL}, nil
}

func (f discourseForum) CreateTopic(ctx context.Context, categoryID int, title, raw string) (release.ForumPost, error) {
	return forumPost(f.c.CreateTopic(ctx, categoryID, title, raw))
}

func (f discourseForum) Reply(ctx context.Context, topicID int, raw string) (release.ForumPost, error) {
	return forumPost(f.c.Reply(ctx, topicID, raw))
}

func (f discourseForum) EditPost(ctx context.Context, postID int, raw string) (release.ForumPost, error) {
	return forumPost(f.c.EditPost(ctx, postID, raw))
}
