// Package cvss scores CVSS 3.1 and 4.0 base vectors: a pasted vector with
// "/sec cvss VECTOR", or one worked out question by question in a dialog
// ("/sec cvss", "/sec cvss --v4"). Scores come from
// github.com/pandatix/go-cvss; this package validates vectors first so that
// every error names the bad metric or value, and explains each metric in
// the specification's words.
//
// The report feature scores a report through the same dialogs: it starts
// Form31 or Form40 with Hidden {"report": ID}, and on submit this package
// calls Options.OnScored so the score is stored on the report.
package cvss

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/bot"
)

// Form ids of the two scoring dialogs, for bot.Request.StartForm.
const (
	Form31 = "cvss.3.1"
	Form40 = "cvss.4.0"
)

// HiddenReport is the key of the report id in a dialog's Hidden values:
// req.StartForm(ctx, cvss.Form31, map[string]string{cvss.HiddenReport: id}).
const HiddenReport = "report"

// Options configure the feature.
type Options struct {
	// OnScored is called when a dialog that was started with Hidden
	// {"report": ID} is submitted, before anything is replied. It stores
	// the score on the report (req.Actor() is who scored it). If it returns
	// an error, the person gets the engine's usual answer for that error
	// (a bot.Noticef text as it is, "store unavailable, nothing was
	// changed", ...) and no score is shown; otherwise the person gets the
	// result, headed with the report id and marked sensitive. OnScored
	// need not reply itself; it may post to the report's thread.
	//
	// Without OnScored, a dialog started with a report id fails with an
	// error (logged) instead of showing a score that was not stored.
	OnScored func(ctx context.Context, req *bot.Request, reportID string, r Result) error
}

// CVSS is the scoring feature.
type CVSS struct {
	o Options
}

// Register adds the "cvss" command and the two dialogs. It does no I/O.
func Register(e Engine, o Options) (*CVSS, error) {
	c := &CVSS{o: o}
	for _, f := range []*bot.Form{c.form(&v31, Form31), c.form(&v40, Form40)} {
		if err := e.RegisterForm(f); err != nil {
			return nil, fmt.Errorf("cvss: %w", err)
		}
	}
	if err := e.Register(c.command()); err != nil {
		return nil, fmt.Errorf("cvss: %w", err)
	}
	return c, nil
}

func (c *CVSS) command() *bot.Command {
	return &bot.Command{
		Name:    "cvss",
		Summary: "Score a CVSS 3.1 or 4.0 vector, or work one out question by question",
		Usage:   "[VECTOR] [--v4]",
		Help: "Without a vector, opens a dialog with one question per base metric (CVSS 3.1, or 4.0 with `--v4`) " +
			"and shows the vector as it grows. With a vector, scores it: the `CVSS:3.1/` or `CVSS:4.0/` prefix may be left out " +
			"(a vector with 4.0-only metrics such as AT or VC is read as 4.0, or use `--v4`). " +
			"The answer has the base score, the severity, each metric explained and a link to FIRST's calculator. " +
			"Scoring reveals no report details, so it works in any room and in DMs; to store a score on a report use `report score`.",
		Examples: []string{
			"cvss",
			"cvss --v4",
			"cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
			"cvss AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		},
		// A vector or a dialog's answers say nothing about any report: the
		// person chose to write them where they are. Report scoring goes
		// through the report feature, which keeps to the private room.
		Where:   bot.Anywhere,
		Flags:   []bot.FlagSpec{{Name: "v4", Bool: true, Help: "the CVSS 4.0 dialog; a VECTOR without prefix is read as 4.0"}},
		MaxArgs: 1,
		Run:     c.run,
	}
}

func (c *CVSS) run(ctx context.Context, req *bot.Request) error {
	// Roles cannot say "anyone in the directory" (no roles means strangers
	// too), so the check is here.
	if req.Person == nil {
		return fmt.Errorf("%w: you are not in Vigil's people directory; ask an admin to add you", bot.ErrForbidden)
	}
	v4 := req.Flags.Has("v4")
	if len(req.Args) == 0 {
		if v4 {
			return req.StartForm(ctx, Form40, nil)
		}
		return req.StartForm(ctx, Form31, nil)
	}
	// Chat clients wrap pasted code in backticks.
	vector := strings.Trim(strings.TrimSpace(req.Args[0]), "`")
	var assume *versionDef
	if v4 {
		if p := strings.ToUpper(vector); strings.HasPrefix(p, "CVSS:") && !strings.HasPrefix(p, v40.Prefix+"/") {
			return bot.Usagef("--v4 is for CVSS 4.0 vectors, but this one starts with %s", strings.SplitN(vector, "/", 2)[0])
		}
		assume = &v40
	}
	r, err := score(vector, assume)
	if err != nil {
		var ve *VectorError
		if errors.As(err, &ve) {
			return bot.Usagef("not a valid CVSS vector: %s", ve.Error())
		}
		return fmt.Errorf("cvss: scoring %q: %w", vector, err)
	}
	_, err = req.Reply(ctx, r.Message())
	return err
}

// form declares the dialog of one version: one choice per base metric.
func (c *CVSS) form(v *versionDef, id string) *bot.Form {
	f := &bot.Form{
		ID:    id,
		Title: "CVSS " + v.Name + " score",
		Progress: func(vals bot.FormValues) string {
			vec := canonical(v, vals)
			if len(vals) < len(v.Base) {
				vec += "/…"
			}
			return "Vector so far: `" + vec + "`"
		},
		Submit: c.submit(v),
	}
	for _, m := range v.Base {
		fld := bot.FormField{Name: m.Key, Label: m.Name + " (" + m.Key + ")", Help: m.Help, Kind: bot.FieldChoice}
		for _, val := range m.Values {
			fld.Options = append(fld.Options, bot.Option{Value: val.Code, Label: val.Name, Help: val.Help})
		}
		f.Fields = append(f.Fields, fld)
	}
	return f
}

func (c *CVSS) submit(v *versionDef) func(context.Context, *bot.Request) error {
	return func(ctx context.Context, req *bot.Request) error {
		// The engine has checked every answer against the options, so the
		// vector is complete and valid; an error here is a bug.
		r, err := scoreValues(v, req.Form.Values)
		if err != nil {
			return fmt.Errorf("cvss: scoring the answers of %s: %w", req.Form.FormID, err)
		}
		msg := r.Message()
		if id := req.Form.Hidden[HiddenReport]; id != "" {
			if c.o.OnScored == nil {
				return fmt.Errorf("cvss: the dialog for report %s finished, but no OnScored hook is registered to store the score", id)
			}
			if err := c.o.OnScored(ctx, req, id, r); err != nil {
				return fmt.Errorf("cvss: storing the score of %s: %w", id, err)
			}
			msg.Header = id + " — " + msg.Header
			msg.Context = fmt.Sprintf("Stored on %s, scored by @%s.", id, req.Actor())
			// Tied to a report, the score is report detail.
			msg.Sensitive = true
		}
		_, err = req.Reply(ctx, msg)
		return err
	}
}

// Message renders a result for chat: score and severity, the vector, one
// line per metric and the calculator link. The report feature may use it
// to show a score the same way.
func (r Result) Message() bot.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`\n", r.Vector)
	for _, m := range r.Metrics {
		b.WriteString(m.Explain() + "\n")
	}
	fmt.Fprintf(&b, "<%s|Open in FIRST's CVSS %s calculator>", r.CalculatorURL, r.Version)
	return bot.Message{
		Header: fmt.Sprintf("CVSS %s: %.1f %s", r.Version, r.Score, r.Severity),
		Text:   b.String(),
	}
}
