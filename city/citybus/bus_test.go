package citybus

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"loa/city/alerting"
	"loa/internal/testwait"
	"loa/natsbus"
)

// fakeWards is the ward registry: one ward, known by its NATS key.
type fakeWards struct{ nkey, ward string }

func (w fakeWards) WardByNKey(ctx context.Context, key string) (Ward, error) {
	if key != w.nkey {
		return Ward{}, errors.New("no such ward")
	}
	return Ward{ID: w.ward, Groups: []string{"quan-1"}}, nil
}

func (w fakeWards) Wards(ctx context.Context) ([]Ward, error) {
	return []Ward{{ID: w.ward, Groups: []string{"quan-1"}}}, nil
}

func (w fakeWards) EarliestLiveAlert(ctx context.Context, now time.Time) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

// publisherAlerting is fakeAlerting that remembers the publisher it is
// given.
type publisherAlerting struct {
	fakeAlerting
	mu  sync.Mutex
	pub alerting.Publisher
}

func (a *publisherAlerting) SetPublisher(p alerting.Publisher) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pub = p
}

func (a *publisherAlerting) publisher() alerting.Publisher {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pub
}

// The bus on a real embedded server, over fake services: it becomes
// alerting's publisher, sets up the streams, tells the ward its programs
// changed, and stores the ward's as-run line read from ASRUN.
func TestBusOnEmbeddedServer(t *testing.T) {
	wardSeed, wardPub, err := natsbus.NewUserKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	board, al := newFakeBoard(), &publisherAlerting{}
	keys := &fakeKeys{keys: map[string]ed25519.PublicKey{"phuong-1": newKey(t)}}
	board.keys["phuong-1"] = keys.keys["phuong-1"]
	chimed := make(chan struct{}, 1)
	b := New(Config{Listen: "127.0.0.1:0", StoreDir: filepath.Join(dir, "nats"), Seed: filepath.Join(dir, "city.nk"), Replicas: 1, MaxStore: 64 << 20},
		Services{Alerting: al, Board: board, Keys: keys, Wards: fakeWards{nkey: wardPub, ward: "phuong-1"},
			Chime: func(context.Context) error { chimed <- struct{}{}; return nil }})
	stop, err := b.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-chimed:
	default:
		t.Error("the chime was not made when the streams were ready")
	}
	if al.publisher() != b {
		t.Fatal("the bus is not alerting's publisher")
	}
	if ps := b.Problems(); len(ps) != 0 {
		t.Errorf("problems on a running bus: %v", ps)
	}
	if b.Addr() == "" {
		t.Fatal("no address of the embedded server")
	}

	ward, err := natsbus.Dial(natsbus.ConnOptions{URLs: "nats://" + b.Addr(), Seed: wardSeed, Name: "phuong-1", InboxPrefix: natsbus.InboxPrefix("phuong-1")})
	if err != nil {
		t.Fatal(err)
	}
	defer ward.Close()
	notices := make(chan *nats.Msg, 4)
	sub, err := ward.Conn.ChanSubscribe(natsbus.NotifyWard("phuong-1"), notices)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := ward.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	b.NotifyPrograms(false, []string{"phuong-1"})
	select {
	case <-notices:
	case <-ctx.Done():
		t.Fatal("the ward was not told its programs changed")
	}

	if err := ward.Conn.Publish(natsbus.AsRun("phuong-1"), []byte("phuong-1|tin-sang")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the as-run line stored", 15*time.Second, func() bool {
		board.mu.Lock()
		defer board.mu.Unlock()
		return len(board.stored) == 1 && len(board.stored[0]) == 1 && board.stored[0][0].Item == "tin-sang"
	})
}
