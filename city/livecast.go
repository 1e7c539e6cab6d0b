package city

import (
	"context"

	"loa/city/api"
	"loa/city/console"
	"loa/city/livecast"
)

// openLivecast makes the city's own live mount (city/livecast): the
// console's microphone transcoded once and relayed by the wards, started
// and stopped through the alerting service like POST /api/v1/live.
func (c *City) openLivecast() {
	c.livecast = livecast.New(livecast.Config{Announcer: c.Alerting, FFmpeg: c.Config.Ingest.FFmpeg,
		Log: c.Log.With("component", "livecast")})
}

// consoleLive adapts city/livecast to the console.
type consoleLive struct{ c *livecast.Caster }

func (l consoleLive) Begin(ctx context.Context, base string, req api.NewLive, by string) (console.LiveBroadcast, error) {
	b, err := l.c.Begin(ctx, base, req, by)
	if err != nil {
		return nil, err
	}
	return b, nil
}
