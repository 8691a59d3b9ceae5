package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

const buttonCollection = "matrix.buttons"

// buttonRecord remembers a message Vigil sent: its buttons, so a numbered
// reply or a keycap reaction to it can be turned into a button press, also
// after a restart; whom it mentions and how often Vigil edited it, for the
// next edit (see Edit). Only messages with buttons or mentions get one when
// sent; every edited message has one.
type buttonRecord struct {
	Room     string       `json:"room"`
	Thread   string       `json:"thread,omitempty"`
	Buttons  []bot.Button `json:"buttons"`
	Mentions []id.UserID  `json:"mentions,omitempty"`
	Edits    int          `json:"edits,omitempty"`
}

// Send renders msg as an m.notice (HTML and plain body) and sends it: in
// the room, in the destination's thread (m.thread) when it has one, or in
// the person's direct room, opened if needed; its files follow there (see
// sendFiles). Encrypted rooms get an encrypted event. Errors are classified for the outbox, never retried
// here.
//
// Matrix has no messages only one person sees: an answer for the asker
// alone (Destination.Only) is sent where the engine puts it, in the
// command's thread.
func (a *Adapter) Send(ctx context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	if err := a.notReady(); err != nil {
		return bot.MessageRef{}, err
	}
	room := to.Room.ID
	thread := to.Thread.ID
	if to.IsDM() {
		var err error
		if room, err = a.dmRoom(ctx, id.UserID(to.DM.ID)); err != nil {
			return bot.MessageRef{}, err
		}
		thread = ""
	}
	if room == "" {
		return bot.MessageRef{}, fmt.Errorf("matrix: %s has no room: %w", to, bot.ErrRejected)
	}
	rid := id.RoomID(room)
	if err := a.knowEncryption(ctx, rid); err != nil {
		return bot.MessageRef{}, err
	}
	if len(msg.Files) > 0 && msg.Plain() == "" && len(msg.Buttons) == 0 {
		// Files alone: no empty notice before them.
		evt, err := a.sendFiles(ctx, rid, thread, msg)
		if err != nil {
			return bot.MessageRef{}, err
		}
		return bot.MessageRef{Room: roomRef(room), ID: string(evt)}, nil
	}
	content := noticeContent(msg)
	if thread != "" {
		content.RelatesTo = (&event.RelatesTo{}).SetThread(id.EventID(thread), id.EventID(thread))
	}
	var extra []mautrix.ReqSendEvent
	if msg.DeliveryID != "" {
		// The outbox id as the transaction id: a message sent again after
		// a replica died mid-send (docs/DELIVERY.md) returns the first
		// event instead of showing twice. Homeservers scope transaction
		// ids to the access token, which replicas share.
		extra = append(extra, mautrix.ReqSendEvent{TransactionID: txnID(msg.DeliveryID)})
	}
	resp, err := a.client.SendMessageEvent(mautrix.WithMaxRetries(ctx, 0), rid, event.EventMessage, content, extra...)
	if err != nil {
		return bot.MessageRef{}, classify("send", err)
	}
	if len(msg.Buttons) > 0 || len(content.Mentions.UserIDs) > 0 {
		a.rememberButtons(ctx, resp.EventID, buttonRecord{Room: room, Thread: thread, Buttons: msg.Buttons, Mentions: content.Mentions.UserIDs})
	}
	if len(msg.Files) > 0 {
		// A retry sends the text again under the same transaction id,
		// which the homeserver answers with the first event: only the
		// files that did not go show anew.
		if _, err := a.sendFiles(ctx, rid, thread, msg); err != nil {
			return bot.MessageRef{}, err
		}
	}
	return bot.MessageRef{Room: roomRef(room), ID: string(resp.EventID)}, nil
}

// notReady refuses sends before Run has logged in and checked the rooms:
// the crypto machine and the room state are not known yet.
func (a *Adapter) notReady() error {
	if _, ready := a.gate.Base(); !ready {
		return fmt.Errorf("matrix: not connected yet: %w", bot.ErrUnavailable)
	}
	return nil
}

// noticeContent is msg as an m.notice: a plain body, HTML, and the
// intentional mentions.
func noticeContent(msg bot.Message) *event.MessageEventContent {
	plain, formatted := render(msg)
	return &event.MessageEventContent{
		MsgType:       event.MsgNotice,
		Body:          plain,
		Format:        event.FormatHTML,
		FormattedBody: formatted,
		// Intentional mentions on every message: only the people Vigil
		// means, never anyone named in quoted text. Their presence also
		// turns off the legacy push rules that match "@room" or a display
		// name in the body (MSC3952).
		Mentions: mentions(msg),
	}
}

// knowEncryption makes sure the state store knows whether the room is
// encrypted before mautrix decides to encrypt or not: a room the bot has
// not synced yet (a DM just created elsewhere) is asked about, so nothing
// goes out in plain text into an encrypted room.
func (a *Adapter) knowEncryption(ctx context.Context, rid id.RoomID) error {
	if a.client.Crypto == nil || a.client.StateStore == nil {
		return nil
	}
	enc, err := a.client.StateStore.IsEncrypted(ctx, rid)
	if err != nil {
		return fmt.Errorf("matrix: room state: %v: %w", err, bot.ErrUnavailable)
	}
	if enc {
		return nil
	}
	var content event.EncryptionEventContent
	err = a.client.StateEvent(ctx, rid, event.StateEncryption, "", &content)
	if err == nil && content.Algorithm != "" {
		return a.client.StateStore.SetEncryptionEvent(ctx, rid, &content)
	}
	if err != nil && !errors.Is(err, mautrix.MNotFound) {
		return classify("room state", err)
	}
	return nil
}

func (a *Adapter) rememberButtons(ctx context.Context, evt id.EventID, rec buttonRecord) {
	a.mu.Lock()
	a.buttons[evt] = rec
	a.mu.Unlock()
	data, err := json.Marshal(rec)
	if err == nil {
		_, err = a.engine.Store().Put(ctx, buttonCollection, string(evt), data, store.AnyVersion)
	}
	if err != nil {
		// The message is out; only a press after a restart would miss.
		a.log.Warn("could not store a message's buttons", "event", evt, "err", err)
	}
}

func (a *Adapter) buttonsOf(ctx context.Context, evt id.EventID) (buttonRecord, bool) {
	rec, ok, err := a.loadRecord(ctx, evt)
	if err != nil {
		a.log.Warn("could not read a message's buttons", "event", evt, "err", err)
	}
	return rec, ok
}

// loadRecord returns what Vigil remembers of a message it sent; ok is
// false for a message it has no record of.
func (a *Adapter) loadRecord(ctx context.Context, evt id.EventID) (rec buttonRecord, ok bool, err error) {
	a.mu.Lock()
	rec, ok = a.buttons[evt]
	a.mu.Unlock()
	if ok {
		return rec, true, nil
	}
	doc, err := a.engine.Store().Get(ctx, buttonCollection, string(evt))
	if errors.Is(err, store.ErrNotFound) {
		return buttonRecord{}, false, nil
	}
	if err != nil {
		return buttonRecord{}, false, fmt.Errorf("load the record of %s: %w", evt, err)
	}
	if err := json.Unmarshal(doc.Data, &rec); err != nil {
		return buttonRecord{}, false, fmt.Errorf("load the record of %s: %w", evt, err)
	}
	a.mu.Lock()
	a.buttons[evt] = rec
	a.mu.Unlock()
	return rec, true, nil
}

// keycaps are the reactions that press buttons 1 to 10.
var keycaps = []string{"1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"}

// keycapNumber returns n for the keycap of n (also without the variation
// selector some clients drop), else 0.
func keycapNumber(key string) int {
	for i, k := range keycaps {
		if key == k || key == strings.ReplaceAll(k, "\ufe0f", "") {
			return i + 1
		}
	}
	return 0
}

// dmRoom returns the person's direct room with the bot, creating an
// encrypted one (and inviting them) the first time.
func (a *Adapter) dmRoom(ctx context.Context, user id.UserID) (string, error) {
	a.mu.Lock()
	room, ok := a.dms[user]
	a.mu.Unlock()
	if ok {
		return room, nil
	}
	resp, err := a.client.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset:   "trusted_private_chat",
		IsDirect: true,
		Invite:   []id.UserID{user},
		Name:     "Vigil",
		InitialState: []*event.Event{{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		}},
	})
	if err != nil {
		return "", classify("create a direct room", err)
	}
	if err := a.rememberDM(ctx, user, string(resp.RoomID)); err != nil {
		// The room exists; without the record the next DM opens another.
		a.log.Warn("could not record a direct room", "room", resp.RoomID, "err", err)
	}
	return string(resp.RoomID), nil
}

func (a *Adapter) rememberDM(ctx context.Context, user id.UserID, room string) error {
	a.mu.Lock()
	a.dms[user] = room
	a.dmRooms[room] = user
	a.mu.Unlock()
	if _, err := a.engine.Store().Put(ctx, dmCollection, string(user), []byte(room), store.AnyVersion); err != nil {
		return fmt.Errorf("store the direct room: %w", err)
	}
	return nil
}

// loadDMs reads the direct rooms recorded in earlier runs.
func (a *Adapter) loadDMs(ctx context.Context) error {
	users, err := a.engine.Store().List(ctx, dmCollection)
	if err != nil {
		return fmt.Errorf("load direct rooms: %w", err)
	}
	for _, u := range users {
		doc, err := a.engine.Store().Get(ctx, dmCollection, u)
		if err != nil {
			return fmt.Errorf("load direct room of %s: %w", u, err)
		}
		a.mu.Lock()
		a.dms[id.UserID(u)] = string(doc.Data)
		a.dmRooms[string(doc.Data)] = id.UserID(u)
		a.mu.Unlock()
	}
	return nil
}

// isDMRoom reports whether room is sender's direct room with the bot.
func (a *Adapter) isDMRoom(room string, sender id.UserID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dmRooms[room] == sender
}

var (
	boldRE   = regexp.MustCompile(`\*([^*\n]+)\*`)
	italicRE = regexp.MustCompile(`(^|[\s(])_([^_\n]+)_`)
	codeRE   = regexp.MustCompile("`([^`\n]+)`")
	// Links are <url|label> or <url> in the engine's text; after HTML
	// escaping the brackets read &lt; and &gt;.
	linkRE      = regexp.MustCompile(`&lt;(https?://[^|&\s]+)\|([^&]+)&gt;`)
	bareLinkRE  = regexp.MustCompile(`&lt;(https?://[^|&\s]+)&gt;`)
	plainLinkRE = regexp.MustCompile(`<(https?://[^|>\s]+)\|([^>]+)>`)
)

// render turns the engine's message into a plain body and HTML. Buttons
// become numbered choices: "reply with the number or react with its
// keycap". A form's question already lists its numbered options in its
// text, so only the hint is added for those.
//
// Untrusted runs of text (bot.Untrusted) are HTML-escaped and nothing
// else: no link, pill, tag or formatting can come from them; Vigil's own
// runs get the engine's Markdown subset. The plain body shows both as
// text, without the markers.
func render(m bot.Message) (plain, formatted string) {
	var p, h []string
	if m.Header != "" {
		p = append(p, plainText(m.Header))
		h = append(h, "<strong>"+escapeText(m.Header)+"</strong>")
	}
	if m.Text != "" {
		p = append(p, plainText(m.Text))
		h = append(h, htmlText(m.Text))
	}
	for _, f := range m.Fields {
		p = append(p, plainText(f.Label)+": "+plainText(f.Value))
		h = append(h, "<strong>"+escapeText(f.Label)+"</strong>: "+htmlText(f.Value))
	}
	if len(m.Buttons) > 0 {
		listed := true
		for _, b := range m.Buttons {
			if b.Action != bot.ActionFormChoice {
				listed = false
			}
		}
		n := min(len(m.Buttons), len(keycaps))
		if !listed {
			var pl, hl []string
			for i, b := range m.Buttons {
				pl = append(pl, fmt.Sprintf("%d. %s", i+1, plainText(b.Label)))
				hl = append(hl, "<li>"+escapeText(b.Label)+"</li>")
			}
			p = append(p, strings.Join(pl, "\n"))
			h = append(h, "<ol>"+strings.Join(hl, "")+"</ol>")
		}
		hint := fmt.Sprintf("Reply to this message with a number, or react with %s…%s.", keycaps[0], keycaps[n-1])
		if n == 1 {
			hint = fmt.Sprintf("Reply to this message with 1, or react with %s.", keycaps[0])
		}
		p = append(p, hint)
		h = append(h, "<em>"+html.EscapeString(hint)+"</em>")
	}
	if m.Context != "" {
		p = append(p, plainText(m.Context))
		h = append(h, "<sub>"+htmlText(m.Context)+"</sub>")
	}
	plain = strings.Join(p, "\n")
	if m.Fallback != "" {
		plain = plainText(m.Fallback)
	}
	return plain, strings.Join(h, "<br>")
}

// mentions lists the Matrix accounts Vigil means by a message as
// intentional mentions: msg.Mentions and the accounts its own text names
// with tokens (pills). An empty list when there are none says "nobody
// else" too. Tokens in untrusted runs are text and mention nobody.
func mentions(msg bot.Message) *event.Mentions {
	m := &event.Mentions{}
	seen := map[id.UserID]bool{}
	add := func(uid id.UserID) {
		if !seen[uid] {
			seen[uid] = true
			m.UserIDs = append(m.UserIDs, uid)
		}
	}
	for _, u := range msg.Mentions {
		if u.Adapter == bot.AdapterMatrix && u.ID != "" {
			add(id.UserID(u.ID))
		}
	}
	texts := []string{msg.Header, msg.Text, msg.Context, msg.Fallback}
	for _, f := range msg.Fields {
		texts = append(texts, f.Label, f.Value)
	}
	for _, b := range msg.Buttons {
		texts = append(texts, b.Label)
	}
	for _, s := range texts {
		for _, seg := range bot.Segments(s) {
			if seg.Untrusted {
				continue
			}
			bot.ReplaceTokens(seg.Text, func(t bot.Token) string {
				if uid, ok := matrixAccount(t); ok {
					add(uid)
				}
				return ""
			})
		}
	}
	return m
}

// plainText shows Vigil's links as "label (url)", its tokens as the names
// and times they stand for, and untrusted runs as they are; the rest of
// the markup reads fine as it is.
func plainText(s string) string {
	var b strings.Builder
	for _, seg := range bot.Segments(s) {
		if seg.Untrusted {
			b.WriteString(seg.Text)
			continue
		}
		own := bot.ReplaceTokens(seg.Text, tokenText)
		b.WriteString(plainLinkRE.ReplaceAllString(own, "$2 ($1)"))
	}
	return b.String()
}

// tokenText is what a token shows as text: the person's name, the
// account's display name, the time's fallback (the engine has already
// written it in the reader's zone).
func tokenText(t bot.Token) string {
	switch t.Kind {
	case bot.TokenPerson:
		return t.Person
	case bot.TokenAccount:
		if t.Label == "" {
			return t.Account.ID
		}
		return t.Label
	case bot.TokenTime:
		return t.Fallback
	}
	return ""
}

// tokenHTML is a token as HTML: a Matrix account becomes a pill (a
// matrix.to link, which clients draw as the person's name and avatar);
// anything else is its text.
func tokenHTML(t bot.Token) string {
	if uid, ok := matrixAccount(t); ok {
		return `<a href="https://matrix.to/#/` + html.EscapeString(url.PathEscape(string(uid))) + `">` + html.EscapeString(tokenText(t)) + "</a>"
	}
	return html.EscapeString(tokenText(t))
}

// matrixAccount returns the Matrix user a token names, if it names one
// (a well-formed @user:server).
func matrixAccount(t bot.Token) (id.UserID, bool) {
	if t.Kind != bot.TokenAccount || t.Account.Adapter != bot.AdapterMatrix {
		return "", false
	}
	uid := id.UserID(t.Account.ID)
	if _, _, err := uid.Parse(); err != nil {
		return "", false
	}
	return uid, true
}

// htmlText escapes s and renders the engine's Markdown subset and tokens
// in Vigil's own runs; untrusted runs are only escaped.
func htmlText(s string) string { return toHTML(s, true) }

// escapeText HTML-escapes s without Markdown (headers, labels); tokens in
// Vigil's runs are still rendered.
func escapeText(s string) string { return toHTML(s, false) }

// Placeholders stand for untrusted runs and rendered tokens while Vigil's
// Markdown is turned into HTML, so a pattern can wrap an untrusted run
// (*%s* in bold) or a pill but can never look inside one. They are
// private-use runes that no text keeps: they are removed from Vigil's runs
// first.
const (
	holeOpen  = '\uE002'
	holeClose = '\uE003'
)

var holeRE = regexp.MustCompile("\uE002([0-9]+)\uE003")

func toHTML(s string, markdown bool) string {
	var skel strings.Builder
	var holes []string
	hole := func(filled string) string {
		holes = append(holes, filled)
		return fmt.Sprintf("%c%d%c", holeOpen, len(holes)-1, holeClose)
	}
	for _, seg := range bot.Segments(s) {
		if seg.Untrusted {
			skel.WriteString(hole(html.EscapeString(seg.Text)))
			continue
		}
		own := strings.Map(func(r rune) rune {
			if r == holeOpen || r == holeClose {
				return -1
			}
			return r
		}, seg.Text)
		skel.WriteString(bot.ReplaceTokens(own, func(t bot.Token) string { return hole(tokenHTML(t)) }))
	}
	out := html.EscapeString(skel.String())
	if markdown {
		out = codeRE.ReplaceAllString(out, "<code>$1</code>")
		out = linkRE.ReplaceAllString(out, `<a href="$1">$2</a>`)
		out = bareLinkRE.ReplaceAllString(out, `<a href="$1">$1</a>`)
		out = boldRE.ReplaceAllString(out, "<strong>$1</strong>")
		out = italicRE.ReplaceAllString(out, "$1<em>$2</em>")
	}
	if len(holes) > 0 {
		out = holeRE.ReplaceAllStringFunc(out, func(h string) string {
			n, err := strconv.Atoi(h[len(string(holeOpen)) : len(h)-len(string(holeClose))])
			if err != nil || n >= len(holes) {
				return ""
			}
			return holes[n]
		})
	}
	return strings.ReplaceAll(out, "\n", "<br>")
}

// txnID derives a Matrix transaction id from an outbox delivery id: the
// same for every replica and retry, URL-safe and of bounded length
// whatever the id holds.
func txnID(deliveryID string) string {
	sum := sha256.Sum256([]byte(deliveryID))
	return "vigil-" + hex.EncodeToString(sum[:16])
}
