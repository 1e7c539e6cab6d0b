package natsserver

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Directory finds wards by their NATS key; the city's database answers.
type Directory interface {
	// WardByNKey returns the ward whose public NKEY is key, and its
	// groups; an error when there is none.
	WardByNKey(ctx context.Context, key string) (ward string, groups []string, err error)
}

// Config configures the embedded server.
type Config struct {
	// Listen is the client address (host:port; port 0 picks one).
	Listen string
	// StoreDir is JetStream's folder.
	StoreDir string
	// MaxStore bounds JetStream's disk use (bytes; 0: 1 GiB).
	MaxStore int64
	// CityKey is the city's public NKEY: every right.
	CityKey string
	// AdminKeys are other public NKEYs with every right (monitoring,
	// tools).
	AdminKeys []string
	Wards     Directory
	Log       *slog.Logger
	// OnDuplicate, if set, is told of every ward login that replaced
	// another live connection of the same ward (see takeover). It is
	// called from its own goroutine, never under the server's locks.
	OnDuplicate func(DuplicateLogin)
	// ActiveWindow: an older connection that sent something within this
	// long before it was replaced was alive, and its replacement is a
	// duplicate login; an idle one was most likely the stale socket of a
	// station that rebooted (default 45 s: a ward publishes a heartbeat
	// every 15 s and pulls its alert consumer more often).
	ActiveWindow time.Duration
	// Denied, if set, is called for every attempt the server refuses for
	// lack of permission (denied.go), from the client's read loop: it
	// must be quick.
	Denied func(Denial)
	// TLS, if set, is required of every client connecting over the
	// network (the city's own in-process connection needs none).
	TLS *tls.Config
}

// StartServer starts the embedded NATS server with JetStream: file
// storage under StoreDir, every write synced to disk before it is
// acknowledged (sync_interval: always), and NKEY authentication against
// the ward directory at each connect, so that a ward registered while the
// server runs can connect at once and its permissions follow its groups.
func Start(cfg Config) (*server.Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	host, portS, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.listen %q: %v", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("nats.listen %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if cfg.MaxStore == 0 {
		cfg.MaxStore = 1 << 30
	}
	opts := &server.Options{
		ServerName:        "loa-city",
		Host:              host,
		Port:              port,
		JetStream:         true,
		StoreDir:          cfg.StoreDir,
		JetStreamMaxStore: cfg.MaxStore,
		// A storm warning acknowledged to the operator is on disk: a power
		// cut of the city's server must not lose it.
		SyncAlways:            true,
		NoSigs:                true,
		MaxPayload:            1 << 20,
		PingInterval:          20 * time.Second,
		MaxPingsOut:           3,
		WriteDeadline:         10 * time.Second,
		DisableShortFirstPing: true,
		// The nonce lets clients prove they hold their NKEY seed.
		AlwaysEnableNonce: true,
		// Every ward has its own durable consumer on ALERTS: the server's
		// default of 1,000 consumers a stream (nats-server 2.12 on) left
		// the wards after the thousandth without one, receiving no alert.
		// -1: no default limit (the streams set none).
		JetStreamLimits: server.JSLimitOpts{DefaultMaxConsumers: -1},
	}
	if cfg.ActiveWindow <= 0 {
		cfg.ActiveWindow = 45 * time.Second
	}
	if cfg.TLS != nil {
		opts.TLSConfig, opts.TLS, opts.TLSTimeout = cfg.TLS, true, 5
	}
	auth := &authenticator{cfg: cfg, admins: map[string]bool{cfg.CityKey: true}}
	for _, k := range cfg.AdminKeys {
		auth.admins[k] = true
	}
	opts.CustomClientAuthentication = auth
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	auth.srv = s
	s.SetLoggerV2(&slogLogger{log: cfg.Log.With("component", "nats"), denials: newDenials(&cfg)}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(15 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server: not ready after 15 s (listen %s)", cfg.Listen)
	}
	return s, nil
}

// authenticator checks a client's NKEY signature of the server's nonce,
// then binds it to its identity: the city and admins get every right, a
// ward its own subjects.
type authenticator struct {
	cfg    Config
	admins map[string]bool
	srv    *server.Server
	// takeMu makes takeovers one at a time, so that two logins of one
	// ward at the same moment cannot close each other: the newest wins.
	takeMu sync.Mutex
	// authed holds, per ward key, the remote addresses of its logins
	// that passed Check (pruned to the open ones at each takeover): a
	// connection that claims the key but has not proved it is never
	// taken for the ward's. The first login of a key since the server
	// started cannot replace anything and is not looked up (after a
	// restart, every ward logs in at once).
	authed map[string]map[string]bool
}

func (a *authenticator) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false
	}
	opts := c.GetOpts()
	if opts == nil || opts.Nkey == "" || opts.Sig == "" {
		a.cfg.Log.Warn("nats connection refused: no NKEY", "remote", remote(c))
		return false
	}
	if err := verifyNonce(opts.Nkey, opts.Sig, c.GetNonce()); err != nil {
		a.cfg.Log.Warn("nats connection refused: bad NKEY signature", "remote", remote(c), "err", err)
		return false
	}
	if a.admins[opts.Nkey] {
		c.RegisterUser(&server.User{Username: "city"})
		return true
	}
	if a.cfg.Wards == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ward, groups, err := a.cfg.Wards.WardByNKey(ctx, opts.Nkey)
	if err != nil {
		a.cfg.Log.Warn("nats connection refused: unknown key", "remote", remote(c), "nkey", opts.Nkey, "err", err)
		return false
	}
	c.RegisterUser(&server.User{Username: "ward:" + ward, Permissions: WardPermissions(ward, groups)})
	a.cfg.Log.Debug("ward connected", "ward", ward, "remote", remote(c))
	if addr := c.RemoteAddress(); addr != nil && a.srv != nil && a.loggedIn(opts.Nkey, addr.String()) {
		// The server holds the new client's lock while it asks us: the
		// older connections are looked up and closed once Check returns.
		go a.takeover(ward, opts.Nkey)
	}
	return true
}

func remote(c server.ClientAuthentication) string {
	if addr := c.RemoteAddress(); addr != nil {
		return addr.String()
	}
	return "in-process"
}

func verifyNonce(nkey, sig string, nonce []byte) error {
	if len(nonce) == 0 {
		return errors.New("no nonce")
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return errors.New("signature is not base64")
		}
	}
	if !nkeys.IsValidPublicUserKey(nkey) {
		return errors.New("not a user NKEY")
	}
	pub, err := nkeys.FromPublicKey(nkey)
	if err != nil {
		return err
	}
	return pub.Verify(nonce, raw)
}

// slogLogger routes the server's log to slog: its notices (a banner at
// every start) at debug, warnings and errors as they are, but refusals for
// lack of permission, which denials names, counts and logs.
type slogLogger struct {
	log     *slog.Logger
	denials *denials
}

func (l *slogLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *slogLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *slogLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *slogLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if l.denials != nil && l.denials.take(msg) {
		return
	}
	l.log.Error(msg)
}
func (l *slogLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *slogLogger) Tracef(format string, v ...any) {}
