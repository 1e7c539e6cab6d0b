package city

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"loa/city/citybus"
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

// StartAlerts starts the city's NATS side (city/citybus): the embedded
// server (or the connection to nats.url), the streams, a consumer per
// ward, the intake of the wards' receipts, heartbeats and as-run, and the
// publisher of alert copies. It returns at once when the external server
// does not answer yet: everything is set up as soon as it does, and
// alerts sent meanwhile wait in the database.
//
// The wiring stays here: the configuration read from loa-city.conf, the
// TLS certificate the bus shares with HTTPS (tls.go), and the services
// the bus is handed.
func (c *City) StartAlerts(ctx context.Context) (stop func(), err error) {
	cfg := c.Config.NATS
	bcfg := c.busConfig()
	if cfg.URL == "" && cfg.TLS {
		if bcfg.TLS, err = c.NATSTLS(); err != nil {
			return nil, err
		}
	}
	b := citybus.New(bcfg, c.busServices())
	stop, err = b.Start(ctx)
	if err != nil {
		return nil, err
	}
	c.alerts = b
	c.Commands.SetBus(b)
	return stop, nil
}

// busConfig is nats.* as the bus takes it.
func (c *City) busConfig() citybus.Config {
	cfg := c.Config.NATS
	return citybus.Config{URL: cfg.URL, Listen: cfg.Listen, StoreDir: filepath.Join(c.Config.Data, "nats"), Seed: cfg.Seed,
		Replicas: cfg.Replicas, MaxStore: cfg.MaxStoreMB << 20, AdminKeys: cfg.AdminKeys}
}

// busServices are the services the bus adapts to NATS.
func (c *City) busServices() citybus.Services {
	return citybus.Services{Alerting: c.Alerting, Board: c.board, Keys: c.Accounts, Wards: busWards{c}, Commands: c.Commands,
		Chime: func(ctx context.Context) error { _, err := c.alertChime(ctx); return err },
		Now:   func() time.Time { return c.Now() }, Log: c.Log}
}

// busWards is the city's database as the bus reads it.
type busWards struct{ c *City }

func (w busWards) WardByNKey(ctx context.Context, key string) (citybus.Ward, error) {
	r, err := w.c.DB.Read().WardByNKey(ctx, key)
	return citybus.Ward{ID: r.ID, Groups: r.Groups}, err
}

func (w busWards) Wards(ctx context.Context) ([]citybus.Ward, error) {
	rs, err := w.c.DB.Read().Wards(ctx)
	ws := make([]citybus.Ward, len(rs))
	for i, r := range rs {
		ws[i] = citybus.Ward{ID: r.ID, Groups: r.Groups}
	}
	return ws, err
}

func (w busWards) EarliestLiveAlert(ctx context.Context, now time.Time) (time.Time, bool, error) {
	return w.c.DB.Read().EarliestLiveAlert(ctx, now)
}

// NATSAddr is the embedded server's client address ("" with nats.url).
func (c *City) NATSAddr() string { return c.alerts.Addr() }

// AsRunConsumer is the city's durable consumer of the ASRUN stream.
const AsRunConsumer = citybus.AsRunConsumer

// ServeFleetNATS takes the wards' heartbeats (loa.hb.*) into the board
// and stores the as-run entries of the ASRUN stream over nc until ctx
// ends (citybus.Bus.ServeFleet): the started bus's, else one over nc.
func (c *City) ServeFleetNATS(ctx context.Context, nc *nats.Conn) error {
	b := c.alerts
	if b == nil {
		b = citybus.New(c.busConfig(), c.busServices())
	}
	return b.ServeFleet(ctx, nc)
}

// NotifyPrograms tells wards that their programs changed, so that they
// fetch their manifest now rather than at their next poll (the programs
// service's Notifier; citybus). Nothing before StartAlerts.
func (c *City) NotifyPrograms(target string, changed []string) {
	if c.alerts == nil {
		return
	}
	c.alerts.NotifyPrograms(target == TargetAll, changed)
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
	if c.alerts == nil {
		return natsbus.LinkState{}, ErrNoNATS
	}
	return c.alerts.State()
}

// WaitAlerts waits until the streams are set up (StartAlerts returns
// before, when an external server does not answer yet).
func (c *City) WaitAlerts(ctx context.Context) error {
	if c.alerts == nil {
		return ErrNoNATS
	}
	return c.alerts.Wait(ctx)
}
