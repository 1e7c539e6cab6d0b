package city

import (
	"context"
	"errors"

	"loa/city/api"
	"loa/city/console"
	"loa/schedule"
	"loa/sqlite"
)

// consoleFleet is the board as the console's technicians' pages see it:
// the same wards as GET /api/v1/wards, the board's heartbeat history and
// its watch.
type consoleFleet struct{ c *City }

func (f consoleFleet) Wards(ctx context.Context) ([]api.Ward, error) { return apiWards(f).Wards(ctx) }

func (f consoleFleet) Ward(ctx context.Context, id string) (api.Ward, error) {
	wd, err := f.c.Accounts.Ward(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return api.Ward{}, console.ErrNoWard
	}
	if err != nil {
		return api.Ward{}, err
	}
	return f.c.wardJSON(ctx, wd), nil
}

func (f consoleFleet) Heartbeats(ward string) []api.WardBeat { return f.c.board.Heartbeats(ward) }

func (f consoleFleet) AsRunDay(ctx context.Context, ward string, d schedule.Date) (api.AsRunDay, error) {
	return f.c.board.AsRunDay(ctx, ward, d)
}

func (f consoleFleet) Watch() (<-chan struct{}, func()) { return f.c.board.Watch() }

func (f consoleFleet) MapTiles() (string, string) { return f.c.Config.Fleet.mapTiles() }
