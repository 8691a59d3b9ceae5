package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// FieldKind is the kind of input a form field takes.
type FieldKind int

const (
	// FieldText is one line of free text.
	FieldText FieldKind = iota
	// FieldLongText is free text that may span lines (a description).
	FieldLongText
	// FieldChoice picks one of Options.
	FieldChoice
)

// Option is one choice of a FieldChoice.
type Option struct {
	Value string
	Label string
	// Help explains the choice (CVSS: what "Network" means).
	Help string
}

// FormField is one question.
type FormField struct {
	Name  string
	Label string
	Help  string
	Kind  FieldKind
	// Options for FieldChoice.
	Options  []Option
	Optional bool
	// Validate checks (and may reject) a text answer; its message is shown
	// to the person, next to the field on adapters with modals.
	Validate func(string) error
}

// FormValues are answers by field name.
type FormValues map[string]string

// Form is a dialog declared once. Adapters with modals (Slack) show it as a
// modal; for the others the engine asks one question at a time in the
// thread. Submit sees one submission either way, in req.Form.
type Form struct {
	ID     string
	Title  string
	Intro  string
	Fields []FormField
	// Sensitive forms (a new report) keep their questions and answers to
	// private places.
	Sensitive bool
	// Progress, if set, is shown with each question: e.g. the CVSS vector
	// as it grows.
	Progress func(FormValues) string
	Submit   func(ctx context.Context, req *Request) error
}

// FormResult is what Submit receives.
type FormResult struct {
	FormID string
	// SessionID names this one filling of the form: unique, and the same
	// if the submission is handled twice, so it is a dedupe key for what
	// Submit files.
	SessionID string
	Values    FormValues
	// Hidden carries context the command passed to StartForm (the report
	// id being scored), not shown to the person.
	Hidden map[string]string
}

// FormSession is a form in progress; it is stored, so a restart does not
// lose a half-filled dialog.
type FormSession struct {
	ID      string            `json:"id"`
	FormID  string            `json:"form"`
	User    UserRef           `json:"user"`
	To      Destination       `json:"to"`
	Step    int               `json:"step"`
	Values  FormValues        `json:"values"`
	Hidden  map[string]string `json:"hidden,omitempty"`
	Started time.Time         `json:"started"`
	// Nonce tells one filling from the next: the session id is the same
	// for every form a person fills in one conversation.
	Nonce string `json:"nonce,omitempty"`
	// Prompt is the message of the current question, edited to show
	// its answer once answered.
	Prompt MessageRef `json:"prompt,omitzero"`
}

// filing names one filling of a form (see FormResult.SessionID).
func (s FormSession) filing() string {
	if s.Nonce == "" { // a session stored before nonces existed
		return s.ID + "#" + strconv.FormatInt(s.Started.UnixNano(), 10)
	}
	return s.ID + "#" + s.Nonce
}

const formCollection = "formsessions"

// ActionFormChoice is the button action of a choice in a step-by-step form.
const ActionFormChoice = "form.choice"

type formRunner struct {
	engine *Engine
	forms  map[string]*Form
}

func (fr *formRunner) register(f *Form) error {
	if f.ID == "" || len(f.Fields) == 0 || f.Submit == nil {
		return fmt.Errorf("form %q: needs an id, fields and Submit", f.ID)
	}
	if _, dup := fr.forms[f.ID]; dup {
		return fmt.Errorf("form %q is registered twice", f.ID)
	}
	for _, fld := range f.Fields {
		if fld.Kind == FieldChoice && len(fld.Options) == 0 {
			return fmt.Errorf("form %q: choice field %q has no options", f.ID, fld.Name)
		}
	}
	fr.forms[f.ID] = f
	return nil
}

// sessionKey: one form at a time per person per conversation.
func sessionKey(req *Request) string {
	if req.Event.DM {
		return "dm|" + req.Event.User.String()
	}
	return "room|" + req.Event.Room.String() + "|" + req.Event.Thread.ID + "|" + req.Event.User.String()
}

// StartForm opens a registered form for the person who made the request:
// as a modal where the adapter has them, otherwise step by step here.
func (r *Request) StartForm(ctx context.Context, formID string, hidden map[string]string) error {
	return r.engine.forms.start(ctx, r, formID, hidden)
}

func (fr *formRunner) start(ctx context.Context, req *Request, formID string, hidden map[string]string) error {
	// Its questions are for the asker; where they land in a thread of
	// their own (Matrix), the answers come from that thread.
	req = req.inAskerThread()
	f, ok := fr.forms[formID]
	if !ok {
		return fmt.Errorf("form %q is not registered", formID)
	}
	if f.Sensitive && !req.Private {
		return fmt.Errorf("%w: this form works only in the private security room", ErrForbidden)
	}
	s := FormSession{
		ID:      sessionKey(req),
		FormID:  formID,
		User:    req.Event.User,
		To:      req.to,
		Values:  FormValues{},
		Hidden:  hidden,
		Started: fr.engine.clock.Now(),
		Nonce:   randomID(8),
	}
	if a, ok := fr.engine.adapter(req.Event.User.Adapter); ok && req.Event.Trigger != "" {
		if p, ok := a.(FormPresenter); ok {
			s.ID = "modal|" + randomID(8)
			if _, err := fr.save(ctx, s, store.NewDoc); err != nil {
				return err
			}
			return p.PresentForm(ctx, req.Event, s, f)
		}
	}
	version, err := fr.save(ctx, s, store.AnyVersion)
	if err != nil {
		return err
	}
	if f.Intro != "" {
		if _, err := req.Reply(ctx, Message{Text: f.Intro, Sensitive: f.Sensitive}); err != nil {
			return err
		}
	}
	return fr.ask(ctx, req, f, s, version, "")
}

func (fr *formRunner) save(ctx context.Context, s FormSession, expect int64) (int64, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("form session: %w", err)
	}
	v, err := fr.engine.store.Put(ctx, formCollection, s.ID, data, expect)
	if err != nil {
		return 0, fmt.Errorf("form session %s: %w", s.FormID, err)
	}
	return v, nil
}

func (fr *formRunner) load(ctx context.Context, id string) (FormSession, int64, error) {
	s, version, err := store.GetJSON[FormSession](ctx, fr.engine.store, formCollection, id)
	if err != nil {
		return FormSession{}, 0, err
	}
	return *s, version, nil
}

// ask shows the current question of s, stored at version, and records
// which message shows it.
func (fr *formRunner) ask(ctx context.Context, req *Request, f *Form, s FormSession, version int64, problem string) error {
	fld := f.Fields[s.Step]
	var b strings.Builder
	if problem != "" {
		fmt.Fprintf(&b, "⚠ %s\n", problem)
	}
	fmt.Fprintf(&b, "*%s*", fld.Label)
	if fld.Help != "" {
		fmt.Fprintf(&b, "\n%s", fld.Help)
	}
	var buttons []Button
	for i, o := range fld.Options {
		fmt.Fprintf(&b, "\n%d. %s", i+1, o.Label)
		if o.Help != "" {
			fmt.Fprintf(&b, " — %s", o.Help)
		}
		buttons = append(buttons, Button{Label: o.Label, Action: ActionFormChoice, Value: o.Value})
	}
	hint := "Reply with your answer"
	if fld.Kind == FieldChoice {
		hint = "Reply with a number or a name"
	}
	if fld.Optional {
		hint += ", `-` to skip"
	}
	fmt.Fprintf(&b, "\n_%s, or `cancel` to stop._", hint)
	msg := Message{
		Header:    fmt.Sprintf("%s (%d/%d)", f.Title, s.Step+1, len(f.Fields)),
		Text:      b.String(),
		Buttons:   buttons,
		Sensitive: f.Sensitive,
	}
	if f.Progress != nil {
		msg.Context = f.Progress(s.Values)
	}
	ref, err := req.Reply(ctx, msg)
	if err != nil || ref.IsZero() || ref == s.Prompt {
		return err
	}
	s.Prompt = ref
	if _, err := fr.save(ctx, s, version); err != nil {
		// Another answer moved the session on meanwhile; it keeps its
		// own record.
		fr.engine.log.Debug("could not record the message of a form question", "form", s.FormID, "err", err)
	}
	return nil
}

// answer takes an ordinary message as the answer to a running form. It
// reports whether there was a form waiting for this person here.
func (fr *formRunner) answer(ctx context.Context, req *Request) (bool, error) {
	s, version, err := fr.load(ctx, sessionKey(req))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return true, fr.step(ctx, req, s, version, strings.TrimSpace(req.Event.Text))
}

// button handles a pressed choice of a step-by-step form.
func (fr *formRunner) button(ctx context.Context, req *Request) (bool, error) {
	if req.Event.Action != ActionFormChoice {
		return false, nil
	}
	s, version, err := fr.load(ctx, sessionKey(req))
	if errors.Is(err, store.ErrNotFound) {
		return true, Noticef("There is no form waiting for your answer here.")
	}
	if err != nil {
		return true, err
	}
	return true, fr.step(ctx, req, s, version, req.Event.Value)
}

// showAnswered edits the question just answered (the message of the
// pressed choice, or the question's message as recorded when it was
// asked) to show the answer without buttons, so an old choice is not
// pressed by mistake. The answer stands if the edit fails.
func (fr *formRunner) showAnswered(ctx context.Context, req *Request, f *Form, s FormSession, fld FormField, value string) {
	ref := s.Prompt
	if req.Event.Kind == EventButton && !req.Event.Message.IsZero() {
		ref = req.Event.Message
	}
	if ref.IsZero() {
		return
	}
	if ref.Room.IsZero() && !s.To.IsDM() {
		ref.Room = s.To.Room
	}
	shown := "(skipped)"
	switch {
	case fld.Kind == FieldChoice:
		for _, o := range fld.Options {
			if o.Value == value {
				shown = o.Label
			}
		}
	case value != "":
		shown = Untrusted(value).Truncate(200).String()
	}
	msg := Message{
		Header:    fmt.Sprintf("%s (%d/%d)", f.Title, s.Step+1, len(f.Fields)),
		Text:      fmt.Sprintf("*%s*\n✓ %s", fld.Label, shown),
		Sensitive: f.Sensitive,
	}
	if err := fr.engine.edit(ctx, s.To, ref, msg); err != nil {
		fr.engine.log.Warn("could not edit an answered form question", "form", s.FormID, "err", err)
	}
}

func (fr *formRunner) step(ctx context.Context, req *Request, s FormSession, version int64, text string) error {
	f, ok := fr.forms[s.FormID]
	if !ok || s.Step >= len(f.Fields) {
		_ = fr.engine.store.Delete(ctx, formCollection, s.ID, store.AnyVersion)
		return Noticef("That form is no longer available; start it again.")
	}
	if strings.EqualFold(text, "cancel") {
		if err := fr.engine.store.Delete(ctx, formCollection, s.ID, version); err != nil {
			return fmt.Errorf("cancel form: %w", err)
		}
		return req.Replyf(ctx, "%s cancelled; nothing was saved.", f.Title)
	}
	fld := f.Fields[s.Step]
	value, problem := resolveAnswer(fld, text)
	if problem != "" {
		return fr.ask(ctx, req, f, s, version, problem)
	}
	answered := s
	s.Values[fld.Name] = value
	s.Step++
	s.Prompt = MessageRef{}
	if s.Step < len(f.Fields) {
		next, err := fr.save(ctx, s, version)
		if err != nil {
			return err
		}
		fr.showAnswered(ctx, req, f, answered, fld, value)
		return fr.ask(ctx, req, f, s, next, "")
	}
	// Last answer: remove the session first (compare-and-swap), so a double
	// submit from two devices runs Submit once.
	if err := fr.engine.store.Delete(ctx, formCollection, s.ID, version); err != nil {
		return fmt.Errorf("finish form: %w", err)
	}
	fr.showAnswered(ctx, req, f, answered, fld, value)
	req.Form = &FormResult{FormID: f.ID, SessionID: s.filing(), Values: s.Values, Hidden: s.Hidden}
	return f.Submit(ctx, req)
}

// resolveAnswer checks one answer and returns the stored value, or a
// problem to show with the question again.
func resolveAnswer(fld FormField, text string) (string, string) {
	if text == "" || text == "-" || strings.EqualFold(text, "skip") {
		if fld.Optional {
			return "", ""
		}
		return "", fld.Label + " is required."
	}
	if fld.Kind == FieldChoice {
		v, ok := matchOption(fld.Options, text)
		if !ok {
			return "", fmt.Sprintf("%q is not one of the choices.", Untrusted(text))
		}
		return v, ""
	}
	if fld.Kind == FieldText && strings.ContainsRune(text, '\n') {
		return "", fld.Label + " must be one line."
	}
	if fld.Validate != nil {
		if err := fld.Validate(text); err != nil {
			return "", capitalize(err.Error())
		}
	}
	return text, ""
}

// matchOption accepts a 1-based number, a value or label (any case), or a
// unique prefix of a label.
func matchOption(opts []Option, text string) (string, bool) {
	if n, err := strconv.Atoi(text); err == nil {
		if n >= 1 && n <= len(opts) {
			return opts[n-1].Value, true
		}
		return "", false
	}
	for _, o := range opts {
		if strings.EqualFold(o.Value, text) || strings.EqualFold(o.Label, text) {
			return o.Value, true
		}
	}
	match := ""
	for _, o := range opts {
		if strings.HasPrefix(strings.ToLower(o.Label), strings.ToLower(text)) {
			if match != "" {
				return "", false
			}
			match = o.Value
		}
	}
	return match, match != ""
}

// SubmitForm is called by adapters with modals when a person submits the
// dialog. It validates every field; problems come back by field name for
// the adapter to show inline (nothing is submitted then).
func (e *Engine) SubmitForm(ctx context.Context, ev Event, sessionID string, values FormValues) (map[string]string, error) {
	s, version, err := e.forms.load(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Noticef("That form has expired; start it again.")
	}
	if err != nil {
		return nil, err
	}
	if s.User != ev.User {
		return nil, fmt.Errorf("%w: this form belongs to someone else", ErrForbidden)
	}
	f, ok := e.forms.forms[s.FormID]
	if !ok {
		return nil, Noticef("That form is no longer available; start it again.")
	}
	clean := FormValues{}
	problems := map[string]string{}
	for _, fld := range f.Fields {
		v, problem := resolveAnswer(fld, strings.TrimSpace(StripSentinels(values[fld.Name])))
		if problem != "" {
			problems[fld.Name] = problem
			continue
		}
		clean[fld.Name] = v
	}
	if len(problems) > 0 {
		// Inline problems are plain text on every platform that shows
		// them (Slack modal errors), so they carry no markers.
		for k, p := range problems {
			problems[k] = StripSentinels(p)
		}
		return problems, nil
	}
	if err := e.store.Delete(ctx, formCollection, s.ID, version); err != nil {
		return nil, fmt.Errorf("finish form: %w", err)
	}
	person, _ := e.directory.ByChat(ev.User)
	req := &Request{Event: ev, Person: person, engine: e, to: s.To,
		Form: &FormResult{FormID: f.ID, SessionID: s.filing(), Values: clean, Hidden: s.Hidden}}
	req.Private = e.IsPrivate(s.To.Room) || (s.To.IsDM() && person.OnTeam())
	if err := f.Submit(ctx, req); err != nil {
		e.answerError(ctx, req, err)
	}
	e.wakeUp()
	return nil, nil
}

// Forms returns a registered form, for adapters that render it.
func (e *Engine) Forms(id string) (*Form, bool) {
	f, ok := e.forms.forms[id]
	return f, ok
}
