package natsserver

import (
	"context"
	"errors"
	"fmt"
	"loa/internal/testwait"
	"loa/natsbus"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// wardDir is the test's ward directory: public key → ward and groups.
type wardDir struct {
	mu sync.Mutex
	m  map[string]WardKey
}

func (d *wardDir) add(w WardKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]WardKey{}
	}
	d.m[w.NKey] = w
}

func (d *wardDir) WardByNKey(ctx context.Context, key string) (string, []string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := d.m[key]
	if !ok {
		return "", nil, errors.New("no such ward")
	}
	return w.Ward, w.Groups, nil
}

type bus struct {
	srv   *server.Server
	city  *natsbus.Link
	js    jetstream.JetStream
	dir   *wardDir
	seeds map[string]string
}

func startBus(t *testing.T, wards ...WardKey) *bus {
	t.Helper()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	b := &bus{dir: &wardDir{}, seeds: map[string]string{}}
	for _, w := range wards {
		seed, pub, _ := natsbus.NewUserKey()
		w.NKey = pub
		b.dir.add(w)
		b.seeds[w.Ward] = seed
	}
	srv, err := Start(Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: cityPub, Wards: b.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	b.srv = srv
	b.city, err = natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed, Name: "city"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.city.Close)
	b.js, _ = jetstream.New(b.city.Conn)
	ctx := context.Background()
	if err := natsbus.EnsureStreams(ctx, b.js, natsbus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range wards {
		if err := natsbus.EnsureWardConsumer(ctx, b.js, w.Ward, w.Groups, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// ward connects as ward w over TCP and collects the errors the server
// sends it (permission violations).
func (b *bus) ward(t *testing.T, w string) (*nats.Conn, *errList) {
	t.Helper()
	errs := &errList{}
	seed := b.seeds[w]
	l, err := natsbus.Dial(natsbus.ConnOptions{URLs: b.srv.ClientURL(), Seed: seed, Name: "ward " + w, InboxPrefix: natsbus.InboxPrefix(w)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	l.Conn.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs.add(err) })
	if !testwait.Poll(5*time.Second, l.Conn.IsConnected) {
		t.Fatalf("ward %s did not connect: %v", w, l.State())
	}
	return l.Conn, errs
}

type errList struct {
	mu   sync.Mutex
	errs []string
}

func (e *errList) add(err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err.Error())
	e.mu.Unlock()
}

func (e *errList) waitFor(t *testing.T, sub string) {
	t.Helper()
	if testwait.Poll(3*time.Second, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.errs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t.Fatalf("the server did not refuse %q; errors: %v", sub, e.errs)
}

func (b *bus) streamMsgs(t *testing.T, name string) uint64 {
	t.Helper()
	s, err := b.js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// Each ward's consumer delivers what is for the ward (all, its groups, its
// own subject) and nothing else.
func TestWardConsumerFilter(t *testing.T) {
	b := startBus(t, WardKey{Ward: "p1", Groups: []string{"q1"}}, WardKey{Ward: "p2", Groups: []string{"q2"}})
	ctx := context.Background()
	for _, s := range []string{natsbus.AlertAll, natsbus.AlertGroup("q1"), natsbus.AlertWard("p1"), natsbus.AlertWard("p2"), natsbus.AlertGroup("q2")} {
		if _, err := b.js.Publish(ctx, s, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	nc, _ := b.ward(t, "p1")
	js, _ := jetstream.New(nc)
	cons, err := js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer("p1"))
	if err != nil {
		t.Fatalf("ward p1 cannot read its consumer: %v", err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.Ack(); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	want := []string{natsbus.AlertAll, natsbus.AlertGroup("q1"), natsbus.AlertWard("p1")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("p1 got %v, want %v", got, want)
	}
	// Acknowledged: nothing left for p1.
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Poll(2*time.Second, func() bool {
		if info.NumAckPending == 0 {
			return true
		}
		if i, err := cons.Info(ctx); err == nil {
			info = i
		}
		return false
	})
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("after acks: pending %d, ack pending %d", info.NumPending, info.NumAckPending)
	}
}

// A ward's credential cannot publish an alert, read another ward's
// subjects, inbox or consumer, or report as another ward: the server
// refuses.
func TestWardPermissionsRefused(t *testing.T) {
	b := startBus(t, WardKey{Ward: "p1", Groups: []string{"q1"}}, WardKey{Ward: "p2", Groups: []string{"q2"}})
	ctx := context.Background()
	nc, errs := b.ward(t, "p1")
	before := b.streamMsgs(t, natsbus.StreamAlerts)

	for _, s := range []string{natsbus.AlertAll, natsbus.AlertWard("p2"), natsbus.AlertWard("p1"), natsbus.AlertGroup("q1")} {
		nc.Publish(s, []byte(`{"payload":"forged"}`))
		nc.Flush()
		errs.waitFor(t, fmt.Sprintf("Permissions Violation for Publish to %q", s))
	}
	if after := b.streamMsgs(t, natsbus.StreamAlerts); after != before {
		t.Fatalf("ALERTS went from %d to %d messages", before, after)
	}

	for _, s := range []string{natsbus.AlertWard("p2"), natsbus.AlertGroup("q2"), natsbus.NotifyWard("p2"), natsbus.InboxPrefix("p2") + ".>", "loa.alert.>", ">", natsbus.Report("p2")} {
		if _, err := nc.SubscribeSync(s); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		errs.waitFor(t, fmt.Sprintf("Permissions Violation for Subscription to %q", s))
	}

	// Another ward's consumer: the request is refused.
	js, _ := jetstream.New(nc)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := js.Consumer(cctx, natsbus.StreamAlerts, natsbus.Consumer("p2")); err == nil {
		t.Fatal("p1 read p2's consumer")
	}
	errs.waitFor(t, "$JS.API.CONSUMER.INFO.ALERTS.ward-p2")

	// Its own report is taken; one in p2's name is not.
	if _, err := js.Publish(ctx, natsbus.Report("p1"), []byte(`{}`)); err != nil {
		t.Fatalf("p1's own report: %v", err)
	}
	nc.Publish(natsbus.Report("p2"), []byte(`{}`))
	nc.Flush()
	errs.waitFor(t, fmt.Sprintf("Permissions Violation for Publish to %q", natsbus.Report("p2")))
	if n := b.streamMsgs(t, natsbus.StreamReports); n != 1 {
		t.Fatalf("REPORTS has %d messages, want 1", n)
	}
	// Reserved subjects of its own are allowed.
	for _, s := range []string{natsbus.Heartbeat("p1"), natsbus.AsRun("p1")} {
		if err := nc.Publish(s, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nc.SubscribeSync(natsbus.LiveGroup("q1")); err != nil {
		t.Fatal(err)
	}
	// A refusal after them, as a marker: the server answers in order, so
	// once the marker's refusal is here, any refusal of the subjects
	// before it would be too.
	// (A subject not published before in this test.)
	nc.Publish(natsbus.AlertGroup("q2"), []byte(`{"payload":"marker"}`))
	nc.Flush()
	errs.waitFor(t, fmt.Sprintf("Permissions Violation for Publish to %q", natsbus.AlertGroup("q2")))
	errs.mu.Lock()
	defer errs.mu.Unlock()
	for _, e := range errs.errs {
		if strings.Contains(e, natsbus.Heartbeat("p1")) || strings.Contains(e, natsbus.AsRun("p1")) || strings.Contains(e, natsbus.LiveGroup("q1")) {
			t.Fatalf("own reserved subject refused: %s", e)
		}
	}
}

// Unknown keys and clients without a key are refused at connect.
func TestUnknownKeyRefused(t *testing.T) {
	b := startBus(t, WardKey{Ward: "p1"})
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	_, err := nats.Connect(b.srv.ClientURL(), nats.Nkey(pub, kp.Sign), nats.Timeout(2*time.Second))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := nats.Connect(b.srv.ClientURL(), nats.Timeout(2*time.Second)); err == nil {
		t.Fatal("a client without a key connected")
	}
	// A ward registered while the server runs connects at once.
	seed2, pub2, _ := natsbus.NewUserKey()
	b.dir.add(WardKey{Ward: "p9", NKey: pub2})
	b.seeds["p9"] = seed2
	b.ward(t, "p9")
}

// Streams are on disk and survive a restart of the server.
func TestStreamsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	start := func() (*server.Server, jetstream.JetStream, *natsbus.Link) {
		srv, err := Start(Config{Listen: "127.0.0.1:0", StoreDir: dir, CityKey: cityPub})
		if err != nil {
			t.Fatal(err)
		}
		l, err := natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed})
		if err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(l.Conn)
		return srv, js, l
	}
	srv, js, l := start()
	ctx := context.Background()
	if err := natsbus.EnsureStreams(ctx, js, natsbus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := natsbus.EnsureWardConsumer(ctx, js, "p1", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := js.Publish(ctx, natsbus.AlertAll, []byte("bao"), jetstream.WithMsgID("a1")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	srv.Shutdown()
	srv.WaitForShutdown()
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("no store on disk: %v", err)
	}
	srv, js, l = start()
	defer srv.Shutdown()
	defer l.Close()
	s, err := js.Stream(ctx, natsbus.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil || string(m.Data) != "bao" {
		t.Fatalf("after restart: %v %+v", err, m)
	}
	// The ward's consumer lived in memory: the city makes it again from
	// the first live alert, which comes again with its sequence.
	if _, err := js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer("p1")); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("consumer after restart: %v", err)
	}
	if err := natsbus.EnsureWardConsumer(ctx, js, "p1", nil, sent.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	cons, _ := js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer("p1"))
	batch, _ := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	for msg := range batch.Messages() {
		md, _ := msg.Metadata()
		if string(msg.Data()) != "bao" || md.Sequence.Stream != 1 {
			t.Fatalf("redelivered %q seq %d", msg.Data(), md.Sequence.Stream)
		}
		msg.Ack()
	}
	// A group added: the filter follows, the position stays.
	if err := natsbus.EnsureWardConsumer(ctx, js, "p1", []string{"q1"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	info, _ := cons.Info(ctx)
	if fmt.Sprint(info.Config.FilterSubjects) != fmt.Sprint(natsbus.WardFilter("p1", []string{"q1"})) || info.Config.DeliverPolicy != jetstream.DeliverByStartTimePolicy {
		t.Fatalf("after regrouping: %+v", info.Config)
	}
}

func TestAuthorizationConfig(t *testing.T) {
	key := func() string { _, pub, _ := natsbus.NewUserKey(); return pub }
	city, admin, p1, p2 := key(), key(), key(), key()
	conf := AuthorizationConfig(city, []string{admin}, []WardKey{{Ward: "p2", NKey: p2}, {Ward: "p1", Groups: []string{"q1"}, NKey: p1}})
	// A real nats-server reads it.
	path := filepath.Join(t.TempDir(), "auth.conf")
	os.WriteFile(path, []byte(conf), 0o600)
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server refuses the generated config: %v\n%s", err, conf)
	}
	if len(opts.Nkeys) != 4 {
		t.Fatalf("%d users", len(opts.Nkeys))
	}
	for _, u := range opts.Nkeys {
		if u.Nkey == p1 {
			if fmt.Sprint(u.Permissions.Subscribe.Allow) != fmt.Sprint(wardSubscribe("p1", []string{"q1"})) ||
				fmt.Sprint(u.Permissions.Publish.Allow) != fmt.Sprint(wardPublish("p1")) {
				t.Fatalf("p1 permissions: %+v %+v", u.Permissions.Publish, u.Permissions.Subscribe)
			}
		}
		if u.Nkey == city && u.Permissions != nil {
			t.Fatal("the city is restricted")
		}
	}
	if strings.Index(conf, "ward p1") > strings.Index(conf, "ward p2") {
		t.Fatal("wards not sorted")
	}
}
