package citytest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus"
)

// Bus is the city's NATS as a test sees it: the embedded server's URL and
// an admin connection (a key in nats.admin_keys) that can publish and read
// anything, as an attacker holding a leaked admin key could.
type Bus struct {
	URL   string
	Admin *nats.Conn
	JS    jetstream.JetStream
}

// StartAlerts starts the city's embedded NATS server on a loopback port
// (JetStream in the city's data folder) with an admin key for the test,
// and waits until its streams are ready.
func (c *City) StartAlerts(t testing.TB) *Bus {
	t.Helper()
	adminSeed, adminPub, err := natsbus.NewUserKey()
	if err != nil {
		t.Fatal(err)
	}
	c.City.Config.NATS.Listen = "127.0.0.1:0"
	c.City.Config.NATS.AdminKeys = append(c.City.Config.NATS.AdminKeys, adminPub)
	stop, err := c.City.StartAlerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.City.WaitAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	b := &Bus{URL: "nats://" + c.City.NATSAddr()}
	l, err := natsbus.Dial(natsbus.ConnOptions{URLs: b.URL, Seed: adminSeed, Name: "test admin"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	for deadline := time.Now().Add(5 * time.Second); !l.Conn.IsConnected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("admin connection: %+v", l.State())
		}
	}
	b.Admin = l.Conn
	b.JS, _ = jetstream.New(l.Conn)
	return b
}

// WardKey gives ward a NATS key and returns its seed.
func (c *City) WardKey(t testing.TB, ward string) string {
	t.Helper()
	seed, err := c.City.IssueWardKey(context.Background(), ward)
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// StreamMsgs is how many messages a stream holds.
func (b *Bus) StreamMsgs(t testing.TB, stream string) uint64 {
	t.Helper()
	s, err := b.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
