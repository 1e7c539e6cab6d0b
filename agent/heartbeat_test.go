package agent

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/fleet"
	"loa/internal/testdb"
	"loa/internal/testwait"
	"loa/natsbus"
	"loa/natsbus/natsserver"
)

type oneWard struct{ key, ward string }

func (d oneWard) WardByNKey(ctx context.Context, key string) (string, []string, error) {
	if key == d.key {
		return d.ward, nil, nil
	}
	return "", nil, errors.New("no such ward")
}

// cityBus is a real NATS server as the city runs it, the city's own
// connection listening to the ward's heartbeats, and the ward's
// connection with the ward's permissions.
type cityBus struct {
	city  *natsbus.Link
	ward  *natsbus.Link
	js    jetstream.JetStream
	mu    sync.Mutex
	beats []fleet.Heartbeat
	sizes []int
}

func startCityBus(t *testing.T, ward string) *cityBus {
	t.Helper()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	wardSeed, wardPub, _ := natsbus.NewUserKey()
	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: cityPub, Wards: oneWard{wardPub, ward}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	b := &cityBus{}
	if b.city, err = natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.city.Close)
	b.js, _ = jetstream.New(b.city.Conn)
	if err := natsbus.EnsureStreams(context.Background(), b.js, natsbus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	b.city.Conn.Subscribe(fleet.HeartbeatPrefix+"*", func(m *nats.Msg) {
		hb, err := fleet.DecodeHeartbeat(m.Data, fleet.WardOfSubject(m.Subject, fleet.HeartbeatPrefix))
		if err != nil {
			t.Errorf("heartbeat: %v", err)
			return
		}
		b.mu.Lock()
		b.beats = append(b.beats, hb)
		b.sizes = append(b.sizes, len(m.Data))
		b.mu.Unlock()
	})
	b.city.Conn.Flush()
	if b.ward, err = natsbus.Dial(natsbus.ConnOptions{URLs: srv.ClientURL(), Seed: wardSeed, InboxPrefix: natsbus.InboxPrefix(ward)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.ward.Close)
	return b
}

func (b *cityBus) last() (fleet.Heartbeat, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.beats) == 0 {
		return fleet.Heartbeat{}, 0
	}
	return b.beats[len(b.beats)-1], len(b.beats)
}

func (b *cityBus) transport(t *testing.T, ward string) func(*Daemon) {
	tr, err := NewNATSFleetTransport(b.ward.Conn, ward)
	if err != nil {
		t.Fatal(err)
	}
	return func(d *Daemon) { d.FleetTransport = tr }
}

// The daemon's heartbeats say what the city needs: the program on air,
// silence as soon as it is detected (not at the next regular heartbeat),
// the start; its as-run entries reach the stream and are marked shipped.
func TestHeartbeatsAndShipping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/silence.wav"), 44100, 0, 0, 5)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 7, 59, 58, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: hush\n    title: Im lặng\n    cron: \"0 8 * * *\"\n    items: [media/silence.wav]\n", clock.Now())
	bus := startCityBus(t, "phuong-7")
	td := startDaemon(t, data, clock, func(c *Config) {
		c.Ward = "phuong-7"
		c.Silence.After = Duration(2 * time.Second)
		c.Fleet.Heartbeat = Duration(10 * time.Second) // regular beats are rare: changes must come on their own
	}, bus.transport(t, "phuong-7"))

	waitFor(t, "a first heartbeat", 5*time.Second, func() bool { _, n := bus.last(); return n > 0 })
	first, _ := bus.last()
	if first.Ward != "phuong-7" || first.Every != 10 || first.OnAir != nil || !first.Device.OK || !first.Clock.Trusted || first.Clock.Source != "config" || first.DiskFree <= 0 {
		t.Fatalf("first heartbeat: %+v", first)
	}
	waitFor(t, "the program on air in a heartbeat", 5*time.Second, func() bool { h, _ := bus.last(); return h.OnAir != nil })
	h, _ := bus.last()
	if h.OnAir.ID != "hush" || h.OnAir.Title != "Im lặng" || h.OnAir.Item != "silence.wav" || h.LastStart == nil || h.LastStart.Program != "hush" ||
		h.LastStart.LateMS != 0 || h.Counters.Starts != 1 || h.Counters.LateStarts != 0 {
		t.Fatalf("on air: %+v %+v", h.OnAir, h.LastStart)
	}
	// Silence after 2 s of it: reported within a second, long before the
	// next regular heartbeat.
	onAirAt := time.Now()
	waitFor(t, "silence in a heartbeat", 5*time.Second, func() bool { h, _ := bus.last(); return h.Silent > 0 })
	if d := time.Since(onAirAt); d > 4*time.Second {
		t.Errorf("silence reported %s after the start", d)
	}
	h, _ = bus.last()
	if h.LevelDBFS != -150 {
		t.Errorf("level during digital silence: %v", h.LevelDBFS)
	}

	// A bound on a hang, not a pace: the entry ships in the round after
	// the program ends (every 2 s), and a round that fails on a loaded
	// machine is tried again after a backoff that doubles.
	waitFor(t, "the as-run entry shipped", 60*time.Second, func() bool {
		db := testdb.Agent(t, filepath.Join(data, "loa.db"))
		rows, _ := db.AsRun(context.Background(), time.Time{}, time.Now().Add(1000*time.Hour))
		left, _ := db.UnshippedAsRun(context.Background(), 10)
		return len(rows) == 1 && len(left) == 0
	})
	st, err := bus.js.Stream(context.Background(), natsbus.StreamAsRun)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(context.Background(), fleet.AsRunSubject("phuong-7"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := fleet.DecodeAsRun(msg.Data, "phuong-7")
	if err != nil || e.Program != "hush" || e.Result != "completed" || !strings.Contains(e.Note, "silent on air") || e.Item != "media/silence.wav" {
		t.Fatalf("shipped entry %+v: %v", e, err)
	}
	rep := td.status()
	if rep.Fleet == nil || !rep.Fleet.Transport.Connected || rep.Fleet.HeartbeatsSent == 0 || rep.Fleet.AsRunUnshipped != 0 ||
		rep.Fleet.LastShipped == nil || rep.Fleet.HeartbeatBytes >= 1024 || rep.Fleet.HeartbeatEvery != 10 {
		t.Errorf("status: %+v", rep.Fleet)
	}
	var text strings.Builder
	printStatus(&text, rep)
	if !strings.Contains(text.String(), "kết nối / link (nats): đã kết nối / connected nats://") || !strings.Contains(text.String(), "as-run not yet shipped: 0") {
		t.Errorf("loa-agent status:\n%s", text.String())
	}
	bus.mu.Lock()
	for _, n := range bus.sizes {
		if n >= 1024 {
			t.Errorf("a heartbeat of %d bytes", n)
		}
	}
	bus.mu.Unlock()
}

// A program a running station comes to after its start (here its clock
// was corrected forward across the start) is a late start; one it could
// not have started on time (it was not running yet: TestFleetHealthEndToEnd)
// is joined, not late.
func TestHeartbeatLateStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/tone.wav"), 44100, 440, 0.3, 30)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 7, 59, 50, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: ban-tin\n    cron: \"0 8 * * *\"\n    items: [media/tone.wav]\n", clock.Now())
	bus := startCityBus(t, "phuong-8")
	td := startDaemon(t, data, clock, func(c *Config) {
		c.Ward = "phuong-8"
		c.Fleet.Heartbeat = Duration(time.Second)
	}, bus.transport(t, "phuong-8"))
	// The station runs before the start (a loaded machine may take a
	// moment to make its first steps), then its clock is corrected.
	waitFor(t, "the player's first steps", 10*time.Second, func() bool { return td.d.pl.Status().Steps >= 2 })
	clock.setTo(time.Date(2026, 11, 26, 8, 0, 6, 0, ict))
	// The first heartbeat after the start may measure a window that is
	// mostly the silence before it; the tone's level shows in the next.
	// A bound on a hang, not a pace: heartbeats come every second.
	if !testwait.Poll(30*time.Second, func() bool {
		h, _ := bus.last()
		return h.LastStart != nil && h.LevelDBFS >= -30
	}) {
		h, n := bus.last()
		t.Fatalf("no heartbeat of the late start with the tone's level in 30 s: %d heartbeats, the last %+v (last start %+v); the player: %+v", n, h, h.LastStart, td.d.pl.Status())
	}
	h, _ := bus.last()
	upper := clock.Now().Sub(time.Date(2026, 11, 26, 8, 0, 0, 0, ict))
	if late := time.Duration(h.LastStart.LateMS) * time.Millisecond; late < 6*time.Second || late > upper || h.Counters.LateStarts != 1 || h.LevelDBFS < -30 {
		t.Fatalf("late start %+v, counters %+v, level %v", h.LastStart, h.Counters, h.LevelDBFS)
	}
	if got := fleet.Evaluate(clock.Now(), fleet.Observation{Heartbeat: &h, Received: clock.Now()}, fleet.Thresholds{}); got.State != fleet.Late {
		t.Errorf("the city would say %+v", got)
	}
}

// The status page, its files and the timeline are served by the daemon.
func TestStatusPageRoutes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/tone.wav"), 44100, 440, 0.3, 2)
	clock := &shiftedClock{}
	clock.setTo(time.Date(2026, 11, 26, 7, 0, 0, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: sang\n    title: Bản tin sáng\n    cron: \"30 5 * * *\"\n    items: [media/tone.wav]\n  - id: chieu\n    cron: \"0 17 * * 1-5\"\n    items: [media/tone.wav]\n", clock.Now())
	td := startDaemon(t, data, clock, nil)
	code, body := td.get("/")
	if code != 200 || !strings.Contains(body, "Đang phát") || !strings.Contains(body, "static/app.js") {
		t.Fatalf("/: %d %s", code, body)
	}
	if code, body := td.get("/static/app.js"); code != 200 || !strings.Contains(body, "api/v1/timeline") {
		t.Fatalf("app.js: %d", code)
	}
	if code, _ := td.get("/nothing"); code != 404 {
		t.Errorf("/nothing: %d", code)
	}
	var tl Timeline
	_, body = td.get("/api/v1/timeline?date=2026-11-26")
	if err := json.Unmarshal([]byte(body), &tl); err != nil || tl.Date != "2026-11-26" || len(tl.Programs) != 2 ||
		tl.Programs[0].ID != "sang" || tl.Programs[0].Items[0] != "tone.wav" || tl.Programs[1].ID != "chieu" {
		t.Fatalf("timeline: %v %s", err, body)
	}
	_, body = td.get("/api/v1/timeline?date=2026-11-28") // a Saturday: no afternoon program
	json.Unmarshal([]byte(body), &tl)
	if len(tl.Programs) != 1 {
		t.Errorf("Saturday: %s", body)
	}
	if code, body := td.get("/api/v1/timeline?date=mai"); code != 400 || !strings.Contains(body, "want YYYY-MM-DD") {
		t.Errorf("bad date: %d %s", code, body)
	}
	if rep := td.status(); rep.Fleet != nil {
		t.Errorf("no transport, yet a fleet status: %+v", rep.Fleet)
	}
}
