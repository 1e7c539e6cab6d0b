package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"loa/audio/stream"
	"loa/city/api"
	"loa/internal/streamtest"
	"loa/internal/testwait"
)

// cityRelayCase opens a relay of a real MP3 station through a city that
// answers list and serves mount.
func cityRelayCase(t *testing.T, list func(context.Context) ([]api.Restream, error), mount http.HandlerFunc) (*cityRelay, *streamtest.Upstream) {
	t.Helper()
	up := streamtest.Start(t, streamtest.MP3Tone(t, 1000, 5))
	city := httptest.NewServer(mount)
	t.Cleanup(city.Close)
	open := func(url string, viaCity bool) *stream.Source {
		return stream.Open(context.Background(), stream.Config{URL: url, Rate: 44100})
	}
	if list == nil {
		list = func(context.Context) ([]api.Restream, error) {
			return []api.Restream{{Name: "tinh", Upstream: up.URL(), Mount: "/api/v1/restream/tinh"}}, nil
		}
	}
	r := openCityRelay(context.Background(), up.URL(), list, city.URL, open, time.Now, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { r.Close() })
	return r, up
}

// playing drains the relay as the output would and reports whether it is
// playing.
func playing(r *cityRelay) bool {
	buf := make([][2]float64, 4410)
	r.Stream(buf)
	return r.Stats().State == stream.Playing
}

// A city that answers its mount with an error (502: its own pull fails)
// makes the ward pull the station itself at once, not after the 8 s a
// first sound may take.
func TestCityRelayRefusedGoesDirect(t *testing.T) {
	r, up := cityRelayCase(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the upstream of tinh is failing", http.StatusBadGateway)
	})
	start := time.Now()
	testwait.For(t, "the direct pull playing", 15*time.Second, func() bool { return playing(r) && up.Open("loa-agent") == 1 })
	if el := time.Since(start); el >= cityFirstSound {
		t.Errorf("the switch took %s: an HTTP error must not wait for cityFirstSound", el)
	}
	if v := r.Via(); !strings.HasPrefix(v, "direct from the upstream after the city's re-stream tinh failed") || !strings.Contains(v, "502") {
		t.Errorf("Via: %q", v)
	}
}

// A city that does not carry the station, or cannot say, means a direct
// pull, and the note says why.
func TestCityRelayNotCarriedGoesDirect(t *testing.T) {
	for _, tc := range []struct {
		list func(context.Context) ([]api.Restream, error)
		via  string
	}{
		{func(context.Context) ([]api.Restream, error) { return nil, nil }, "direct from the upstream (the city does not re-stream it)"},
		{func(context.Context) ([]api.Restream, error) { return nil, errors.New("connection refused") },
			"direct from the upstream (the city's list of re-streams: connection refused)"},
	} {
		r, up := cityRelayCase(t, tc.list, func(w http.ResponseWriter, r *http.Request) { t.Errorf("the city's mount was asked: %s", r.URL) })
		testwait.For(t, "the direct pull playing", 15*time.Second, func() bool { return playing(r) && up.Open("loa-agent") == 1 })
		if v := r.Via(); v != tc.via {
			t.Errorf("Via: %q, want %q", v, tc.via)
		}
	}
}
