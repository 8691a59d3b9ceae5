package github

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// PullRequestMerged is a pull request GitHub reports as closed and merged.
type PullRequestMerged struct {
	Repo   string // owner/name
	Number int
	URL    string
	// Base is the branch merged into (main, or a release branch for a
	// back-port).
	Base     string
	MergedAt time.Time
	// MergedBy is the GitHub login of whoever merged it.
	MergedBy string
}

// PullRequestHandler is told about merged pull requests (the release
// feature, through a shim in cmd/vigil). An error makes GitHub redeliver.
type PullRequestHandler func(ctx context.Context, pr PullRequestMerged) error

// pullRequestEvent is the part of a pull_request delivery Vigil reads.
type pullRequestEvent struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest *struct {
		Number   int        `json:"number"`
		HTMLURL  string     `json:"html_url"`
		Merged   bool       `json:"merged"`
		MergedAt *time.Time `json:"merged_at"`
		MergedBy *User      `json:"merged_by"`
		Base     struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// servePullRequest handles a pull_request delivery whose signature was
// checked. Only "closed" with merged true matters; an unmerged close or
// any other action is acknowledged and ignored. The delivery is claimed
// once (as for advisories), and released when the handler fails so that
// GitHub's redelivery is processed.
func (w *Webhook) servePullRequest(rw http.ResponseWriter, r *http.Request, log *slog.Logger, delivery string, body []byte) {
	if w.pullRequests == nil {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	var ev pullRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		log.Warn("github webhook: malformed JSON", "err", err)
		http.Error(rw, "malformed JSON", http.StatusBadRequest)
		return
	}
	if ev.Action != "closed" || ev.PullRequest == nil || !ev.PullRequest.Merged {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	if ev.Repository == nil {
		http.Error(rw, "missing repository", http.StatusBadRequest)
		return
	}
	repo, err := ParseRepo(ev.Repository.FullName)
	if err != nil || ev.PullRequest.Number <= 0 {
		http.Error(rw, "missing repository.full_name or pull_request.number", http.StatusBadRequest)
		return
	}
	if delivery == "" || len(delivery) > 100 {
		http.Error(rw, "missing X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	pr := PullRequestMerged{Repo: repo.String(), Number: ev.PullRequest.Number, URL: ev.PullRequest.HTMLURL, Base: ev.PullRequest.Base.Ref}
	if ev.PullRequest.MergedAt != nil {
		pr.MergedAt = *ev.PullRequest.MergedAt
	}
	if ev.PullRequest.MergedBy != nil {
		pr.MergedBy = ev.PullRequest.MergedBy.Login
	}
	ctx := r.Context()
	key := "github:delivery:" + delivery
	first, err := w.seen.MarkSeen(ctx, key, w.clock.Now(), w.ttl)
	if err != nil {
		log.Error("github webhook: cannot record the delivery; asking GitHub to redeliver", "err", err)
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if !first {
		rw.WriteHeader(http.StatusOK)
		return
	}
	if err := w.pullRequests(ctx, pr); err != nil {
		if ferr := w.seen.Forget(context.WithoutCancel(ctx), key); ferr != nil && !errors.Is(ferr, context.Canceled) {
			log.Error("github webhook: cannot release the delivery", "err", ferr)
		}
		log.Error("github webhook: merged pull request not recorded; asking GitHub to redeliver", "repo", pr.Repo, "number", pr.Number, "err", err)
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	log.Info("github webhook: merged pull request", "repo", pr.Repo, "number", pr.Number)
	rw.WriteHeader(http.StatusOK)
}
