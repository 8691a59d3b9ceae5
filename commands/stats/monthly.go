package stats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

const (
	jobMonthly = "stats.monthly"
	// monthlyID is the one monthly job: scheduling it again moves it, so
	// replicas and restarts never make two.
	monthlyID = "stats:monthly"
)

// Start schedules the monthly summary when it is on and not scheduled
// yet (the job reschedules itself each month), and cancels it when it was
// turned off. Every replica may call it at start.
func (s *Stats) Start(ctx context.Context) error {
	sch := s.e.Scheduler()
	if !s.o.MonthlySummary {
		if err := sch.Cancel(ctx, monthlyID); err != nil {
			return fmt.Errorf("stats: cancel the monthly summary: %w", err)
		}
		return nil
	}
	if _, err := sch.Get(ctx, monthlyID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("stats: the monthly summary job: %w", err)
	}
	return s.scheduleMonthly(ctx, s.e.Clock().Now())
}

func (s *Stats) scheduleMonthly(ctx context.Context, after time.Time) error {
	due := s.nextSummary(after)
	if err := s.e.Scheduler().Schedule(ctx, bot.Job{ID: monthlyID, Kind: jobMonthly, Due: due}); err != nil {
		return fmt.Errorf("stats: schedule the monthly summary: %w", err)
	}
	return nil
}

// nextSummary is the first working day (Monday to Friday) of a month at
// SummaryHour in the team's zone, strictly after t.
func (s *Stats) nextSummary(t time.Time) time.Time {
	lt := t.In(s.o.Zone)
	for m := 0; ; m++ {
		d := firstWorkingDay(lt.Year(), lt.Month()+time.Month(m), s.o.Zone)
		at := time.Date(d.Year(), d.Month(), d.Day(), s.o.SummaryHour, 0, 0, 0, s.o.Zone)
		if at.After(t) {
			return at
		}
	}
}

func firstWorkingDay(year int, month time.Month, zone *time.Location) time.Time {
	d := time.Date(year, month, 1, 12, 0, 0, 0, zone)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// runMonthly posts the previous month's figures and schedules next month.
// The outbox id names the month, so a job that runs twice (a replica dying
// mid-job) posts once.
func (s *Stats) runMonthly(ctx context.Context, job bot.Job) error {
	if !s.o.MonthlySummary {
		return nil // turned off since it was scheduled: it ends here
	}
	lt := job.Due.In(s.o.Zone)
	until := time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, s.o.Zone)
	from := until.AddDate(0, -1, 0)
	f, err := s.Figures(ctx, Period{From: from.UTC(), Until: until.UTC(), Now: s.e.Clock().Now()})
	if err != nil {
		return err
	}
	msg, err := s.message(f, "Monthly security summary: "+from.Format("January 2006"))
	if err != nil {
		return err
	}
	if err := s.e.Post(ctx, "stats:monthly:"+from.Format("2006-01"), bot.ToSecurityRoom(), msg); err != nil {
		return fmt.Errorf("stats: post the monthly summary: %w", err)
	}
	s.e.Logger().Info("stats: monthly summary posted", "month", from.Format("2006-01"))
	return s.scheduleMonthly(ctx, job.Due)
}
