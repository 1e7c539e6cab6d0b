package natsserver

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"loa/internal/testwait"
	"loa/natsbus"
)

// rawWard connects with a ward's seed and does not reconnect: a copy of
// the key used by hand.
func rawWard(t *testing.T, url, seed string) *nats.Conn {
	t.Helper()
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	nc, err := nats.Connect(url, nats.Nkey(pub, func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) }), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, what, 5*time.Second, cond)
}

// A second login with a ward's key closes the first; the replacement of a
// live connection is reported with both addresses, the replacement of an
// idle one (a station that rebooted) is not.
func TestOneConnectionPerWard(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		report bool
	}{
		{"live first connection: a duplicate", time.Minute, true},
		{"idle first connection: a reconnect", time.Nanosecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed, pub, _ := natsbus.NewUserKey()
			_, cityPub, _ := natsbus.NewUserKey()
			dir := &wardDir{}
			dir.add(WardKey{Ward: "phuong-1", NKey: pub})
			otherSeed, otherPub, _ := natsbus.NewUserKey()
			dir.add(WardKey{Ward: "phuong-2", NKey: otherPub})
			var mu sync.Mutex
			var dups []DuplicateLogin
			srv, err := Start(Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: cityPub, Wards: dir, ActiveWindow: tc.window,
				OnDuplicate: func(d DuplicateLogin) {
					mu.Lock()
					dups = append(dups, d)
					mu.Unlock()
				}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Shutdown)
			url := srv.ClientURL()

			first := rawWard(t, url, seed)
			neighbour := rawWard(t, url, otherSeed)
			if err := first.Publish(natsbus.Heartbeat("phuong-1"), []byte("{}")); err != nil {
				t.Fatal(err)
			}
			first.Flush()
			second := rawWard(t, url, seed)
			waitFor(t, "the first connection closed", first.IsClosed)
			if !second.IsConnected() || !neighbour.IsConnected() {
				t.Fatalf("second %v, neighbour %v: only the first login of phuong-1 is closed", second.Status(), neighbour.Status())
			}
			if !tc.report {
				// Takeovers run one at a time: once a third login has
				// closed the second, the first takeover has ended.
				third := rawWard(t, url, seed)
				waitFor(t, "the second connection closed", second.IsClosed)
				if !third.IsConnected() {
					t.Fatalf("third %v", third.Status())
				}
				mu.Lock()
				defer mu.Unlock()
				if len(dups) != 0 {
					t.Fatalf("a reconnect reported as a duplicate: %+v", dups)
				}
				return
			}
			waitFor(t, "the duplicate reported", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(dups) == 1
			})
			d := dups[0]
			if d.Ward != "phuong-1" || d.Old == d.New || d.Old == "" || d.New == "" {
				t.Fatalf("reported %+v", d)
			}
			if got := second.ConnectedAddr(); got == d.Old {
				t.Fatalf("the new connection %s reported as the old", got)
			}
		})
	}
}

// A login that claims a ward's public key without its seed is refused and
// does not close the ward's connection.
func TestUnprovenLoginKicksNobody(t *testing.T) {
	seed, pub, _ := natsbus.NewUserKey()
	_, cityPub, _ := natsbus.NewUserKey()
	dir := &wardDir{}
	dir.add(WardKey{Ward: "phuong-1", NKey: pub})
	srv, err := Start(Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: cityPub, Wards: dir,
		OnDuplicate: func(d DuplicateLogin) { t.Errorf("reported %+v", d) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	station := rawWard(t, srv.ClientURL(), seed)
	other, _ := nkeys.CreateUser()
	for range 3 {
		_, err := nats.Connect(srv.ClientURL(), nats.Nkey(pub, other.Sign), nats.NoReconnect())
		if err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
			t.Fatalf("a login without the seed: %v", err)
		}
	}
	// A refused login starts no takeover: the station answers still.
	if err := station.Flush(); err != nil || !station.IsConnected() {
		t.Fatalf("the station's connection: %v", station.Status())
	}
}
