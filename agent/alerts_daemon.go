package agent

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"loa/agent/alertrx"
	"loa/alert"
	"loa/manifest"
	"loa/natsbus"
	"loa/playlist"
	"loa/signing"
)

// startAlerts starts the alert receiver when city.nats is set.
func (d *Daemon) startAlerts(ctx context.Context, g *errgroup.Group) error {
	c := d.Cfg.City
	if c.NATS == "" {
		return nil
	}
	switch {
	case d.sync == nil:
		return inputErr(fmt.Errorf("city.nats is set: city.url, city.token and city.public_key are needed too (alert media come over HTTP)"))
	case c.NATSKey == "":
		return inputErr(fmt.Errorf("city.nats is set: city.nats_key is needed too (loa-city ward add prints it)"))
	case d.Cfg.Ward == "":
		return inputErr(fmt.Errorf("city.nats is set: ward (this ward's id) is needed too"))
	}
	if _, err := natsbus.PublicKey(c.NATSKey); err != nil {
		return inputErr(fmt.Errorf("city.nats_key: %v", err))
	}
	var keys []ed25519.PublicKey
	for _, k := range strings.FieldsFunc(c.PublicKey, func(r rune) bool { return r == ',' || r == ' ' }) {
		pub, err := signing.ParsePublicKey(k)
		if err != nil {
			return inputErr(fmt.Errorf("city.public_key: %v", err))
		}
		keys = append(keys, pub)
	}
	if k, err := loadReceiptKey(d.Cfg.Data); err != nil {
		// Alerts still play; the city refuses the unsigned receipts of a
		// ward that registered a key, and says so.
		d.Log.Error("receipt key: cannot read or make it; receipts go unsigned", "err", err)
	} else {
		d.receiptKey = k
		g.Go(func() error { d.registerReceiptKey(ctx, k); return nil })
	}
	d.alertKick = make(chan struct{}, 1)
	// One connection for alerts and whatever else the ward sends the city
	// (heartbeats, as-run: d.alertLink.Conn).
	link, err := DialCityNATS(c.NATS, c.NATSKey, d.Cfg.Ward, d.Log, c.NATSTLSPin)
	if err != nil {
		return inputErr(fmt.Errorf("city.nats: %v", err))
	}
	d.alertLink = link
	rx, err := alertrx.New(alertrx.Config{
		Ward: d.Cfg.Ward, NATS: c.NATS, Seed: c.NATSKey, Link: link, PublicKeys: keys, DB: d.st.DB,
		Media: syncMedia{sync: d.sync, st: cityStation{st: d.st}}, Player: d.pl, PlayTests: d.Cfg.Alerts.PlayTests,
		Now: d.wall, Log: d.Log.With("component", "alerts"), Rejected: d.m.alertsRejected, ReceiptKey: d.receiptKey,
		HeldRetryEvery: heldRetryEvery,
		Clock: func() alertrx.StationClock {
			d.mu.Lock()
			defer d.mu.Unlock()
			return alertrx.StationClock{Trusted: d.clock.Trusted, Source: d.clock.Source}
		},
		OnNotify: func(all bool) {
			d.Log.Info("the city says the programs changed: syncing now")
			d.sync.SyncNow()
		},
		Kick: func() {
			select {
			case d.alertKick <- struct{}{}:
			default:
			}
		},
		OnAir: func() (string, time.Time, bool) {
			if a := d.pl.Status().Alert; a != nil {
				return a.ID, a.Start, true
			}
			return "", time.Time{}, false
		},
	})
	if err != nil {
		link.Close()
		return inputErr(err)
	}
	d.alerts = rx
	if err := d.startCityLive(ctx, keys); err != nil {
		d.Log.Error("live announcements: cannot subscribe", "err", err)
	}
	g.Go(func() error { d.startCommands(ctx, keys); return nil })
	g.Go(func() error {
		defer link.Close()
		if err := rx.Run(ctx); err != nil {
			// Logged, not returned: the station plays its programs on
			// without the alert link.
			d.Log.Error("alerts: cannot start", "err", err)
		}
		return nil
	})
	d.Log.Info("alerts over NATS", "nats", c.NATS, "ward", d.Cfg.Ward)
	return nil
}

// DialCityNATS connects a ward to the city's NATS (alertrx.Dial): servers
// named tls://… are reached over TLS, with pin (city.tls_pin) the server's
// key must be the pinned one, without it the system's authorities decide.
func DialCityNATS(urls, seed, ward string, log *slog.Logger, pin ...string) (*natsbus.Link, error) {
	return alertrx.Dial(urls, seed, ward, log, pinnedTLS(strings.Join(pin, "")))
}

// syncMedia fetches alert media with the city sync's HTTP client and
// token, into the station like a synced file (decoded, measured).
type syncMedia struct {
	sync *playlist.Syncer
	st   cityStation
}

func (m syncMedia) HasMedia(key string) bool { return m.st.HasMedia(key) }

func (m syncMedia) FetchMedia(ctx context.Context, md alert.Media) error {
	return m.sync.FetchMedia(ctx, manifest.Media{SHA256: md.SHA256, Size: md.Size, URL: md.URL, Name: "alert"})
}

// alertsReport adds the alert link to the status, and returns a problem
// when the link has been down longer than alerts.offline_after: the city
// cannot warn this ward then.
func (d *Daemon) alertsReport(ctx context.Context, r *StatusReport) string {
	if d.alerts == nil {
		return ""
	}
	st := d.alerts.State(ctx)
	r.Alerts = &st
	if !st.NATS.Connected && time.Since(st.NATS.Since) > d.Cfg.Alerts.OfflineAfter.D() {
		msg := fmt.Sprintf("Mất kết nối cảnh báo / alert link down since %s", st.NATS.Since.Format("15:04:05"))
		if st.NATS.LastError != "" {
			msg += ": " + st.NATS.LastError
		}
		return msg
	}
	return ""
}
