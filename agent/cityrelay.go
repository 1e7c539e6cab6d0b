package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"loa/audio/stream"
	"loa/city/api"
	"loa/player"
)

// A relay through the city's re-stream (city/restream, docs/live.md): a
// program's relay: keeps the upstream's own address; when the city says
// (GET /api/v1/restreams) that it re-streams that address, the ward pulls
// the city's MP3 mount instead, so that wards on 3G do not each pull the
// same upstream. When the city's mount fails the ward pulls the upstream
// itself, for the rest of the occurrence. The jitter buffer, drift servo,
// failure metrics and 10 s fallback are the stream package's and the
// player's, unchanged: each pull is a stream.Source.

const (
	// cityListTimeout bounds asking the city which streams it re-streams;
	// without an answer the ward pulls directly.
	cityListTimeout = 3 * time.Second
	// citySwitchAfter is how long the city's mount may give no sound,
	// once it has played, before the ward pulls the upstream itself.
	citySwitchAfter = 3 * time.Second
	// cityFirstSound is how long the city's mount may take to give its
	// first sound (the city connects to the upstream first; the relay is
	// opened 8 s before its start). An HTTP error from the city (502: its
	// pull fails) switches at once.
	cityFirstSound = 8 * time.Second
)

// cityRelay is a relay that goes through the city's re-stream while it
// works, and directly to the upstream once it has failed.
type cityRelay struct {
	upstream string
	open     func(url string, viaCity bool) *stream.Source
	now      func() time.Time
	log      *slog.Logger
	opened   time.Time
	cancel   context.CancelFunc

	cur    atomic.Pointer[stream.Source]
	closed atomic.Bool
	mu     sync.Mutex
	via    string
}

// openCityRelay starts a relay of upstream: through the city's mount when
// list names one for it, else directly. It returns at once.
func openCityRelay(ctx context.Context, upstream string, list func(ctx context.Context) ([]api.Restream, error),
	cityBase string, open func(url string, viaCity bool) *stream.Source, now func() time.Time, log *slog.Logger) *cityRelay {
	ctx, cancel := context.WithCancel(ctx)
	r := &cityRelay{upstream: upstream, open: open, now: now, log: log, opened: now(), cancel: cancel}
	go r.run(ctx, list, cityBase)
	return r
}

func (r *cityRelay) run(ctx context.Context, list func(ctx context.Context) ([]api.Restream, error), cityBase string) {
	lctx, cancel := context.WithTimeout(ctx, cityListTimeout)
	mounts, err := list(lctx)
	cancel()
	var mount *api.Restream
	for i := range mounts {
		if mounts[i].Upstream == r.upstream {
			mount = &mounts[i]
		}
	}
	if mount == nil {
		why := "the city does not re-stream it"
		if err != nil {
			why = "the city's list of re-streams: " + err.Error()
		}
		r.direct("direct from the upstream (" + why + ")")
		return
	}
	name := "the city's re-stream " + mount.Name
	src := r.start(strings.TrimRight(cityBase, "/")+mount.Mount, true, "via "+name)
	if src == nil {
		return
	}
	r.log.Info("relay through the city's re-stream", "url", r.upstream, "restream", mount.Name)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	played := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		st := src.Stats()
		if st.State == stream.Playing {
			played = true
			continue
		}
		limit := cityFirstSound
		if played {
			limit = citySwitchAfter
		}
		// The city answering with an error (502: its upstream fails; 401:
		// the token refused) is no reason to wait.
		refused := st.State == stream.Failed && strings.Contains(st.LastError, stream.ErrHTTP.Error())
		if st.FailingFor < limit && !refused {
			continue
		}
		reason := fmt.Sprintf("%s for %s", st.State, st.FailingFor.Round(100*time.Millisecond))
		if st.LastError != "" {
			reason += ": " + st.LastError
		}
		r.log.Warn("the city's re-stream failed: relaying the upstream directly", "url", r.upstream, "restream", mount.Name, "reason", reason)
		note := "direct from the upstream after " + name + " failed (" + reason + ")"
		if played {
			note = "via " + name + ", then " + note
		}
		r.direct(note)
		src.Close()
		return
	}
}

// direct switches to pulling the upstream itself.
func (r *cityRelay) direct(note string) { r.start(r.upstream, false, note) }

func (r *cityRelay) start(url string, viaCity bool, note string) *stream.Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return nil
	}
	src := r.open(url, viaCity)
	r.cur.Store(src)
	r.via = note
	return src
}

// Stream plays the current pull (silence until there is one).
func (r *cityRelay) Stream(dst [][2]float64) (int, bool) {
	if r.closed.Load() {
		return 0, false
	}
	if src := r.cur.Load(); src != nil {
		return src.Stream(dst)
	}
	clear(dst)
	return len(dst), true
}

// Stats are the current pull's: after a switch, the direct pull has the
// player's whole 10 s before the program's fallback plays.
func (r *cityRelay) Stats() stream.Stats {
	if src := r.cur.Load(); src != nil {
		return src.Stats()
	}
	return stream.Stats{State: stream.Connecting, FailingFor: r.now().Sub(r.opened)}
}

// Via says which source played, for the as-run row.
func (r *cityRelay) Via() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.via
}

func (r *cityRelay) Close() error {
	r.mu.Lock()
	r.closed.Store(true)
	r.mu.Unlock()
	r.cancel()
	if src := r.cur.Load(); src != nil {
		src.Close()
	}
	return nil
}

// cityRestreams asks the city which upstreams it re-streams.
func (d *Daemon) cityRestreams(ctx context.Context) ([]api.Restream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(d.Cfg.City.URL, "/")+"/api/v1/restreams", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.Cfg.City.Token)
	resp, err := d.cityHTTP(cityListTimeout).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil // a city older than re-streams
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, apiError(msg))
	}
	var list []api.Restream
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("read the list: %w", err)
	}
	return list, nil
}

// withToken adds the ward's credential to every request (the city's
// mount is for wards only).
type withToken struct {
	token string
	next  http.RoundTripper
}

func (t withToken) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// openRelay opens a relay program's stream: through the city's
// re-stream when the ward has a city, else directly.
func (d *Daemon) openRelay(ctx context.Context, url string) player.RelaySource {
	log := d.Log.With("component", "relay")
	openStream := func(url string, viaCity bool) *stream.Source {
		c := stream.Config{URL: url, Rate: d.Cfg.Audio.Rate, Log: log}
		if viaCity {
			c.HTTP = &http.Client{Transport: withToken{token: d.Cfg.City.Token, next: d.cityHTTP(0).Transport}}
		}
		return stream.Open(ctx, c)
	}
	if d.Cfg.City.URL == "" || d.Cfg.City.Token == "" {
		return openStream(url, false)
	}
	return openCityRelay(ctx, url, d.cityRestreams, d.Cfg.City.URL, openStream, d.wall, log)
}
