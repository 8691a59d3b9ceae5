package main

import (
	"context"
	"fmt"
	"time"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/config"
)

// incidentLabelColor is GitHub's red, so write-ups stand out in the list.
const incidentLabelColor = "b60205"

// githubIncidents adapts the GitHub adapter's client to what the incident
// feature asks of GitHub.
type githubIncidents struct{ c *githubadapter.Client }

var _ incident.GitHub = githubIncidents{}

func (g githubIncidents) EnsureLabel(ctx context.Context, repo, label string) error {
	desc := "Public write-ups of security incidents"
	return g.c.EnsureLabel(ctx, repo, githubadapter.Label{Name: label, Color: incidentLabelColor, Description: &desc})
}

func (g githubIncidents) CreateIssue(ctx context.Context, repo, title, body string, labels []string) (incident.Issue, error) {
	is, err := g.c.CreateIssue(ctx, repo, githubadapter.IssueCreate{Title: title, Body: body, Labels: labels})
	if err != nil {
		return incident.Issue{}, err
	}
	return incident.Issue{Number: is.Number, URL: is.HTMLURL, NodeID: is.NodeID}, nil
}

func (g githubIncidents) Pin(ctx context.Context, nodeID string) error {
	return g.c.PinIssue(ctx, nodeID)
}

func (g githubIncidents) Unpin(ctx context.Context, nodeID string) error {
	return g.c.UnpinIssue(ctx, nodeID)
}

// registerIncidents adds the incident feature with its configuration and
// GitHub (nil when not configured: publishing then says so).
func registerIncidents(e *bot.Engine, cfg *config.Config, gh *githubadapter.Client) (*incident.Incidents, error) {
	o := incident.Options{
		Repository:       cfg.Incidents.Repository,
		Label:            cfg.Incidents.Label,
		PinReaction:      cfg.Incidents.PinReaction,
		EvidenceReaction: cfg.Incidents.EvidenceReaction,
		PinnedFor:        time.Duration(cfg.Incidents.PinnedFor),
	}
	if gh != nil {
		o.GitHub = githubIncidents{c: gh}
	}
	inc, err := incident.Register(e, o)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return inc, nil
}
