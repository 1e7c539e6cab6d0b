// Package citybus is the city's side of NATS: the adapter between the
// bus and the city's services. It owns the city's connection (and the
// embedded server when there is no external one), the streams and each
// ward's alert consumer, the publishing of alert copies and live
// announcements (it is city/alerting's Publisher), the intake of the
// wards' receipts (REPORTS, through natsbus.ConsumeLoop), heartbeats and
// as-run entries (ASRUN), programs' change notices, the look at the
// streams and store behind /healthz, and the alert path's /metrics series.
//
// It knows NATS and nothing else: what a message means is the services'.
// It reaches them through the small interfaces declared here (Alerting,
// Board, ReceiptKeys, Wards), never through the city, HTTP or the
// database; package city builds it (StartAlerts) and hands it the
// services. TLS stays with the city, which owns the certificate HTTPS and
// NATS share: the bus is given a *tls.Config.
package citybus

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/city/alerting"
	"loa/fleet"
	"loa/natsbus"
	"loa/natsbus/natsserver"
)

// Alerting is city/alerting as the bus uses it: the publishing rounds and
// live repeats it drives, the receipts it takes in, and the health it
// reports to.
type Alerting interface {
	// PublishPending publishes the copies not yet in JetStream.
	PublishPending(ctx context.Context) int
	// RepeatLive repeats the live announcements until ctx ends.
	RepeatLive(ctx context.Context)
	// Probed records what a look at the streams and store found.
	Probed(p alerting.Probe)
	// Health and Problems are the alert path's state, for /metrics.
	Health() alerting.Health
	Problems() []string
	// LastReceiptSeq is where the receipt intake resumes.
	LastReceiptSeq(ctx context.Context) (uint64, error)
	// OpenReceipt reads a receipt (a *alerting.KeyError: try again later;
	// alerting.Forged: not the ward's own signature).
	OpenReceipt(ctx context.Context, ward string, data []byte, seq uint64) (alerting.Receipt, error)
	// RecordReceipts records a batch of receipts in one transaction.
	RecordReceipts(ctx context.Context, reps []alerting.Receipt) error
	// SetPublisher makes the bus alerting's publisher once its link is up.
	SetPublisher(p alerting.Publisher)
}

// Board is city/board as the bus uses it: the wards' budgets on the bus,
// heartbeats and as-run intake, and identity alarms.
type Board interface {
	// Board is the live board (loaded on first use).
	Board() *fleet.Board
	// Allow takes one message of kind from ward out of its budget.
	Allow(ward, kind string) bool
	// LogBad reports whether an unreadable message may be logged now.
	LogBad(ward, kind string) bool
	// Denied counts a permission the server refused a ward.
	Denied(ward, kind, subject string)
	// DuplicateLogin and RefuseSigned are identity alarms.
	DuplicateLogin(ward, oldRemote, newRemote string, oldStart time.Time)
	RefuseSigned(ward, kind string, err error)
	// HeartbeatsStarted and HeartbeatsSince mark when heartbeats flow.
	HeartbeatsStarted()
	HeartbeatsSince() time.Time
	// TakeHeartbeat takes a heartbeat on ward's subject.
	TakeHeartbeat(ward, subject string, data []byte)
	// OpenAsRun reads an as-run line of ward, checked against its key;
	// StoreAsRun stores a batch in one transaction, returning how many
	// were new.
	OpenAsRun(ward string, data []byte, key ed25519.PublicKey) (fleet.AsRunEntry, error)
	StoreAsRun(ctx context.Context, es []fleet.AsRunEntry) (int, error)
}

// ReceiptKeys are the wards' registered receipt keys (city/accounts);
// nil: none registered.
type ReceiptKeys interface {
	ReceiptKey(ctx context.Context, ward string) (ed25519.PublicKey, error)
}

// Ward is a registered ward as the bus needs it: its subjects follow its
// id and groups.
type Ward struct {
	ID     string
	Groups []string
}

// Wards is the ward registry and alert store as the bus reads them.
type Wards interface {
	// WardByNKey is the ward whose NATS key this is.
	WardByNKey(ctx context.Context, key string) (Ward, error)
	// Wards are all registered wards.
	Wards(ctx context.Context) ([]Ward, error)
	// EarliestLiveAlert is when the oldest alert still live was issued
	// (ok false: none).
	EarliestLiveAlert(ctx context.Context, now time.Time) (at time.Time, ok bool, err error)
}

// Config is the city's NATS (nats.* in loa-city.conf, docs/nats.md).
type Config struct {
	// URL names an external server or cluster; empty: run an embedded one
	// listening on Listen, storing under StoreDir.
	URL      string
	Listen   string
	StoreDir string
	// Seed is the file holding the city's NKEY seed (created on first use).
	Seed string
	// Replicas of every stream; MaxStore bounds the embedded store (bytes).
	Replicas int
	MaxStore int64
	// AdminKeys are public NKEYs given every right on the embedded server.
	AdminKeys []string
	// TLS, when set, is required from the embedded server's clients.
	TLS *tls.Config
}

// Services are what the bus adapts to.
type Services struct {
	Alerting Alerting
	Board    Board
	Keys     ReceiptKeys
	Wards    Wards
	// Commands, if set, are the city's signed commands (commands.go).
	Commands Commands
	// Chime makes (or finds) the alert chime once the streams are ready,
	// so that its absence is said at start.
	Chime func(ctx context.Context) error
	Now   func() time.Time
	Log   *slog.Logger
}

// Bus is the city's side of NATS.
type Bus struct {
	cfg Config
	svc Services
	log *slog.Logger

	srv     *server.Server // the embedded server; nil with an external URL
	link    *natsbus.Link
	js      jetstream.JetStream
	started bool

	ready   chan struct{} // closed once streams exist
	kick    chan struct{} // publish pending copies now
	wardsCh chan struct{} // reconcile ward consumers now
	reports chan reportMsg

	mu        sync.Mutex
	consumers map[string]string // ward → its groups, as its consumer filters them
	setupErr  error
}

var _ alerting.Publisher = (*Bus)(nil)

// New is the bus over the services, not started: ServeFleet works on a
// connection of the caller's; Start makes the bus's own.
func New(cfg Config, svc Services) *Bus {
	if svc.Log == nil {
		svc.Log = slog.New(slog.DiscardHandler)
	}
	if svc.Now == nil {
		svc.Now = time.Now
	}
	return &Bus{cfg: cfg, svc: svc, log: svc.Log, ready: make(chan struct{}), kick: make(chan struct{}, 1),
		wardsCh: make(chan struct{}, 1), reports: make(chan reportMsg, 4096), consumers: map[string]string{}}
}

// Start starts the city's NATS side: the embedded server (or the
// connection to the external URL), the streams, a consumer per ward, the
// intake of the wards' receipts, heartbeats and as-run, and the publisher
// of alert copies and live announcements. It returns at once when the
// external server does not answer yet: everything is set up as soon as
// it does, and alerts sent meanwhile wait in the database. Once its
// link is up, the bus is alerting's Publisher.
func (b *Bus) Start(ctx context.Context) (stop func(), err error) {
	cfg := b.cfg
	seed, err := natsbus.LoadOrCreateSeed(cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("city NATS key: %w", err)
	}
	pub, _ := natsbus.PublicKey(seed)
	log := b.log.With("component", "nats")
	opts := natsbus.ConnOptions{URLs: cfg.URL, Seed: seed, Name: "loa-city", Log: log}
	if cfg.URL == "" {
		scfg := natsserver.Config{
			Listen: cfg.Listen, StoreDir: cfg.StoreDir, MaxStore: cfg.MaxStore,
			CityKey: pub, AdminKeys: cfg.AdminKeys, Wards: wardDirectory{b}, Log: log, TLS: cfg.TLS,
			OnDuplicate: func(d natsserver.DuplicateLogin) { b.svc.Board.DuplicateLogin(d.Ward, d.Old, d.New, d.OldStart) },
			Denied:      func(d natsserver.Denial) { b.svc.Board.Denied(d.Ward, d.Kind, d.Subject) },
		}
		b.srv, err = natsserver.Start(scfg)
		if err != nil {
			return nil, err
		}
		opts.Server = b.srv
		log.Info("embedded NATS server listening", "url", "nats://"+b.srv.Addr().String(), "store", cfg.StoreDir)
	}
	b.link, err = natsbus.Dial(opts)
	if err != nil {
		if b.srv != nil {
			b.srv.Shutdown()
		}
		return nil, err
	}
	b.js, err = jetstream.New(b.link.Conn)
	if err != nil {
		b.link.Close()
		if b.srv != nil {
			b.srv.Shutdown()
		}
		return nil, err
	}
	b.link.OnChange(func(up bool) {
		if up {
			// The server may have restarted and lost the wards' consumers
			// (kept in memory): check them all again.
			b.mu.Lock()
			clear(b.consumers)
			b.mu.Unlock()
			poke(b.wardsCh)
			poke(b.kick)
		}
	})
	b.started = true
	b.svc.Alerting.SetPublisher(b) // publish.go
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(6)
	go func() { defer wg.Done(); b.commandLoop(ctx) }()             // commands.go
	go func() { defer wg.Done(); b.ServeFleet(ctx, b.link.Conn) }() // heartbeats and as-run (fleet.go)
	go func() { defer wg.Done(); b.svc.Alerting.RepeatLive(ctx) }() // live announcements
	go func() { defer wg.Done(); b.alertLoop(ctx) }()
	go func() { defer wg.Done(); b.reportWriter(ctx) }()
	go func() { defer wg.Done(); b.reportIntake(ctx) }()
	return func() {
		cancel()
		wg.Wait()
		b.link.Close()
		if b.srv != nil {
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
	}, nil
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Addr is the embedded server's client address ("" with an external one
// or before Start).
func (b *Bus) Addr() string {
	if b == nil || b.srv == nil {
		return ""
	}
	return b.srv.Addr().String()
}

// wardDirectory answers the embedded server's question: whose key is this?
type wardDirectory struct{ b *Bus }

func (d wardDirectory) WardByNKey(ctx context.Context, key string) (string, []string, error) {
	w, err := d.b.svc.Wards.WardByNKey(ctx, key)
	if err != nil {
		return "", nil, err
	}
	h := d.b
	h.mu.Lock()
	known, ok := h.consumers[w.ID]
	h.mu.Unlock()
	if !ok || known != strings.Join(w.Groups, ",") {
		poke(h.wardsCh) // a ward registered (or regrouped) since the last look
	}
	return w.ID, w.Groups, nil
}

// alertLoop sets up the streams (retrying until NATS answers), keeps a
// consumer per ward, and publishes the copies of alerts not yet in
// JetStream.
func (b *Bus) alertLoop(ctx context.Context) {
	wait := 500 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := natsbus.EnsureStreams(sctx, b.js, b.StreamOptions())
		cancel()
		b.mu.Lock()
		b.setupErr = err
		b.mu.Unlock()
		if err == nil {
			break
		}
		b.log.Warn("NATS streams not ready; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
	close(b.ready)
	b.log.Info("NATS streams ready", "replicas", b.cfg.Replicas)
	// The chime now, not with the first alert: made once (the built-in
	// one), or its absence said at start rather than when it is needed.
	if b.svc.Chime != nil {
		if err := b.svc.Chime(ctx); err != nil {
			b.log.Error("alert chime not available: alerts asking for one are refused until it is", "err", err)
		}
	}
	b.reconcileConsumers(ctx)
	b.probeAlerts(ctx)
	b.svc.Alerting.PublishPending(ctx)
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
		case <-b.wardsCh:
			b.reconcileConsumers(ctx)
		case <-every.C:
			b.reconcileConsumers(ctx)
		case <-b.kick:
			b.svc.Alerting.PublishPending(ctx)
		case <-tick.C:
			b.svc.Alerting.PublishPending(ctx)
		case <-probe.C:
			b.probeAlerts(ctx)
		}
	}
}

// StreamOptions size the city's streams (docs/nats.md).
func (b *Bus) StreamOptions() natsbus.StreamOptions {
	return natsbus.StreamOptions{Replicas: b.cfg.Replicas, AlertMaxAge: alert.MaxLifetime + 24*time.Hour,
		MaxStore: b.cfg.MaxStore}
}

// alertProbeEvery is how often the city looks at its streams and store
// (probeAlerts): a full store shows on /healthz within this, before an
// alert is refused.
const alertProbeEvery = 3 * time.Second

// reconcileConsumers creates the consumer of every ward that has none, and
// updates those whose groups changed; 8 at a time.
func (b *Bus) reconcileConsumers(ctx context.Context) {
	wards, err := b.svc.Wards.Wards(ctx)
	if err != nil {
		b.log.Error("ward consumers", "err", err)
		return
	}
	var todo []Ward
	b.mu.Lock()
	for _, w := range wards {
		if g, ok := b.consumers[w.ID]; !ok || g != strings.Join(w.Groups, ",") {
			todo = append(todo, w)
		}
	}
	b.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	// A consumer made now delivers the alerts still live (a server that
	// restarted lost the consumers, not the alerts); wards take those they
	// had as duplicates.
	var from time.Time
	if at, ok, err := b.svc.Wards.EarliestLiveAlert(ctx, b.svc.Now()); err != nil {
		b.log.Error("ward consumers", "err", err)
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
		go func(w Ward) {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := natsbus.EnsureWardConsumer(cctx, b.js, w.ID, w.Groups, from); err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				b.log.Warn("ward consumer not ready", "ward", w.ID, "err", err)
				return
			}
			b.mu.Lock()
			b.consumers[w.ID] = strings.Join(w.Groups, ",")
			b.mu.Unlock()
		}(w)
	}
	wg.Wait()
	b.log.Info("ward consumers ready", "wards", len(todo)-failed, "failed", failed)
}

// NotifyPrograms tells wards that their programs changed, so that they
// fetch their manifest now rather than at their next poll: loa.notify.all
// for a city-wide change (all), else one message per ward changed. Best
// effort (core NATS): a ward that misses it polls anyway.
func (b *Bus) NotifyPrograms(all bool, changed []string) {
	if b == nil || b.link == nil || len(changed) == 0 {
		return
	}
	if all {
		b.link.Conn.Publish(natsbus.NotifyAll, nil)
		return
	}
	for _, w := range changed {
		b.link.Conn.Publish(natsbus.NotifyWard(w), nil)
	}
}

// State is the city's link to NATS, and why the streams are not set up
// if they are not.
func (b *Bus) State() (natsbus.LinkState, error) {
	b.mu.Lock()
	err := b.setupErr
	b.mu.Unlock()
	return b.link.State(), err
}

// Wait waits until the streams are set up (Start returns before, when an
// external server does not answer yet).
func (b *Bus) Wait(ctx context.Context) error {
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		return fmt.Errorf("NATS streams not ready: %v (last error: %v)", ctx.Err(), b.setupErr)
	}
}
