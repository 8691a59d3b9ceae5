package slack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// maxSkew is how old (or how far in the future) a signed request may be.
// Slack's own rule: older requests may be replays.
const maxSkew = 5 * time.Minute

// maxBody bounds what is read before the signature is checked. Slack's
// payloads are small; the listener caps bodies too.
const maxBody = 1 << 20

func (a *Adapter) mountHTTP(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathEvents, a.serveEvents)
	mux.HandleFunc("POST "+PathCommands, a.serveCommands)
	mux.HandleFunc("POST "+PathInteractions, a.serveInteractions)
}

// verified reads the body and checks Slack's signature before anything is
// parsed: a stale timestamp or a bad signature gets 401 and nothing runs.
// Freshness is judged on the engine's clock, and slack-go's verifier (which
// also checks the timestamp, on the wall clock) checks the HMAC.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	reject := func(reason string) ([]byte, bool) {
		a.log.Warn("refused a request that is not from Slack", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", reason)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	sec, err := strconv.ParseInt(r.Header.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return reject("missing or malformed timestamp")
	}
	if skew := a.clock.Now().Sub(time.Unix(sec, 0)); skew > maxSkew || skew < -maxSkew {
		return reject("stale timestamp")
	}
	sv, err := slack.NewSecretsVerifier(r.Header, a.signingSecret)
	if err != nil {
		return reject(err.Error())
	}
	if _, err := sv.Write(body); err != nil {
		return reject(err.Error())
	}
	if err := sv.Ensure(); err != nil {
		return reject("bad signature")
	}
	return body, true
}

// busy answers Slack while the adapter is not running: Slack retries later,
// and the event id keeps the retry from running twice.
func busy(w http.ResponseWriter) {
	http.Error(w, "Vigil is starting or stopping", http.StatusServiceUnavailable)
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	var outer struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(body, &outer); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	switch outer.Type {
	case "url_verification":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, outer.Challenge)
		return
	case "event_callback":
	default:
		w.WriteHeader(http.StatusOK)
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		// Slack did not see our answer in time and sent the event again;
		// its event_id is already marked as handled if it ran.
		a.log.Debug("Slack redelivered an event", "attempt", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	if !a.onEventCallback(body) {
		busy(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// verifiedForm is verified for the form-encoded requests (slash commands,
// interactions): the signed body and its form.
func (a *Adapter) verifiedForm(w http.ResponseWriter, r *http.Request) ([]byte, url.Values, bool) {
	body, ok := a.verified(w, r)
	if !ok {
		return nil, nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return nil, nil, false
	}
	return body, form, true
}

func (a *Adapter) serveCommands(w http.ResponseWriter, r *http.Request) {
	body, form, ok := a.verifiedForm(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.PostForm, r.Form = form, form
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "bad slash command", http.StatusBadRequest)
		return
	}
	if !a.onCommand(cmd) {
		busy(w)
		return
	}
	// An empty 200: Slack shows nothing, and the answer follows (at the
	// command's response_url, or as a message in the channel).
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveInteractions(w http.ResponseWriter, r *http.Request) {
	_, form, ok := a.verifiedForm(w, r)
	if !ok {
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	payload, ok := a.onInteraction(cb)
	if !ok {
		busy(w)
		return
	}
	if payload == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(payload); err != nil {
		a.log.Warn("could not answer an interaction", "err", err)
	}
}
