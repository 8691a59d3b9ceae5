package stats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// Options configure the stats feature.
type Options struct {
	// Clocks are the deadlines measured against; zero ones take the
	// features' defaults (48h acknowledgement, 48h notice, 2h publish,
	// the reminders' default cadence).
	Clocks Clocks
	// MonthlySummary posts last month's figures to the private room on
	// the first working day of each month, at SummaryHour in Zone.
	MonthlySummary bool
	SummaryHour    int
	// Zone is the team's time zone: months and days begin there.
	Zone *time.Location
}

// Stats is the feature.
type Stats struct {
	e Engine
	o Options
}

// DefaultClocks are the features' default deadlines.
func DefaultClocks() Clocks {
	return Clocks{
		AckWindow: 48 * time.Hour, MinNotice: 48 * time.Hour, PublishWindow: 2 * time.Hour,
		Cadence: map[string]time.Duration{
			"critical": 7 * 24 * time.Hour, "high": 30 * 24 * time.Hour,
			"medium": 91 * 24 * time.Hour, "low": 182 * 24 * time.Hour,
		},
	}
}

// withDefaults fills the zero clocks from DefaultClocks.
func (c Clocks) withDefaults() Clocks {
	d := DefaultClocks()
	if c.AckWindow <= 0 {
		c.AckWindow = d.AckWindow
	}
	if c.MinNotice <= 0 {
		c.MinNotice = d.MinNotice
	}
	if c.PublishWindow <= 0 {
		c.PublishWindow = d.PublishWindow
	}
	cad := map[string]time.Duration{}
	for k, v := range d.Cadence {
		cad[k] = v
	}
	for k, v := range c.Cadence {
		if v > 0 {
			cad[strings.ToLower(k)] = v
		}
	}
	c.Cadence = cad
	return c
}

// Register adds `/sec stats` and the monthly summary job.
func Register(e Engine, o Options) (*Stats, error) {
	o.Clocks = o.Clocks.withDefaults()
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	if o.SummaryHour < 0 || o.SummaryHour > 23 {
		return nil, errors.New("stats: the summary hour must be from 0 to 23")
	}
	if o.MonthlySummary && o.SummaryHour == 0 {
		o.SummaryHour = 9
	}
	s := &Stats{e: e, o: o}
	if err := e.Register(s.command()); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	e.HandleJob(jobMonthly, s.runMonthly)
	return s, nil
}

// Figures loads the history and computes the figures of p.
func (s *Stats) Figures(ctx context.Context, p Period) (Figures, error) {
	h, err := Load(ctx, s.e.Store())
	if err != nil {
		return Figures{}, err
	}
	if p.Now.IsZero() {
		p.Now = s.e.Clock().Now()
	}
	return Compute(h, p, s.o.Clocks), nil
}

// message is the figures as a chat message with the chart attached.
func (s *Stats) message(f Figures, header string) (bot.Message, error) {
	png, err := ChartPNG(f)
	if err != nil {
		return bot.Message{}, err
	}
	name := fmt.Sprintf("vigil-stats-%s-%s.png", f.Period.From.In(s.o.Zone).Format("2006-01-02"), lastDay(f.Period.Until, s.o.Zone).Format("2006-01-02"))
	return bot.Message{
		Header: header,
		Text:   Summary(f, s.o.Zone, true),
		// Report ids, open vulnerabilities and who did what are for the
		// team: the privacy rule keeps the message in the private room.
		Sensitive: true,
		Files: []bot.File{{Name: name, MIME: "image/png", Data: png,
			Alt: "Median time to acknowledge (hours) and to fix released (days), by month and severity"}},
	}, nil
}

// lastDay is the day before until (an exclusive end) in zone, for labels.
func lastDay(until time.Time, zone *time.Location) time.Time {
	return until.Add(-time.Nanosecond).In(zone)
}
