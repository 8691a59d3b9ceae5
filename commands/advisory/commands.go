package advisory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
)

func (a *Advisories) advisoryCommand() *bot.Command {
	return &bot.Command{
		Name:    "advisory",
		Summary: "GitHub draft advisories for a report: open, CVE, show, sync",
		Roles:   team,
		Sub: []*bot.Command{
			{
				Name: "open", Summary: "Open a draft repository security advisory in each repository",
				Usage: "ID owner/repo [owner/repo...] [--ecosystem E --package P --vulnerable RANGE --patched VERSIONS] [--cwe CWE-79,...] [--private-fork]",
				Help: "Opens a draft advisory per repository with the report's title, description, CVSS vector (or the adjudicated severity), CWE ids, the affected package and version ranges, and the reporter as credit when they want it. " +
					"What the report does not have is asked in a form (or given as flags). --private-fork also creates the temporary private fork for the fix. The maintainers of each repository are told by DM.",
				Examples: []string{
					"advisory open VIG-2026-3 acme/web",
					`advisory open VIG-2026-3 acme/web --ecosystem npm --package acme-web --vulnerable "< 2.4.1" --patched 2.4.1 --cwe CWE-79 --private-fork`,
				},
				Roles: team, MinArgs: 2, MaxArgs: -1,
				Flags: []bot.FlagSpec{
					{Name: "ecosystem", Value: "E", Help: "npm, pip, maven, nuget, go, rubygems, rust, composer, erlang, actions, pub, swift, other"},
					{Name: "package", Value: "NAME", Help: "the vulnerable package"},
					{Name: "vulnerable", Value: "RANGE", Help: `vulnerable versions, e.g. "< 2.4.1"`},
					{Name: "patched", Value: "VERSIONS", Help: "patched versions, e.g. 2.4.1"},
					{Name: "cwe", Value: "CWE-N,...", Help: "CWE ids"},
					{Name: "private-fork", Bool: true, Help: "also create the temporary private fork"},
				},
				Run: a.runOpen,
			},
			{Name: "cve", Summary: "Request a CVE for each of the report's advisories", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: a.runCVERequest},
			{Name: "show", Summary: "The report's advisories with their state and CVE", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: a.runShow},
			{Name: "fork", Summary: "Create the temporary private fork of a report's advisory", Usage: "ID owner/repo", Roles: team, MinArgs: 2, MaxArgs: 2, Run: a.runFork},
			{Name: "sync", Summary: "Pull state changes made on GitHub", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: a.runSync},
		},
	}
}

func (a *Advisories) openForm() *bot.Form {
	return &bot.Form{
		ID:        formOpen,
		Title:     "Draft advisory",
		Intro:     "A few details the report does not have. `cancel` stops without opening anything.",
		Sensitive: true,
		Fields: []bot.FormField{
			{Name: "ecosystem", Label: "Package ecosystem", Kind: bot.FieldChoice, Options: ecosystems},
			{Name: "package", Label: "Package name", Help: "As published, e.g. acme-web or github.com/acme/web."},
			{Name: "vulnerable", Label: "Vulnerable versions", Help: `A range, e.g. "< 2.4.1" or ">= 2.0.0, < 2.4.1".`},
			{Name: "patched", Label: "Patched versions", Optional: true, Help: "e.g. 2.4.1; `-` if there is no fix yet."},
			{Name: "cwe", Label: "CWE ids", Optional: true, Help: "e.g. CWE-79, CWE-89.", Validate: func(s string) error {
				_, err := parseCWEs(s)
				return err
			}},
		},
		Submit: func(ctx context.Context, req *bot.Request) error {
			v, h := req.Form.Values, req.Form.Hidden
			rep, err := a.o.Reports.Get(ctx, h["report"])
			if err != nil {
				return err
			}
			cwes, _ := parseCWEs(v["cwe"])
			pkg := AffectedPackage{Ecosystem: v["ecosystem"], Name: v["package"], VulnerableRange: v["vulnerable"], PatchedVersions: v["patched"]}
			return a.queueCreate(ctx, req, rep, strings.Split(h["repos"], ","), pkg, cwes, h["fork"] == "yes")
		},
	}
}

func parseCWEs(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.ToUpper(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		if !strings.HasPrefix(part, "CWE-") {
			part = "CWE-" + part
		}
		if !cweRE.MatchString(part) {
			return nil, fmt.Errorf("%q is not a CWE id like CWE-79", part)
		}
		out = append(out, part)
	}
	return out, nil
}

func (a *Advisories) runOpen(ctx context.Context, req *bot.Request) error {
	if err := a.needGitHub(); err != nil {
		return err
	}
	rep, err := a.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if rep.State != report.StateAccepted && rep.State != report.StateFixing {
		return bot.Usagef("%s is %s: accept it first (`%s report accept %s`)", rep.ID, rep.State, req.Prefix(), rep.ID)
	}
	if rep.Score == nil && len(rep.Adjudications) == 0 {
		return bot.Usagef("%s has no score yet: `%s report score %s` first (GitHub needs a CVSS vector or a severity)", rep.ID, req.Prefix(), rep.ID)
	}
	var repos []string
	seen := map[string]bool{}
	for _, repo := range req.Args[1:] {
		if !repoRE.MatchString(repo) {
			return bot.Usagef("%q is not owner/repo", repo)
		}
		if seen[strings.ToLower(repo)] {
			return bot.Usagef("%s is named twice", repo)
		}
		seen[strings.ToLower(repo)] = true
		for _, adv := range rep.Advisories {
			if strings.EqualFold(adv.Repo, repo) {
				return bot.Noticef("%s already has advisory %s in %s.", rep.ID, adv.GHSA, repo)
			}
		}
		repos = append(repos, repo)
	}
	f := req.Flags
	cwes, err := parseCWEs(f.Get("cwe"))
	if err != nil {
		return bot.Usagef("--cwe: %v", err)
	}
	given := 0
	for _, k := range []string{"ecosystem", "package", "vulnerable"} {
		if f.Has(k) {
			given++
		}
	}
	if given == 3 {
		if !validEcosystem(f.Get("ecosystem")) {
			return bot.Usagef("--ecosystem %q is not one GitHub knows", f.Get("ecosystem"))
		}
		pkg := AffectedPackage{Ecosystem: f.Get("ecosystem"), Name: f.Get("package"), VulnerableRange: f.Get("vulnerable"), PatchedVersions: f.Get("patched")}
		return a.queueCreate(ctx, req, rep, repos, pkg, cwes, f.Has("private-fork"))
	}
	if given > 0 {
		return bot.Usagef("give all of --ecosystem, --package and --vulnerable, or none (a form then asks)")
	}
	fork := "no"
	if f.Has("private-fork") {
		fork = "yes"
	}
	return req.StartForm(ctx, formOpen, map[string]string{"report": rep.ID, "repos": strings.Join(repos, ","), "fork": fork})
}

func (a *Advisories) runCVERequest(ctx context.Context, req *bot.Request) error {
	if err := a.needGitHub(); err != nil {
		return err
	}
	rep, err := a.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if len(rep.Advisories) == 0 {
		return bot.Usagef("%s has no advisories yet: `%s advisory open %s owner/repo` first", rep.ID, req.Prefix(), rep.ID)
	}
	var asked []string
	for _, adv := range rep.Advisories {
		if adv.CVE != "" || adv.CVERequested {
			continue
		}
		payload, _ := json.Marshal(ghsaPayload{Report: rep.ID, Repo: adv.Repo, GHSA: adv.GHSA, By: req.Actor(), Asked: req.Now().UnixNano(), Prefix: req.Prefix()})
		if err := a.e.Scheduler().Schedule(ctx, bot.Job{ID: "advisory:cve:" + adv.GHSA, Kind: jobCVE, Due: req.Now(), Payload: payload}); err != nil {
			return err
		}
		asked = append(asked, adv.GHSA)
	}
	if len(asked) == 0 {
		return bot.Noticef("Every advisory of %s has a CVE or is waiting for one.", rep.ID)
	}
	return req.Announcef(ctx, "%s is requesting a CVE for %s; the ids will be posted in the report's thread when GitHub assigns them.", req.ActorMention(), strings.Join(asked, ", "))
}

func (a *Advisories) runShow(ctx context.Context, req *bot.Request) error {
	rep, err := a.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if len(rep.Advisories) == 0 {
		return req.Replyf(ctx, "%s has no advisories yet.", rep.ID)
	}
	_, err = req.Reply(ctx, advisoriesMessage(rep))
	return err
}

func advisoriesMessage(rep *report.Report) bot.Message {
	var b strings.Builder
	for _, adv := range rep.Advisories {
		cve := adv.CVE
		switch {
		case cve == "" && adv.CVERequested:
			cve = "CVE requested"
		case cve == "":
			cve = "no CVE"
		}
		fmt.Fprintf(&b, "%s — <%s|%s> [%s] %s", adv.Repo, adv.URL, adv.GHSA, adv.State, cve)
		if adv.Fork != "" {
			fmt.Fprintf(&b, " — fork <%s|%s>", adv.Fork, adv.Fork)
		}
		b.WriteByte('\n')
	}
	sev := rep.EffectiveSeverity()
	if sev == "" {
		sev = "not scored"
	}
	return bot.Message{Header: "Advisories of " + rep.ID, Text: strings.TrimRight(b.String(), "\n"), Context: "Effective severity: " + sev, Sensitive: true}
}

// runSync pulls each advisory's state and CVE from GitHub. It is a direct
// call, since a person asked and waits for the answer; a rate limit is
// reported rather than queued.
func (a *Advisories) runSync(ctx context.Context, req *bot.Request) error {
	if err := a.needGitHub(); err != nil {
		return err
	}
	rep, err := a.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if len(rep.Advisories) == 0 {
		return req.Replyf(ctx, "%s has no advisories yet.", rep.ID)
	}
	var changes []string
	fresh := map[string]Status{}
	for _, adv := range rep.Advisories {
		st, err := a.o.GitHub.Advisory(ctx, adv.Repo, adv.GHSA)
		if err != nil {
			return fmt.Errorf("read %s from GitHub: %w", adv.GHSA, err)
		}
		fresh[adv.GHSA] = st
		if st.State != adv.State {
			changes = append(changes, fmt.Sprintf("%s: %s → %s", adv.GHSA, orDash(adv.State), st.State))
		}
		if st.CVE != "" && st.CVE != adv.CVE {
			changes = append(changes, fmt.Sprintf("%s: %s assigned", adv.GHSA, st.CVE))
		}
	}
	rep, err = a.o.Reports.Update(ctx, rep.ID, func(r *report.Report) error {
		for i := range r.Advisories {
			if st, ok := fresh[r.Advisories[i].GHSA]; ok {
				r.Advisories[i].State = st.State
				if st.CVE != "" {
					r.Advisories[i].CVE, r.Advisories[i].CVERequested = st.CVE, false
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return req.Replyf(ctx, "%s: the advisories are as Vigil had them.", rep.ID)
	}
	sort.Strings(changes)
	if err := req.Record(ctx, "advisory.sync", rep.ID, strings.Join(changes, "; ")); err != nil {
		return err
	}
	msg := advisoriesMessage(rep)
	msg.Text = "Changed on GitHub: " + strings.Join(changes, "; ") + "\n" + msg.Text
	_, err = req.Reply(ctx, msg)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- severity adjudication ----

var levels = []string{"critical", "high", "medium", "low", "none"}

func (a *Advisories) severityCommand() *bot.Command {
	return &bot.Command{
		Name:    "severity",
		Summary: "A maintainer sets a different severity for a report, with the reason",
		Usage:   `ID LEVEL --reason "..."`,
		Help: "For maintainers of an affected repository (and admins). LEVEL is critical, high, medium, low or none. " +
			"The team's score and your adjudication are both kept and shown; the effective severity, which drives reminders, becomes yours. The team is told in the report's thread.",
		Examples: []string{`severity VIG-2026-3 medium --reason "needs an admin account to exploit"`},
		Roles:    []bot.Role{bot.RoleMaintainer, bot.RoleAdmin},
		// Maintainers are not in the private room; they answer by DM.
		Where:   bot.Anywhere,
		MinArgs: 2, MaxArgs: 2,
		Flags: []bot.FlagSpec{{Name: "reason", Value: "TEXT", Help: "why (kept with the adjudication)"}},
		Run:   a.runSeverity,
	}
}

func (a *Advisories) runSeverity(ctx context.Context, req *bot.Request) error {
	level := strings.ToLower(req.Args[1])
	valid := false
	for _, l := range levels {
		valid = valid || l == level
	}
	if !valid {
		return bot.Usagef("LEVEL must be one of %s, not %q", strings.Join(levels, ", "), req.Args[1])
	}
	reason := strings.TrimSpace(req.Flags.Get("reason"))
	if reason == "" {
		return bot.Usagef("--reason is required: the team sees why")
	}
	rep, err := a.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if !req.Person.Has(bot.RoleAdmin) && !maintainsAny(req.Person, rep.Affected()) {
		return fmt.Errorf("%w: only maintainers of an affected repository (%s) may set its severity", bot.ErrForbidden, strings.Join(rep.Affected(), ", "))
	}
	label := strings.ToUpper(level[:1]) + level[1:]
	adj := report.Adjudication{Severity: label, Reason: reason, By: req.Actor(), At: req.Now()}
	rep, err = a.o.Reports.Update(ctx, rep.ID, func(r *report.Report) error {
		r.Adjudications = append(r.Adjudications, adj)
		return nil
	})
	if err != nil {
		return err
	}
	team := "no team score"
	if rep.Score != nil {
		team = fmt.Sprintf("team score %.1f %s", rep.Score.Value, rep.Score.Severity)
	}
	if err := req.Record(ctx, "report.severity.adjudicate", rep.ID, fmt.Sprintf("%s (%s): %s", label, team, reason)); err != nil {
		return err
	}
	note := bot.Message{
		Text: fmt.Sprintf("⚖ %s, maintainer, adjudicated the severity of %s as *%s* (%s): %s\nThe effective severity is now %s. The team may comment in this thread.",
			req.ActorMention(), rep.ID, label, team, reason, label),
		Sensitive: true,
	}
	if err := a.o.Reports.Post(ctx, rep, fmt.Sprintf("severity:%d", req.Now().UnixNano()), note); err != nil {
		return err
	}
	// The answer names no report detail: maintainers may be in a DM.
	return req.Replyf(ctx, "Recorded: %s is %s by your adjudication; the security team has been told.", rep.ID, label)
}

func maintainsAny(p *bot.Person, repos []string) bool {
	if p == nil {
		return false
	}
	for _, m := range p.Maintains {
		for _, r := range repos {
			if strings.EqualFold(m, r) {
				return true
			}
		}
	}
	return false
}

// ---- affected repositories ----

func (a *Advisories) affectedCommand() *bot.Command {
	return &bot.Command{
		Name:    "affected",
		Summary: "Which of the organisation's repositories depend on a package (from their SBOMs)",
		Usage:   "PACKAGE",
		Help: "PACKAGE is a package URL (pkg:npm/lodash, version optional) or a package name. Reads each repository's dependency graph (SBOM) in the configured organisations. " +
			"This is the \"identify affected repositories\" step of triage.",
		Examples: []string{"affected pkg:npm/lodash", "affected log4j-core"},
		Roles:    team, MinArgs: 1, MaxArgs: 1,
		Run: a.runAffected,
	}
}

func (a *Advisories) runAffected(ctx context.Context, req *bot.Request) error {
	if err := a.needGitHub(); err != nil {
		return err
	}
	if len(a.o.Organizations) == 0 {
		return bot.Noticef("No organisations are configured (github.organizations), so there is nothing to search.")
	}
	want := req.Args[0]
	var repos []string
	for _, org := range a.o.Organizations {
		rs, err := a.o.GitHub.OrgRepos(ctx, org)
		if err != nil {
			return fmt.Errorf("list the repositories of %s: %w", org, err)
		}
		repos = append(repos, rs...)
	}
	const maxRepos = 500
	if len(repos) > maxRepos {
		repos = repos[:maxRepos]
	}
	var hits []string
	var skipped []string
	for _, repo := range repos {
		pkgs, err := a.o.GitHub.SBOM(ctx, repo)
		if err != nil {
			skipped = append(skipped, repo)
			continue
		}
		var versions []string
		for _, p := range pkgs {
			if matches(want, p) {
				v := p.Version
				if v == "" {
					v = "?"
				}
				versions = append(versions, v)
			}
		}
		if len(versions) > 0 {
			sort.Strings(versions)
			hits = append(hits, fmt.Sprintf("%s (%s)", repo, strings.Join(dedupe(versions), ", ")))
		}
	}
	msg := bot.Message{Header: "Repositories depending on " + want}
	if len(hits) == 0 {
		msg.Text = fmt.Sprintf("None of the %d repositories checked depends on %s.", len(repos)-len(skipped), want)
	} else {
		msg.Text = strings.Join(hits, "\n")
	}
	msg.Context = fmt.Sprintf("%d repositories checked in %s.", len(repos)-len(skipped), strings.Join(a.o.Organizations, ", "))
	if len(skipped) > 0 {
		msg.Context += fmt.Sprintf(" No dependency graph for %d: %s.", len(skipped), strings.Join(skipped, ", "))
	}
	_, err := req.Reply(ctx, msg)
	return err
}

// matches compares a wanted package (a purl with or without version, or a
// bare name) with an SBOM entry.
func matches(want string, p Package) bool {
	if strings.HasPrefix(want, "pkg:") {
		base, _, _ := strings.Cut(want, "@")
		have, _, _ := strings.Cut(p.PURL, "@")
		if !strings.EqualFold(base, have) {
			return false
		}
		if _, v, ok := strings.Cut(want, "@"); ok {
			_, hv, _ := strings.Cut(p.PURL, "@")
			return v == hv || v == p.Version
		}
		return true
	}
	if strings.EqualFold(p.Name, want) {
		return true
	}
	// A purl's last path element is the package name (pkg:maven/org.apache.logging.log4j/log4j-core).
	base, _, _ := strings.Cut(p.PURL, "@")
	if i := strings.LastIndex(base, "/"); i >= 0 && strings.EqualFold(base[i+1:], want) {
		return true
	}
	return false
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (a *Advisories) runFork(ctx context.Context, req *bot.Request) error {
	if err := a.needGitHub(); err != nil {
		return err
	}
	rep, err := a.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	for _, adv := range rep.Advisories {
		if !strings.EqualFold(adv.Repo, req.Args[1]) {
			continue
		}
		if adv.Fork != "" {
			return bot.Noticef("%s already has its private fork: %s", adv.GHSA, adv.Fork)
		}
		payload, _ := json.Marshal(ghsaPayload{Report: rep.ID, Repo: adv.Repo, GHSA: adv.GHSA, By: req.Actor(), Asked: req.Now().UnixNano(), Prefix: req.Prefix()})
		if err := a.e.Scheduler().Schedule(ctx, bot.Job{ID: "advisory:fork:" + adv.GHSA, Kind: jobFork, Due: req.Now(), Payload: payload}); err != nil {
			return err
		}
		return req.Announcef(ctx, "%s is creating the private fork for %s; the link will appear in the report's thread.", req.ActorMention(), adv.GHSA)
	}
	return bot.Usagef("%s has no advisory in %s", rep.ID, req.Args[1])
}
