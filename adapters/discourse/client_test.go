package discourse_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/discourse"
	"github.com/vigil-sec/vigil/adapters/discourse/discoursetest"
	"github.com/vigil-sec/vigil/bot"
)

const (
	testKey  = "d1sc0urse-secret-api-key"
	testUser = "vigil"
)

func newClient(t *testing.T) (*discourse.Client, *discoursetest.Fake) {
	t.Helper()
	fake := discoursetest.New(t, discoursetest.Options{APIKey: testKey, APIUsername: testUser})
	fake.AddCategory(7, "security-announcements", "Security Announcements")
	c, err := discourse.New(discourse.Options{URL: fake.URL(), APIKey: testKey, APIUsername: testUser, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestCreateReplyEditRead(t *testing.T) {
	ctx := context.Background()
	c, fake := newClient(t)

	cat, err := c.ResolveCategory(ctx, "security-announcements")
	if err != nil || cat.ID != 7 {
		t.Fatalf("ResolveCategory(slug) = %+v, %v; want id 7", cat, err)
	}
	fake.AddCategory(3, "acme", "Acme")
	fake.AddSubcategory(3, 11, "acme-security", "Acme security")
	if sub, err := c.ResolveCategory(ctx, "acme-security"); err != nil || sub.ID != 11 {
		t.Fatalf("ResolveCategory(subcategory slug) = %+v, %v; want id 11", sub, err)
	}
	if byID, err := c.ResolveCategory(ctx, "7"); err != nil || byID.Slug != "security-announcements" {
		t.Fatalf("ResolveCategory(id) = %+v, %v", byID, err)
	}

	first, err := c.CreateTopic(ctx, cat.ID, "Security release of acme/web on 2026-01-07", "A release is planned.")
	if err != nil {
		t.Fatal(err)
	}
	if first.PostNumber != 1 || !strings.HasPrefix(first.URL, fake.URL()+"/t/") {
		t.Errorf("CreateTopic = %+v; want post 1 with an absolute URL on the forum", first)
	}
	reply, err := c.Reply(ctx, first.TopicID, "Published: the advisory.")
	if err != nil {
		t.Fatal(err)
	}
	if reply.TopicID != first.TopicID || reply.PostNumber != 2 {
		t.Errorf("Reply = %+v; want post 2 of topic %d", reply, first.TopicID)
	}
	if _, err := c.EditPost(ctx, first.ID, "Postponed to 2026-01-09."); err != nil {
		t.Fatal(err)
	}

	topic, err := c.Topic(ctx, first.TopicID)
	if err != nil {
		t.Fatal(err)
	}
	if topic.CategoryID != 7 || topic.PostsCount != 2 || topic.FirstPostID != first.ID || topic.Title == "" {
		t.Errorf("Topic = %+v; want category 7, 2 posts, first post %d", topic, first.ID)
	}
	held, _ := fake.Topic(first.TopicID)
	if got := held.Posts[0]; got.Raw != "Postponed to 2026-01-09." || got.Edits != 1 {
		t.Errorf("first post in the fake = %+v; want the edited body", got)
	}
	for _, r := range fake.Requests() {
		if r.Header.Get("Api-Key") != testKey || r.Header.Get("Api-Username") != testUser {
			t.Errorf("%s %s: auth headers missing", r.Method, r.Path)
		}
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("contract violations: %v", v)
	}
}

func TestRateLimitedReportsWait(t *testing.T) {
	ctx := context.Background()
	c, fake := newClient(t)
	fake.RateLimitOnce(discoursetest.OpCreatePost, 9)

	_, err := c.CreateTopic(ctx, 7, "Security release", "Planned.")
	var rl *discourse.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, discourse.ErrRateLimited) || !errors.Is(err, bot.ErrRateLimited) {
		t.Fatalf("err = %v; want a *RateLimitError", err)
	}
	if rl.RetryAfter() != 9*time.Second {
		t.Errorf("RetryAfter = %s; want 9s from extras.wait_seconds", rl.RetryAfter())
	}
	// The caller waits and tries again; the second answer is a 200 and
	// the topic exists once.
	p, err := c.CreateTopic(ctx, 7, "Security release", "Planned.")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := len(fake.RequestsFor(discoursetest.OpCreatePost)); got != 2 {
		t.Errorf("%d create requests; want 2 (the 429 and the retry)", got)
	}
	if _, ok := fake.Topic(p.TopicID); !ok {
		t.Error("the topic was not created by the retry")
	}
}

func TestRetryAfterHeaderWhenLonger(t *testing.T) {
	c, fake := newClient(t)
	fake.Fail(discoursetest.OpCreatePost, discoursetest.Fault{Status: http.StatusTooManyRequests, WaitSeconds: 2, RetryAfter: 30})
	_, err := c.Reply(context.Background(), 1, "x")
	var rl *discourse.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter() != 30*time.Second {
		t.Fatalf("err = %v; want a rate limit of 30s (Retry-After, the longer wait)", err)
	}
}

func TestForbiddenNamesScopeNotKey(t *testing.T) {
	ctx := context.Background()
	c, fake := newClient(t)
	fake.Forbid(discoursetest.OpUpdatePost)

	_, err := c.EditPost(ctx, 12, "new body")
	if !errors.Is(err, discourse.ErrPermission) {
		t.Fatalf("err = %v; want ErrPermission", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"posts: edit"`) || !strings.Contains(msg, "not permitted") {
		t.Errorf("err = %q; want the missing scope and Discourse's message", msg)
	}
	if strings.Contains(msg, testKey) {
		t.Errorf("err = %q contains the API key", msg)
	}
}

func TestWrongKeyIsPermissionError(t *testing.T) {
	fake := discoursetest.New(t, discoursetest.Options{APIKey: testKey, APIUsername: testUser})
	c, err := discourse.New(discourse.Options{URL: fake.URL(), APIKey: "wrong-key-value", APIUsername: testUser})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ResolveCategory(context.Background(), "security-announcements")
	if !errors.Is(err, discourse.ErrPermission) || strings.Contains(err.Error(), "wrong-key-value") {
		t.Fatalf("err = %v; want ErrPermission without the key", err)
	}
}

func TestErrorClasses(t *testing.T) {
	ctx := context.Background()
	c, fake := newClient(t)

	fake.Fail(discoursetest.OpGetTopic, discoursetest.Fault{Status: http.StatusBadGateway})
	if _, err := c.Topic(ctx, 1); !errors.Is(err, discourse.ErrTemporary) || !errors.Is(err, bot.ErrUnavailable) {
		t.Errorf("502: err = %v; want ErrTemporary", err)
	}
	fake.Fail(discoursetest.OpCreatePost, discoursetest.Fault{Status: http.StatusUnprocessableEntity, Message: "Title is too short"})
	_, err := c.CreateTopic(ctx, 7, "x", "body")
	if !errors.Is(err, discourse.ErrValidation) || !strings.Contains(err.Error(), "Title is too short") {
		t.Errorf("422: err = %v; want ErrValidation with Discourse's reason", err)
	}
	if _, err := c.Topic(ctx, 999); !errors.Is(err, discourse.ErrNotFound) {
		t.Errorf("missing topic: err = %v; want ErrNotFound", err)
	}
	if _, err := c.ResolveCategory(ctx, "no-such-category"); !errors.Is(err, discourse.ErrNotFound) {
		t.Errorf("missing category: err = %v; want ErrNotFound", err)
	}
	if _, err := c.CreateTopic(ctx, 0, "t", "b"); !errors.Is(err, discourse.ErrInvalid) {
		t.Errorf("no category: err = %v; want ErrInvalid", err)
	}
}

func TestUnreachableIsTemporary(t *testing.T) {
	c, err := discourse.New(discourse.Options{URL: "http://127.0.0.1:1", APIKey: testKey, APIUsername: testUser})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Topic(context.Background(), 1)
	if !errors.Is(err, discourse.ErrTemporary) || strings.Contains(err.Error(), testKey) {
		t.Fatalf("err = %v; want ErrTemporary without the key", err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	_, err := discourse.New(discourse.Options{URL: "ftp://x", APIKey: "has space"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"url", "white space", "API username"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q; want it to mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "has space") {
		t.Errorf("err = %q quotes the key", err)
	}
}
