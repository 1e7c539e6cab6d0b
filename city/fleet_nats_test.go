package city_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/agent"
	"loa/city"
	"loa/city/citytest"
	"loa/fleet"
	"loa/internal/testwait"
	"loa/natsbus"
	"loa/natsbus/natsserver"
)

type wardDir map[string]string // public key → ward

func (d wardDir) WardByNKey(ctx context.Context, key string) (string, []string, error) {
	if w, ok := d[key]; ok {
		return w, nil, nil
	}
	return "", nil, errors.New("no such ward")
}

// A ward's heartbeats and as-run entries reach the city through a real
// NATS server with the wards' real permissions: heartbeats into the board,
// as-run entries into the database once, and a ward cannot speak for
// another.
func TestFleetOverNATS(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1")
	c.AddWard(t, "phuong-2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wardLink, tr, served, cityJS := startFleetBusJS(ctx, t, c)
	if st := tr.State(); !st.Connected || st.Kind != "nats" {
		t.Errorf("transport state %+v", st)
	}

	hb := fleet.Heartbeat{Ward: "phuong-1", Seq: 1, Sent: time.Now().UnixMilli(), Every: 15, Version: "test",
		Clock: fleet.Clock{Source: "ntp", Trusted: true}, Device: fleet.Device{OK: true}, LevelDBFS: -12,
		OnAir: &fleet.Playing{Kind: "program", ID: "ban-tin-sang"}, DiskFree: 1 << 30}
	// Sent again until the city's subscription is up (a real agent sends
	// every interval).
	waitForFleet(t, "the heartbeat at the city", func() bool {
		hb.Seq++
		data, _ := hb.Encode(nil)
		if err := tr.PublishHeartbeat(data); err != nil {
			t.Fatal(err)
		}
		v, ok := c.Board().Ward("phuong-1")
		return ok && v.Beat != nil && v.Health.State == fleet.OnAir
	})
	// phuong-1 speaking for phuong-2: the server refuses the subject. A
	// heartbeat of its own sent after it on the same connection arrives
	// after it would have (NATS keeps a connection's order): once that
	// one is on the board, the forged one is known not to come.
	forged := hb
	forged.Ward = "phuong-2"
	data, _ := forged.Encode(nil)
	wardLink.Conn.Publish(fleet.HeartbeatSubject("phuong-2"), data)
	hb.Seq++
	marker := hb.Seq
	data, _ = hb.Encode(nil)
	if err := tr.PublishHeartbeat(data); err != nil {
		t.Fatal(err)
	}
	waitForFleet(t, "the heartbeat sent after the forged one", func() bool {
		v, _ := c.Board().Ward("phuong-1")
		return v.Beat != nil && v.Beat.Seq == marker
	})
	if v, _ := c.Board().Ward("phuong-2"); v.Beat != nil {
		t.Fatal("a ward's heartbeat for another ward was taken")
	}

	var msgs []agent.AsRunMessage
	for i := int64(1); i <= 3; i++ {
		e := fleet.AsRunEntry{Ward: "phuong-1", ID: i, Program: "ban-tin-sang", Kind: "program", Part: int(i - 1), Item: "a.mp3",
			Occurrence: 1_777_000_000_000, Planned: 1_777_000_000_000 + i*1000, Actual: 1_777_000_000_000 + i*1000 + 5, Result: "completed"}
		b, _ := json.Marshal(e)
		msgs = append(msgs, agent.AsRunMessage{ID: e.MsgID(), Data: b})
	}
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	for i, err := range tr.PublishAsRun(actx, msgs) {
		if err != nil {
			t.Fatalf("as-run %d not acknowledged: %v", i, err)
		}
	}
	count := func() int {
		rows, err := c.DB.Read().AsRun(ctx, "phuong-1", time.UnixMilli(0), time.UnixMilli(2_000_000_000_000))
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	defer func() {
		if t.Failed() {
			t.Logf("city log:\n%s", c.Logs.String())
		}
	}()
	waitForFleet(t, "3 as-run rows at the city", func() bool { return count() == 3 })
	// Shipped again after a lost acknowledgement (past the stream's
	// duplicate window too: the city's table keeps one copy).
	for _, err := range tr.PublishAsRun(actx, msgs[1:]) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Whether the stream dropped them as duplicates or kept them, the
	// city has taken everything once its consumer has nothing pending.
	waitForFleet(t, "the city's as-run consumer caught up", func() bool {
		cons, err := cityJS.Consumer(ctx, fleet.AsRunStream, city.AsRunConsumer)
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.NumPending == 0 && info.NumAckPending == 0
	})
	if n := count(); n != 3 {
		t.Fatalf("%d rows after shipping twice", n)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func waitForFleet(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, what, 10*time.Second, cond)
}

// startFleetBus starts an embedded NATS server whose one ward is
// phuong-1, the city's fleet intake on it (until ctx ends; its result on
// served) and phuong-1's real fleet transport over TCP.
func startFleetBus(ctx context.Context, t *testing.T, c *citytest.City) (*natsbus.Link, agent.FleetTransport, <-chan error) {
	t.Helper()
	wardLink, tr, served, _ := startFleetBusJS(ctx, t, c)
	return wardLink, tr, served
}

// startFleetBusJS is startFleetBus, with the city's JetStream.
func startFleetBusJS(ctx context.Context, t *testing.T, c *citytest.City) (*natsbus.Link, agent.FleetTransport, <-chan error, jetstream.JetStream) {
	t.Helper()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	wardSeed, wardPub, _ := natsbus.NewUserKey()
	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: cityPub,
		Wards: wardDir{wardPub: "phuong-1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	cityLink, err := natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed, Name: "city"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cityLink.Close)
	js, _ := jetstream.New(cityLink.Conn)
	if err := natsbus.EnsureStreams(ctx, js, natsbus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.ServeFleetNATS(ctx, cityLink.Conn) }()
	wardLink, err := natsbus.Dial(natsbus.ConnOptions{URLs: srv.ClientURL(), Seed: wardSeed, Name: "phuong-1", InboxPrefix: natsbus.InboxPrefix("phuong-1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wardLink.Close)
	waitForFleet(t, "the ward's connection", func() bool { return wardLink.Conn.IsConnected() })
	tr, err := agent.NewNATSFleetTransport(wardLink.Conn, "phuong-1")
	if err != nil {
		t.Fatal(err)
	}
	return wardLink, tr, done, js
}
