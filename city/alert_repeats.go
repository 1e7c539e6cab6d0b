package city

import (
	"context"
	"time"

	"loa/city/api"
	"loa/sqlite"
)

// alertRepeats is the city's database as the alerting service keeps
// repeated alerts' schedules in it.
type alertRepeats struct{ db *sqlite.CityDB }

func (r alertRepeats) AddAlertRepeat(ctx context.Context, a sqlite.AlertRepeat) error {
	return r.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.AddAlertRepeat(ctx, a) })
}

func (r alertRepeats) ActiveAlertRepeats(ctx context.Context) ([]sqlite.AlertRepeat, error) {
	return r.db.Read().ActiveAlertRepeats(ctx)
}

func (r alertRepeats) AlertRepeats(ctx context.Context, limit int) ([]sqlite.AlertRepeat, error) {
	return r.db.Read().AlertRepeats(ctx, limit)
}

func (r alertRepeats) SetAlertRepeat(ctx context.Context, a sqlite.AlertRepeat) error {
	return r.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.SetAlertRepeat(ctx, a) })
}

// alertRepeatTick is how often the city looks for a repeated alert due.
const alertRepeatTick = 15 * time.Second

// startAlertRepeats re-sends repeated alerts when due until ctx ends
// (at once on start: a city down at the due time re-sends on its return).
func (c *City) startAlertRepeats(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(alertRepeatTick)
		defer tick.Stop()
		for {
			c.Alerting.RepeatDue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Repeats are the repeated alerts' series, for the console's alert list.
func (a consoleAlerts) Repeats(ctx context.Context, limit int) ([]api.AlertRepeat, error) {
	return a.c.Alerting.Repeats(ctx, limit)
}
