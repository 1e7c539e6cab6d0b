package citybus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"loa/city/alerting"
	"loa/natsbus"
)

// probeAlerts looks at the streams and the store: ALERTS must answer, and
// the store must have room (a full store refuses every message, alerts
// included). ALERTS gone (deleted by hand) is made again. What it finds
// goes to city/alerting, which keeps the alert path's health.
func (b *Bus) probeAlerts(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	streams := map[string]alerting.StreamUsage{}
	var alertsErr error
	for _, name := range []string{natsbus.StreamAlerts, natsbus.StreamReports, natsbus.StreamAsRun} {
		s, err := b.js.Stream(ctx, name)
		if err != nil {
			if name == natsbus.StreamAlerts {
				alertsErr = err
			}
			continue
		}
		info := s.CachedInfo()
		streams[name] = alerting.StreamUsage{Msgs: info.State.Msgs, Bytes: info.State.Bytes, MaxBytes: info.Config.MaxBytes}
	}
	if errors.Is(alertsErr, jetstream.ErrStreamNotFound) {
		b.log.Error("stream ALERTS is gone; making the streams again", "err", alertsErr)
		if err := natsbus.EnsureStreams(ctx, b.js, b.StreamOptions()); err != nil {
			alertsErr = fmt.Errorf("%w; made again: %v", alertsErr, err)
		} else {
			alertsErr = nil
			b.mu.Lock()
			clear(b.consumers) // gone with the stream
			b.mu.Unlock()
			poke(b.wardsCh)
		}
	}
	var used, maxStore int64
	if b.srv != nil {
		if jsz, err := b.srv.Jsz(&server.JSzOptions{}); err == nil {
			used, maxStore = int64(jsz.Store), jsz.Config.MaxStore
		}
	} else if ai, err := b.js.AccountInfo(ctx); err == nil && ai.Limits.MaxStore > 0 {
		used, maxStore = int64(ai.Store), ai.Limits.MaxStore
	}
	b.svc.Alerting.Probed(alerting.Probe{AlertsErr: alertsErr, Streams: streams, StoreUsed: used, StoreMax: maxStore})
}
