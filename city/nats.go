package city

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/natsbus"
	"loa/natsbus/natsserver"
	"loa/sqlite"
)

// NATSConfig is the city's NATS (docs/nats.md).
type NATSConfig struct {
	// URL names an external server or cluster (nats://a:4222,nats://b:4222);
	// empty: loa-city runs its own server (embedded, JetStream on).
	URL string `yaml:"url"`
	// Listen is the embedded server's client address, where wards connect.
	Listen string `yaml:"listen"`
	// Advertise is the address wards are told to connect to when they
	// join (nats://host:port,...); empty: the city's host and Listen's port.
	Advertise string `yaml:"advertise"`
	// Seed is the file holding the city's NKEY seed (default
	// DATA/nats-city.nk, created on first use).
	Seed string `yaml:"seed"`
	// Replicas of every stream: 1 on one server, 3 on a cluster of three.
	Replicas int `yaml:"replicas"`
	// MaxStoreMB bounds the embedded JetStream's disk use.
	MaxStoreMB int64 `yaml:"max_store_mb"`
	// AdminKeys are public NKEYs ("U...") given every right on the embedded
	// server: monitoring, tools.
	AdminKeys []string `yaml:"admin_keys"`
	// TLS makes the embedded server require TLS from its clients, with
	// tls.cert/tls.key; joining wards are told tls://.
	TLS bool `yaml:"tls"`
	// TLSPin is the key pin (sha256/BASE64) of the external servers'
	// certificate (nats.url over tls://), given to joining wards; the
	// embedded server's is the city's own.
	TLSPin string `yaml:"tls_pin"`
}

func defaultNATSConfig() NATSConfig {
	return NATSConfig{Listen: ":4222", Replicas: 1, MaxStoreMB: 1024}
}

func (n *NATSConfig) check(where, data string) error {
	if n.URL == "" && n.Listen == "" {
		return fmt.Errorf("%s: nats.listen: empty (and no nats.url)", where)
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		return fmt.Errorf("%s: nats.replicas: %d, want 1-5", where, n.Replicas)
	}
	if n.MaxStoreMB < 1 {
		return fmt.Errorf("%s: nats.max_store_mb: %d, want at least 1", where, n.MaxStoreMB)
	}
	for _, k := range n.AdminKeys {
		if !strings.HasPrefix(k, "U") || len(k) != 56 {
			return fmt.Errorf("%s: nats.admin_keys: %q is not a public user NKEY (U..., 56 characters)", where, k)
		}
	}
	if n.Seed == "" {
		n.Seed = filepath.Join(data, "nats-city.nk")
	}
	return nil
}

// alertHub is the city's side of NATS.
type alertHub struct {
	srv  *server.Server // the embedded server; nil with nats.url
	link *natsbus.Link
	js   jetstream.JetStream

	ready   chan struct{} // closed once streams exist
	kick    chan struct{} // publish pending copies now
	wardsCh chan struct{} // reconcile ward consumers now
	reports chan reportMsg
	log     *slog.Logger

	mu        sync.Mutex
	consumers map[string]string // ward → its groups, as its consumer filters them
	setupErr  error
}

// StartAlerts starts the city's NATS side: the embedded server (or the
// connection to nats.url), the streams, a consumer per ward, the intake of
// the wards' receipts and the publisher of alert copies. It returns at once
// when the external server does not answer yet: everything is set up as
// soon as it does, and alerts sent meanwhile wait in the database.
func (c *City) StartAlerts(ctx context.Context) (stop func(), err error) {
	cfg := c.Config.NATS
	seed, err := natsbus.LoadOrCreateSeed(cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("city NATS key: %w", err)
	}
	pub, _ := natsbus.PublicKey(seed)
	h := &alertHub{ready: make(chan struct{}), kick: make(chan struct{}, 1), wardsCh: make(chan struct{}, 1),
		reports: make(chan reportMsg, 4096), consumers: map[string]string{}, log: c.Log}
	log := c.Log.With("component", "nats")
	opts := natsbus.ConnOptions{URLs: cfg.URL, Seed: seed, Name: "loa-city", Log: log}
	if cfg.URL == "" {
		scfg := natsserver.Config{
			Listen: cfg.Listen, StoreDir: filepath.Join(c.Config.Data, "nats"), MaxStore: cfg.MaxStoreMB << 20,
			CityKey: pub, AdminKeys: cfg.AdminKeys, Wards: wardDirectory{c}, Log: log,
			OnDuplicate: c.duplicateLogin, // city/identity.go
			Denied:      func(d natsserver.Denial) { c.board.Denied(d.Ward, d.Kind, d.Subject) },
		}
		if cfg.TLS {
			if scfg.TLS, err = c.NATSTLS(); err != nil {
				return nil, err
			}
		}
		h.srv, err = natsserver.Start(scfg)
		if err != nil {
			return nil, err
		}
		opts.Server = h.srv
		log.Info("embedded NATS server listening", "url", "nats://"+h.srv.Addr().String(), "store", filepath.Join(c.Config.Data, "nats"))
	}
	h.link, err = natsbus.Dial(opts)
	if err != nil {
		if h.srv != nil {
			h.srv.Shutdown()
		}
		return nil, err
	}
	h.js, err = jetstream.New(h.link.Conn)
	if err != nil {
		h.link.Close()
		if h.srv != nil {
			h.srv.Shutdown()
		}
		return nil, err
	}
	h.link.OnChange(func(up bool) {
		if up {
			// The server may have restarted and lost the wards' consumers
			// (kept in memory): check them all again.
			h.mu.Lock()
			clear(h.consumers)
			h.mu.Unlock()
			h.poke(h.wardsCh)
			h.poke(h.kick)
		}
	})
	c.alerts = h
	c.Alerting.SetPublisher(h) // city/alert_bus.go
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(5)
	go func() { defer wg.Done(); c.ServeFleetNATS(ctx, h.link.Conn) }() // heartbeats and as-run (fleet_nats.go)
	go func() { defer wg.Done(); c.Alerting.RepeatLive(ctx) }()         // live announcements
	go func() { defer wg.Done(); c.alertLoop(ctx) }()
	go func() { defer wg.Done(); c.reportWriter(ctx) }()
	go func() { defer wg.Done(); c.reportIntake(ctx) }()
	return func() {
		cancel()
		wg.Wait()
		h.link.Close()
		if h.srv != nil {
			h.srv.Shutdown()
			h.srv.WaitForShutdown()
		}
	}, nil
}

func (h *alertHub) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// NATSAddr is the embedded server's client address ("" with nats.url).
func (c *City) NATSAddr() string {
	if c.alerts == nil || c.alerts.srv == nil {
		return ""
	}
	return c.alerts.srv.Addr().String()
}

// wardDirectory answers the embedded server's question: whose key is this?
type wardDirectory struct{ c *City }

func (d wardDirectory) WardByNKey(ctx context.Context, key string) (string, []string, error) {
	w, err := d.c.DB.Read().WardByNKey(ctx, key)
	if err != nil {
		return "", nil, err
	}
	if h := d.c.alerts; h != nil {
		h.mu.Lock()
		known, ok := h.consumers[w.ID]
		h.mu.Unlock()
		if !ok || known != strings.Join(w.Groups, ",") {
			h.poke(h.wardsCh) // a ward registered (or regrouped) since the last look
		}
	}
	return w.ID, w.Groups, nil
}

// alertLoop sets up the streams (retrying until NATS answers), keeps a
// consumer per ward, and publishes the copies of alerts not yet in
// JetStream.
func (c *City) alertLoop(ctx context.Context) {
	h := c.alerts
	wait := 500 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := natsbus.EnsureStreams(sctx, h.js, c.streamOptions())
		cancel()
		h.mu.Lock()
		h.setupErr = err
		h.mu.Unlock()
		if err == nil {
			break
		}
		c.Log.Warn("NATS streams not ready; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
	close(h.ready)
	c.Log.Info("NATS streams ready", "replicas", c.Config.NATS.Replicas)
	// The chime now, not with the first alert: made once (the built-in
	// one), or its absence said at start rather than when it is needed.
	if _, err := c.alertChime(ctx); err != nil {
		c.Log.Error("alert chime not available: alerts asking for one are refused until it is", "err", err)
	}
	c.reconcileConsumers(ctx)
	c.probeAlerts(ctx)
	c.Alerting.PublishPending(ctx)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	probe := time.NewTicker(alertProbeEvery)
	defer probe.Stop()
	every := time.NewTicker(time.Minute)
	defer every.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wardsCh:
			c.reconcileConsumers(ctx)
		case <-every.C:
			c.reconcileConsumers(ctx)
		case <-h.kick:
			c.Alerting.PublishPending(ctx)
		case <-tick.C:
			c.Alerting.PublishPending(ctx)
		case <-probe.C:
			c.probeAlerts(ctx)
		}
	}
}

// streamOptions size the city's streams (docs/nats.md).
func (c *City) streamOptions() natsbus.StreamOptions {
	return natsbus.StreamOptions{Replicas: c.Config.NATS.Replicas, AlertMaxAge: alert.MaxLifetime + 24*time.Hour,
		MaxStore: c.Config.NATS.MaxStoreMB << 20}
}

// alertProbeEvery is how often the city looks at its streams and store
// (probeAlerts): a full store shows on /healthz within this, before an
// alert is refused.
const alertProbeEvery = 3 * time.Second

// reconcileConsumers creates the consumer of every ward that has none, and
// updates those whose groups changed; 8 at a time.
func (c *City) reconcileConsumers(ctx context.Context) {
	h := c.alerts
	wards, err := c.DB.Read().Wards(ctx)
	if err != nil {
		c.Log.Error("ward consumers", "err", err)
		return
	}
	var todo []sqlite.Ward
	h.mu.Lock()
	for _, w := range wards {
		if g, ok := h.consumers[w.ID]; !ok || g != strings.Join(w.Groups, ",") {
			todo = append(todo, w)
		}
	}
	h.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	// A consumer made now delivers the alerts still live (a server that
	// restarted lost the consumers, not the alerts); wards take those they
	// had as duplicates.
	var from time.Time
	if at, ok, err := c.DB.Read().EarliestLiveAlert(ctx, c.Now()); err != nil {
		c.Log.Error("ward consumers", "err", err)
		return
	} else if ok {
		from = at.Add(-time.Second)
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var failed int
	var mu sync.Mutex
	for _, w := range todo {
		sem <- struct{}{}
		wg.Add(1)
		go func(w sqlite.Ward) {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := natsbus.EnsureWardConsumer(cctx, h.js, w.ID, w.Groups, from); err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				c.Log.Warn("ward consumer not ready", "ward", w.ID, "err", err)
				return
			}
			h.mu.Lock()
			h.consumers[w.ID] = strings.Join(w.Groups, ",")
			h.mu.Unlock()
		}(w)
	}
	wg.Wait()
	c.Log.Info("ward consumers ready", "wards", len(todo)-failed, "failed", failed)
}

// NotifyPrograms tells wards that their programs changed, so that they
// fetch their manifest now rather than at their next poll: loa.notify.all
// for a city-wide change, else one message per ward changed. Best effort
// (core NATS): a ward that misses it polls anyway.
func (c *City) NotifyPrograms(target string, changed []string) {
	h := c.alerts
	if h == nil || len(changed) == 0 {
		return
	}
	if target == TargetAll {
		h.link.Conn.Publish(natsbus.NotifyAll, nil)
		return
	}
	for _, w := range changed {
		h.link.Conn.Publish(natsbus.NotifyWard(w), nil)
	}
}

// IssueWardKey gives ward a new NATS key and returns its seed, shown once:
// the city keeps only the public key. The previous key stops working at
// the ward's next connection.
func (c *City) IssueWardKey(ctx context.Context, ward string) (string, error) {
	seed, pub, err := natsbus.NewUserKey()
	if err != nil {
		return "", err
	}
	err = c.DB.Update(ctx, func(tx sqlite.CityTx) error {
		if _, err := tx.Ward(ctx, ward); err != nil {
			if errors.Is(err, sqlite.ErrNotFound) {
				return badInput("ward %s does not exist", ward)
			}
			return err
		}
		return tx.SetWardNKey(ctx, ward, pub)
	})
	if err != nil {
		return "", err
	}
	c.Log.Info("ward NATS key issued", "ward", ward, "nkey", pub)
	return seed, nil
}

// NATSAuthorization is the authorization block for an external NATS
// server (loa-city nats config).
func (c *City) NATSAuthorization(ctx context.Context) (string, error) {
	seed, err := natsbus.LoadOrCreateSeed(c.Config.NATS.Seed)
	if err != nil {
		return "", err
	}
	pub, _ := natsbus.PublicKey(seed)
	keys, err := c.DB.Read().WardNKeys(ctx)
	if err != nil {
		return "", err
	}
	wards := make([]natsserver.WardKey, len(keys))
	for i, k := range keys {
		wards[i] = natsserver.WardKey{Ward: k.Ward, Groups: k.Groups, NKey: k.NKey}
	}
	return natsserver.AuthorizationConfig(pub, c.Config.NATS.AdminKeys, wards), nil
}

// NATSState is the city's link to NATS, for its status.
func (c *City) NATSState() (natsbus.LinkState, error) {
	h := c.alerts
	if h == nil {
		return natsbus.LinkState{}, ErrNoNATS
	}
	h.mu.Lock()
	err := h.setupErr
	h.mu.Unlock()
	return h.link.State(), err
}

// WaitAlerts waits until the streams are set up (StartAlerts returns
// before, when an external server does not answer yet).
func (c *City) WaitAlerts(ctx context.Context) error {
	h := c.alerts
	if h == nil {
		return ErrNoNATS
	}
	select {
	case <-h.ready:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		defer h.mu.Unlock()
		return fmt.Errorf("NATS streams not ready: %v (last error: %v)", ctx.Err(), h.setupErr)
	}
}
