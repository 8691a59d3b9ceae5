package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/store"
)

// WebhookPath is where GitHub posts events.
const WebhookPath = "/hooks/github"

// WebhookOptions configure the webhook receiver.
type WebhookOptions struct {
	// Secret is the webhook secret set in GitHub; every delivery must be
	// signed with it (X-Hub-Signature-256).
	Secret string
	Sink   intake.Sink
	// Seen records delivery ids (Engine.Store()), so a redelivery is
	// handled once across restarts and replicas.
	Seen  store.Seen
	Clock clock.Clock
	// MaxBodyBytes caps a delivery; default 1 MiB (advisory payloads are a
	// few kilobytes; GitHub's own cap is 25 MB).
	MaxBodyBytes int64
	// DeliveryTTL is how long a delivery id is remembered; default 72h,
	// longer than GitHub keeps offering redelivery of recent deliveries.
	DeliveryTTL time.Duration
	Logger      *slog.Logger
	// PullRequests, when set, is told about merged pull requests
	// (pull_request closed with merged true); see pullrequest.go.
	PullRequests PullRequestHandler
}

// Webhook receives GitHub's webhooks. Mount it with Mount.
type Webhook struct {
	secret  []byte
	sink    intake.Sink
	seen    store.Seen
	clock   clock.Clock
	maxBody int64
	ttl     time.Duration
	log     *slog.Logger
	// pullRequests may be nil: pull_request deliveries are then ignored.
	pullRequests PullRequestHandler
}

// NewWebhook checks o; it does no I/O.
func NewWebhook(o WebhookOptions) (*Webhook, error) {
	var problems []error
	if o.Secret == "" {
		problems = append(problems, errors.New("a webhook secret is required (unsigned webhooks are refused)"))
	}
	if o.Sink == nil {
		problems = append(problems, errors.New("an intake sink is required"))
	}
	if o.Seen == nil {
		problems = append(problems, errors.New("a store for delivery ids is required"))
	}
	if o.Clock == nil {
		problems = append(problems, errors.New("a clock is required"))
	}
	if o.MaxBodyBytes < 0 || o.DeliveryTTL < 0 {
		problems = append(problems, errors.New("max body bytes and delivery TTL must not be negative"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("github webhook: %w", errors.Join(problems...))
	}
	w := &Webhook{
		secret: []byte(o.Secret), sink: o.Sink, seen: o.Seen, clock: o.Clock,
		maxBody: o.MaxBodyBytes, ttl: o.DeliveryTTL, log: o.Logger,
		pullRequests: o.PullRequests,
	}
	if w.maxBody == 0 {
		w.maxBody = 1 << 20
	}
	if w.ttl == 0 {
		w.ttl = 72 * time.Hour
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w, nil
}

// Mount registers the receiver at POST /hooks/github.
func (w *Webhook) Mount(mux *http.ServeMux) {
	mux.Handle("POST "+WebhookPath, w)
}

// repositoryAdvisoryEvent is the part of a repository_advisory delivery
// Vigil reads. go-github v60 has no type for this event.
type repositoryAdvisoryEvent struct {
	Action     string    `json:"action"`
	Advisory   *Advisory `json:"repository_advisory"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender *User `json:"sender"`
}

// ServeHTTP handles one delivery. The signature is checked over the raw
// body before anything in it is read, and GitHub hears 2xx only once the
// report is stored (else 503, and the delivery stays unclaimed so a
// redelivery is processed).
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(rw, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(rw, "could not read the body", http.StatusBadRequest)
		return
	}
	if !w.validSignature(r.Header.Get("X-Hub-Signature-256"), body) {
		// Nothing about the request is logged beyond the fact: an
		// attacker's payload has no business in Vigil's log.
		w.log.Warn("github webhook: missing or bad signature", "remote", r.RemoteAddr)
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	log := w.log.With("event", event, "delivery", delivery)
	switch event {
	case "ping":
		log.Info("github webhook: ping")
		rw.WriteHeader(http.StatusOK)
		return
	case "repository_advisory":
	case "pull_request":
		w.servePullRequest(rw, r, log, delivery, body)
		return
	default:
		log.Debug("github webhook: event ignored")
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	var ev repositoryAdvisoryEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		log.Warn("github webhook: malformed JSON", "err", err)
		http.Error(rw, "malformed JSON", http.StatusBadRequest)
		return
	}
	if ev.Action != "reported" {
		log.Debug("github webhook: repository_advisory action ignored", "action", ev.Action)
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	repo, ok := eventRepo(&ev)
	if ev.Advisory == nil || !ValidGHSA(ev.Advisory.GHSAID) || !ok {
		log.Warn("github webhook: repository_advisory without a valid GHSA id or repository")
		http.Error(rw, "missing repository_advisory.ghsa_id or repository", http.StatusBadRequest)
		return
	}
	if delivery == "" || len(delivery) > 100 {
		http.Error(rw, "missing X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	status := w.receive(r.Context(), log, delivery, &ev, repo)
	rw.WriteHeader(status)
}

// receive files the report and returns the status for GitHub: 2xx only
// once it is stored, 503 (GitHub redelivers) only when nothing was. Filing
// is idempotent by GHSA id (the sink's source index, written atomically
// with the report), so a redelivery, or the same delivery reaching two
// replicas at once, is one report. The delivery id is recorded only after
// it was handled, to skip a redelivery of one that was refused as invalid;
// recording it first would lose the report if Vigil died in between.
func (w *Webhook) receive(ctx context.Context, log *slog.Logger, delivery string, ev *repositoryAdvisoryEvent, repo Repo) int {
	key := "github:delivery:" + delivery
	if done, err := w.seen.WasSeen(ctx, key, w.clock.Now()); err != nil {
		log.Error("github webhook: cannot read the delivery record; asking GitHub to redeliver", "err", err)
		return http.StatusServiceUnavailable
	} else if done {
		log.Info("github webhook: delivery already handled", "ghsa", ev.Advisory.GHSAID)
		return http.StatusOK
	}
	sender := ""
	if ev.Sender != nil {
		sender = ev.Sender.Login
	}
	in := Incoming(ev.Advisory, repo, sender, w.clock.Now())
	res, err := w.sink.Receive(ctx, in)
	switch {
	case errors.Is(err, intake.ErrInvalid):
		// Filing it again cannot help: remember the delivery.
		log.Warn("github webhook: report refused as invalid", "ghsa", in.GHSA, "err", err)
		w.remember(ctx, log, key)
		return http.StatusUnprocessableEntity
	case err != nil:
		log.Error("github webhook: report not stored; asking GitHub to redeliver", "ghsa", in.GHSA, "err", err)
		return http.StatusServiceUnavailable
	}
	w.remember(ctx, log, key)
	log.Info("github webhook: report received", "ghsa", in.GHSA, "repo", in.GitHubRepo, "report", res.ReportID, "created", res.Created)
	return http.StatusOK
}

// eventRepo reads the advisory's repository from the delivery.
func eventRepo(ev *repositoryAdvisoryEvent) (Repo, bool) {
	if ev.Repository != nil {
		if r, err := ParseRepo(ev.Repository.FullName); err == nil {
			return r, true
		}
	}
	if ev.Advisory != nil {
		return ev.Advisory.Repo()
	}
	return Repo{}, false
}

// validSignature checks GitHub's "sha256=<hex HMAC of the body>" in
// constant time.
func (w *Webhook) validSignature(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, w.secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value GitHub would send for body;
// tests and tools use it to sign deliveries.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// remember records a handled delivery. Failing to is harmless (a
// redelivery is filed idempotently), so it is only logged. It uses a
// context that outlives the request: GitHub may have hung up.
func (w *Webhook) remember(ctx context.Context, log *slog.Logger, key string) {
	if _, err := w.seen.MarkSeen(context.WithoutCancel(ctx), key, w.clock.Now(), w.ttl); err != nil {
		log.Warn("github webhook: delivery handled but not recorded", "err", err)
	}
}
