package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"loa/alert"
	"loa/natsbus"
)

// cityLive follows the city's live announcements on the ward's NATS link:
// a signed start puts the announcer's stream on the live bus, a stop takes
// it off. Starts are sent again every few seconds while they last: one
// already on air, or already stopped, is ignored.
type cityLive struct {
	d    *Daemon
	keys []ed25519.PublicKey

	mu      sync.Mutex
	onAir   string               // id of the city's live announcement on air
	stopped map[string]time.Time // ids stopped, until their start must have expired
}

// startCityLive subscribes to this ward's live subjects.
func (d *Daemon) startCityLive(ctx context.Context, keys []ed25519.PublicKey) error {
	if d.alertLink == nil {
		return nil
	}
	cl := &cityLive{d: d, keys: keys, stopped: map[string]time.Time{}}
	for _, subj := range []string{natsbus.LiveAll, natsbus.LiveWard(d.Cfg.Ward)} {
		sub, err := d.alertLink.Conn.Subscribe(subj, func(m *nats.Msg) { cl.handle(ctx, m.Data) })
		if err != nil {
			return err
		}
		go func() {
			<-ctx.Done()
			sub.Unsubscribe()
		}()
	}
	d.cityLive = cl
	return nil
}

func (cl *cityLive) handle(ctx context.Context, data []byte) {
	d := cl.d
	l, err := alert.OpenLive(data, cl.keys...)
	if err != nil {
		reason := "invalid"
		if errors.Is(err, alert.ErrUnsigned) {
			reason = "unsigned"
		}
		d.m.alertsRejected.WithLabelValues("live-" + reason).Inc()
		d.Log.Warn("live announcement refused", "err", err)
		return
	}
	now := d.wall()
	if !l.For(d.Cfg.Ward) || !now.Before(l.Expires) {
		return
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for id, until := range cl.stopped {
		if now.After(until) {
			delete(cl.stopped, id)
		}
	}
	forget := now.Add(alert.MaxLiveLifetime)
	switch l.Kind {
	case alert.LiveStop:
		if cl.onAir != "" && (l.ID == alert.StopAll || l.ID == cl.onAir) {
			d.pl.StopLive(cl.onAir)
			d.Log.Info("live announcement stopped by the city", "live", cl.onAir)
			cl.stopped[cl.onAir] = forget
			cl.onAir = ""
		}
		if l.ID != alert.StopAll {
			cl.stopped[l.ID] = forget
		}
	case alert.LiveStart:
		if _, stopped := cl.stopped[l.ID]; l.ID == cl.onAir || stopped {
			return
		}
		mode := l.Mode
		if err := d.startLive(ctx, LiveRequest{Input: l.Stream, Mode: mode, DuckDB: l.DuckDB, Title: l.Title}, l.ID); err != nil {
			d.Log.Error("live announcement cannot play", "live", l.ID, "err", err)
			return
		}
		cl.onAir = l.ID
		d.Log.Info("live announcement from the city", "live", l.ID, "stream", l.Stream, "mode", mode)
		// It ends by itself when it expires, stop or no stop.
		id := l.ID
		time.AfterFunc(l.Expires.Sub(now), func() {
			cl.mu.Lock()
			defer cl.mu.Unlock()
			if cl.onAir == id {
				d.pl.StopLive(id)
				cl.stopped[id] = d.wall().Add(alert.MaxLiveLifetime)
				cl.onAir = ""
			}
		})
	}
}
