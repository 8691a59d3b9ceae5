package discoursetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// createPost is POST /posts.json: a new topic when the body has a title,
// a reply when it has a topic_id.
func (f *Fake) createPost(r *http.Request, _ map[string]string, body []byte) (int, map[string]any) {
	var in struct {
		Title    string `json:"title"`
		Raw      string `json:"raw"`
		TopicID  int    `json:"topic_id"`
		Category int    `json:"category"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, errorBody("invalid_parameters", err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.TrimSpace(in.Raw) == "" {
		return http.StatusUnprocessableEntity, errorBody("", "Body can’t be blank")
	}
	var t *Topic
	switch {
	case in.TopicID != 0:
		if t = f.topics[in.TopicID]; t == nil {
			return http.StatusNotFound, errorBody("not_found", "The requested URL or resource could not be found.")
		}
	case in.Title != "":
		if in.Category != 0 && !f.hasCategory(in.Category) {
			return http.StatusUnprocessableEntity, errorBody("", "Category can’t be blank")
		}
		f.lastID++
		t = &Topic{ID: f.lastID, Title: in.Title, Slug: slugify(in.Title), CategoryID: in.Category}
		f.topics[t.ID] = t
	default:
		return http.StatusUnprocessableEntity, errorBody("", "Title can’t be blank")
	}
	f.lastID++
	p := &Post{ID: f.lastID, TopicID: t.ID, PostNumber: len(t.Posts) + 1, Raw: in.Raw}
	f.posts[p.ID] = p
	t.Posts = append(t.Posts, *p)
	return http.StatusOK, f.postFields(t, p, r.Header.Get("Api-Username"))
}

// updatePost is PUT /posts/{id}.json.
func (f *Fake) updatePost(r *http.Request, params map[string]string, body []byte) (int, map[string]any) {
	var in struct {
		Post struct {
			Raw string `json:"raw"`
		} `json:"post"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, errorBody("invalid_parameters", err.Error())
	}
	id, _ := strconv.Atoi(params["id"])
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.posts[id]
	if p == nil {
		return http.StatusNotFound, errorBody("not_found", "The requested URL or resource could not be found.")
	}
	p.Raw = in.Post.Raw
	p.Edits++
	return http.StatusOK, map[string]any{"post": f.postFields(f.topics[p.TopicID], p, r.Header.Get("Api-Username"))}
}

// getTopic is GET /t/{id}.json.
func (f *Fake) getTopic(_ *http.Request, params map[string]string, _ []byte) (int, map[string]any) {
	id, _ := strconv.Atoi(params["id"])
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.topics[id]
	if t == nil {
		return http.StatusNotFound, errorBody("not_found", "The requested URL or resource could not be found.")
	}
	stream := make([]int, 0, len(t.Posts))
	for _, p := range t.Posts {
		stream = append(stream, p.ID)
	}
	now := f.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	return http.StatusOK, map[string]any{
		"id": t.ID, "title": t.Title, "fancy_title": t.Title, "slug": t.Slug, "category_id": t.CategoryID,
		"posts_count": len(t.Posts), "highest_post_number": len(t.Posts), "created_at": now, "last_posted_at": now,
		"archetype": "regular", "visible": true,
		"post_stream": map[string]any{"stream": stream},
	}
}

// listCategories is GET /categories.json: the top-level categories, each
// with its subcategories when include_subcategories=true.
func (f *Fake) listCategories(r *http.Request, _ map[string]string, _ []byte) (int, map[string]any) {
	withSubs := r.URL.Query().Get("include_subcategories") == "true"
	f.mu.Lock()
	defer f.mu.Unlock()
	cats := make([]any, 0, len(f.categories))
	for _, c := range f.categories {
		if c.ParentID != 0 {
			continue
		}
		var subs []any
		for _, sub := range f.categories {
			if sub.ParentID == c.ID {
				subs = append(subs, map[string]any{"id": sub.ID, "slug": sub.Slug, "name": sub.Name})
			}
		}
		cat := map[string]any{"id": c.ID, "slug": c.Slug, "name": c.Name, "subcategory_count": len(subs)}
		if withSubs && len(subs) > 0 {
			cat["subcategory_list"] = subs
		}
		cats = append(cats, cat)
	}
	return http.StatusOK, map[string]any{"category_list": map[string]any{"categories": cats}}
}

// getCategory is GET /c/{id}/show.json.
func (f *Fake) getCategory(_ *http.Request, params map[string]string, _ []byte) (int, map[string]any) {
	id, _ := strconv.Atoi(params["id"])
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.categories {
		if c.ID == id {
			return http.StatusOK, map[string]any{"category": map[string]any{"id": c.ID, "slug": c.Slug, "name": c.Name}}
		}
	}
	return http.StatusNotFound, errorBody("not_found", "The requested URL or resource could not be found.")
}

func (f *Fake) hasCategory(id int) bool {
	for _, c := range f.categories {
		if c.ID == id {
			return true
		}
	}
	return false
}

// postFields are the fields of a post answer the fake knows; f.mu is held.
func (f *Fake) postFields(t *Topic, p *Post, username string) map[string]any {
	now := f.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	return map[string]any{
		"id": p.ID, "topic_id": t.ID, "topic_slug": t.Slug, "post_number": p.PostNumber,
		"raw": p.Raw, "cooked": "<p>" + p.Raw + "</p>", "username": username,
		"created_at": now, "updated_at": now, "version": p.Edits + 1, "posts_count": len(t.Posts),
		"post_url": fmt.Sprintf("/t/%s/%d/%d", t.Slug, t.ID, p.PostNumber),
	}
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugify makes a topic slug as Discourse does for ASCII titles.
func slugify(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if s == "" {
		return "topic"
	}
	return s
}
