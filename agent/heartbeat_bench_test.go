package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"loa/city"
	"loa/fleet"
	"loa/internal/testwait"
	"loa/natsbus"
	"loa/natsbus/natsserver"
)

// From a ward going silent to `silent!` at the city, with the defaults: the
// agent calls silence after 10 s (silence.after), heartbeats every 15 s,
// and sends one at once when silence begins. The real daemon plays a
// program of digital silence; the real city (board, NATS server) watches.
//
//	go test ./agent -run '^$' -bench SilenceToCity -benchtime 3x
func BenchmarkSilenceToCity(b *testing.B) {
	for range b.N {
		b.StopTimer()
		d := silenceToCity(b)
		b.ReportMetric(d.Seconds(), "s_to_silent")
		b.Logf("silent! at the city %.2f s after the silence began", d.Seconds())
	}
}

func silenceToCity(b *testing.B) time.Duration {
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := city.DefaultConfig()
	cfg.Data = filepath.Join(dir, "city")
	c, err := city.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AddWard(ctx, "phuong-1", nil); err != nil {
		b.Fatal(err)
	}
	citySeed, cityPub, _ := natsbus.NewUserKey()
	wardSeed, wardPub, _ := natsbus.NewUserKey()
	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: filepath.Join(dir, "nats"), CityKey: cityPub, Wards: oneWard{wardPub, "phuong-1"}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	cityLink, err := natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed})
	if err != nil {
		b.Fatal(err)
	}
	defer cityLink.Close()
	go c.ServeFleetNATS(ctx, cityLink.Conn)
	go c.RunFleet(ctx)
	wardLink, err := natsbus.Dial(natsbus.ConnOptions{URLs: srv.ClientURL(), Seed: wardSeed, InboxPrefix: natsbus.InboxPrefix("phuong-1")})
	if err != nil {
		b.Fatal(err)
	}
	defer wardLink.Close()
	tr, err := NewNATSFleetTransport(wardLink.Conn, "phuong-1")
	if err != nil {
		b.Fatal(err)
	}

	data := filepath.Join(dir, "data")
	writeTone(b, filepath.Join(dir, "media/silence.wav"), 44100, 0, 0, 60)
	clock := &shiftedClock{}
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, ict)
	clock.setTo(start.Add(-3 * time.Second))
	prog := filepath.Join(dir, "p.yaml")
	writeFile(b, prog, "programs:\n  - id: hush\n    cron: \"0 8 * * *\"\n    items: [media/silence.wav]\n")
	if code, _, stderr := runCLI(b, clock.Now(), "program", "load", prog, "--data", data); code != 0 {
		b.Fatal(stderr)
	}
	acfg := DefaultConfig()
	acfg.Data, acfg.Ward, acfg.Clock, acfg.HTTP.Listen, acfg.Audio.Output = data, "phuong-1", "trust", "127.0.0.1:0", "null"
	d := &Daemon{Cfg: acfg, Now: clock.Now, Log: slog.New(slog.DiscardHandler), FleetTransport: tr}
	began := time.Now().Add(start.Sub(clock.Now()))
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	seen := testwait.Poll(time.Minute+time.Until(began), func() bool {
		v, ok := c.Board().Ward("phuong-1")
		return ok && v.Health.State == fleet.Silent
	})
	if !seen {
		b.Fatal("the city never saw the silence")
	}
	return time.Since(began)
}
