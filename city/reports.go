package city

import (
	"context"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/city/reports"
	"loa/schedule"
	"loa/sqlite"
)

// reportStore is what proof-of-play reports read: the ward registry, the
// programs service's timelines and the as-run rows the board stored.
type reportStore struct{ c *City }

func (s reportStore) Places(ctx context.Context) ([]accounts.Place, error) {
	return s.c.Accounts.Places(ctx)
}

func (s reportStore) Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error) {
	return s.c.Programs.Timeline(ctx, ward, d)
}

func (s reportStore) AsRun(ctx context.Context, ward string, from, to time.Time) ([]sqlite.CityAsRun, error) {
	return s.c.DB.Read().AsRun(ctx, ward, from, to)
}

// newReports builds the reports service over c.
func (c *City) newReports() *reports.Service {
	r := reports.New(reportStore{c}, c.loc, func() time.Time { return c.Now() }, c.Log)
	r.StationName = c.Config.Name
	if lt := c.Config.Fleet.thresholds().LateAfter; lt > 0 {
		r.LateAfter = lt
	}
	return r
}
