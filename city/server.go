package city

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"loa/city/api"
	"loa/city/httpapi"
	"loa/city/livecast"
	"loa/sqlite"
)

// Handler returns the city's HTTP faces: the JSON API (docs/api.md)
// under /api/, /healthz and /metrics, and the web console (city/console,
// docs/console.md) at every other path.
func (c *City) Handler() http.Handler {
	top := http.NewServeMux()
	api := c.api.Handler()
	for _, p := range []string{"/api/", "/healthz", "/metrics", "/cap/"} {
		top.Handle(p, api)
	}
	if c.livecast != nil {
		top.Handle(livecast.MountPrefix, c.livecast.Handler()) // the wards' relays, no session
	}
	if c.console != nil {
		top.Handle("/", c.console.Handler())
	}
	return withAddress(top)
}

// ManifestVersionHeader is sent by a ward with the manifest version it has
// in effect (city/httpapi).
const ManifestVersionHeader = httpapi.ManifestVersionHeader

// UploadOffsetHeader says where a PATCH's bytes go in the upload.
const UploadOffsetHeader = httpapi.UploadOffsetHeader

// mediaJSON is a library row as the API and the console show it.
func mediaJSON(m sqlite.CityMedia, created bool) api.Media {
	a := api.Media{SHA256: m.SHA256, Size: m.Size, DurationSeconds: m.Duration().Seconds(), TruePeakDBTP: m.TruePeakDB,
		Title: m.Title, Names: m.Names, OriginalName: m.OriginalName, OriginalSHA256: m.OriginalSHA256,
		OriginalSize: m.OriginalSize, AddedBy: m.AddedBy, AddedAt: m.AddedAt.UTC(), Created: created}
	if m.HasLoudness {
		l := m.LoudnessLUFS
		a.LoudnessLUFS = &l
	}
	if a.Names == nil {
		a.Names = []string{}
	}
	return a
}

// wardJSON is a ward as the API, the console and the CLI show it: the
// registry's row with what the board and its manifest say of it.
func (c *City) wardJSON(ctx context.Context, w sqlite.Ward) api.Ward {
	var version int64
	if _, v, err := c.DB.Read().ManifestETag(ctx, w.ID); err == nil {
		version = v
	}
	return c.wardJSONVersion(w, version)
}

// wardsJSON is wardJSON for a list of wards, their manifests' versions
// read in one query (the fleet page's stream draws every ward each time).
func (c *City) wardsJSON(ctx context.Context, ws []sqlite.Ward) []api.Ward {
	versions, err := c.DB.Read().ManifestVersions(ctx)
	if err != nil {
		c.Log.Warn("manifest versions", "err", err)
	}
	out := make([]api.Ward, len(ws))
	for i, w := range ws {
		out[i] = c.wardJSONVersion(w, versions[w.ID])
	}
	return out
}

// wardJSONVersion is wardJSON with the version of the ward's manifest (0:
// none).
func (c *City) wardJSONVersion(w sqlite.Ward, version int64) api.Ward {
	if at, v, ok := c.board.Seen(w.ID); ok && at.After(w.LastSeen) {
		w.LastSeen, w.SeenVersion = at, v
	}
	a := api.Ward{ID: w.ID, DisplayName: w.DisplayName, Lat: w.Lat, Lon: w.Lon, Groups: w.Groups, CreatedAt: w.CreatedAt.UTC(), SeenVersion: w.SeenVersion}
	if a.Groups == nil {
		a.Groups = []string{}
	}
	if !w.LastSeen.IsZero() {
		t := w.LastSeen.UTC()
		a.LastSeen = &t
	}
	a.ManifestVersion = version
	a.InSync = a.ManifestVersion != 0 && a.SeenVersion == a.ManifestVersion
	a.Health = c.wardHealth(w.ID)
	return a
}

// Serve runs the HTTP server on ln until ctx ends, then shuts down
// gracefully (requests in flight get up to grace to finish).
func (c *City) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(c.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer c.startFleet(ctx)()
	defer c.startCAPPolling(ctx)()
	defer c.startAlertRepeats(ctx)()
	defer c.startNotify(ctx)()
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()
	flush := time.NewTicker(seenFlushInterval)
	defer flush.Stop()
	for {
		select {
		case err := <-errc:
			c.FlushSeen(context.WithoutCancel(ctx))
			return err
		case <-flush.C:
			if err := c.FlushSeen(ctx); err != nil {
				c.Log.Warn("record wards seen", "err", err)
			}
		case <-hourly.C:
			if err := c.Library.ExpireUploads(ctx); err != nil {
				c.Log.Warn("expire uploads", "err", err)
			}
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			if c.livecast != nil { // the browsers' broadcasts: stopped at the wards
				c.livecast.Close(sctx)
			}
			c.restreams().Close() // the wards' re-streams: they pull directly
			err := srv.Shutdown(sctx)
			if errors.Is(err, context.DeadlineExceeded) {
				srv.Close()
			}
			if ferr := c.FlushSeen(context.Background()); ferr != nil {
				c.Log.Warn("record wards seen", "err", ferr)
			}
			return err
		}
	}
}
