package natsserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/internal/testwait"
	"loa/natsbus"
)

// smallBus is a server with a store of maxStore bytes, its streams made by
// natsbus for that store, and the denials the server reported.
type smallBus struct {
	*bus
	mu      sync.Mutex
	denials []Denial
}

func startSmallBus(t testing.TB, maxStore int64, ensure bool, wards ...WardKey) *smallBus {
	return startSmallBusLog(t, maxStore, ensure, nil, wards...)
}

func startSmallBusLog(t testing.TB, maxStore int64, ensure bool, log *slog.Logger, wards ...WardKey) *smallBus {
	t.Helper()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	b := &smallBus{bus: &bus{dir: &wardDir{}, seeds: map[string]string{}}}
	for _, w := range wards {
		seed, pub, _ := natsbus.NewUserKey()
		w.NKey = pub
		b.dir.add(w)
		b.seeds[w.Ward] = seed
	}
	srv, err := Start(Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), MaxStore: maxStore, CityKey: cityPub, Wards: b.dir, Log: log,
		Denied: func(d Denial) {
			b.mu.Lock()
			b.denials = append(b.denials, d)
			b.mu.Unlock()
		}})
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
	if ensure {
		if err := natsbus.EnsureStreams(context.Background(), b.js, natsbus.StreamOptions{MaxStore: maxStore}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *smallBus) info(t *testing.T, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := b.js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// A ward's key floods its own receipt and as-run subjects with three
// times the whole store, in the largest messages the streams take (and
// larger ones, refused): each stream keeps at most its quarter, the ward's
// subject at most its per-ward count, and an alert published afterwards is
// stored. (Before the limits, the flood filled the store and ALERTS
// refused every alert with "insufficient resources".)
func TestWardFloodCannotFillTheStore(t *testing.T) {
	const store = 8 << 20
	b := startSmallBus(t, store, true, WardKey{Ward: "p1"})
	nc, _ := b.ward(t, "p1")
	js, _ := jetstream.New(nc)
	ctx := context.Background()

	// Larger than the streams take: refused with an error, not stored.
	if _, err := js.Publish(ctx, natsbus.Report("p1"), make([]byte, 64<<10)); err == nil || !strings.Contains(err.Error(), "maximum") {
		t.Fatalf("a 64 KiB receipt: %v", err)
	}
	if _, err := js.Publish(ctx, natsbus.AsRun("p1"), make([]byte, natsbus.MaxAsRunMsg+1)); err == nil {
		t.Fatal("an as-run line over the limit was stored")
	}
	report := make([]byte, natsbus.MaxReportMsg-100)
	line := make([]byte, natsbus.MaxAsRunMsg-100)
	sent := 0
	for sent < 3*store {
		if err := nc.Publish(natsbus.Report("p1"), report); err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish(natsbus.AsRun("p1"), line); err != nil {
			t.Fatal(err)
		}
		sent += len(report) + len(line)
	}
	// The last one acknowledged: the server has taken everything before.
	if _, err := js.Publish(ctx, natsbus.AsRun("p1"), line); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, natsbus.Report("p1"), report); err != nil {
		t.Fatal(err)
	}
	share := uint64(natsbus.StreamShare(store))
	for _, c := range []struct {
		stream string
		per    uint64
	}{{natsbus.StreamReports, natsbus.ReportsPerWard}, {natsbus.StreamAsRun, natsbus.AsRunPerWard}} {
		info := b.info(t, c.stream)
		t.Logf("%s after %d MiB sent: %d messages, %d bytes (limit %d)", c.stream, sent>>20, info.State.Msgs, info.State.Bytes, share)
		if info.State.Bytes > share {
			t.Errorf("%s holds %d bytes, over its %d", c.stream, info.State.Bytes, share)
		}
		if info.State.Msgs > c.per || info.State.Msgs == 0 {
			t.Errorf("%s holds %d messages of one ward, limit %d", c.stream, info.State.Msgs, c.per)
		}
	}
	ack, err := b.js.Publish(ctx, natsbus.AlertAll, []byte("bão số 5"), jetstream.WithMsgID("a1"))
	if err != nil {
		t.Fatalf("an alert after the flood: %v", err)
	}
	if ack.Stream != natsbus.StreamAlerts {
		t.Fatalf("stored in %s", ack.Stream)
	}
}

// A store made by an older loa-city (streams without MaxBytes, larger
// messages, synced as-run) is brought to the limits in place: its streams
// keep their data up to their new share, the settings JetStream does not
// change are kept, and the update is idempotent.
func TestEnsureStreamsUpgradesAnOlderStore(t *testing.T) {
	const store = 8 << 20
	b := startSmallBus(t, store, false)
	ctx := context.Background()
	old := natsbus.Streams(natsbus.StreamOptions{MaxStore: store})
	for i := range old {
		old[i].MaxBytes, old[i].MaxMsgsPerSubject, old[i].Discard = 0, 0, jetstream.DiscardOld
		old[i].MaxMsgSize = 64 << 10
		if old[i].Name == natsbus.StreamAsRun {
			old[i].PersistMode = jetstream.DefaultPersistMode
		}
		if _, err := b.js.CreateStream(ctx, old[i]); err != nil {
			t.Fatal(err)
		}
	}
	msg := make([]byte, 32<<10)
	for i := 0; i < 160; i++ { // 5 MiB: more than REPORTS' new share
		if _, err := b.js.Publish(ctx, natsbus.Report("p1"), msg); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := natsbus.EnsureStreams(ctx, b.js, natsbus.StreamOptions{MaxStore: store}); err != nil {
			t.Fatal(err)
		}
	}
	share := natsbus.StreamShare(store)
	for _, name := range []string{natsbus.StreamAlerts, natsbus.StreamReports, natsbus.StreamAsRun} {
		info := b.info(t, name)
		if info.Config.MaxBytes != share || info.State.Bytes > uint64(share) {
			t.Errorf("%s: MaxBytes %d (want %d), holds %d", name, info.Config.MaxBytes, share, info.State.Bytes)
		}
		if name != natsbus.StreamAlerts && (info.Config.MaxMsgsPerSubject <= 0 || info.Config.MaxMsgSize > 4<<10) {
			t.Errorf("%s: %d per subject, messages up to %d", name, info.Config.MaxMsgsPerSubject, info.Config.MaxMsgSize)
		}
	}
	if info := b.info(t, natsbus.StreamAsRun); info.Config.PersistMode != jetstream.DefaultPersistMode {
		t.Errorf("ASRUN's persist mode changed to %v", info.Config.PersistMode)
	}
	if info := b.info(t, natsbus.StreamReports); info.State.Msgs == 0 {
		t.Error("REPORTS lost everything")
	}
}

// A store too small for the streams' reservations (another stream holds a
// reservation) is an error that says so.
func TestEnsureStreamsSaysWhenTheStoreIsReserved(t *testing.T) {
	const store = 8 << 20
	b := startSmallBus(t, store, false)
	ctx := context.Background()
	if _, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other.>"}, MaxBytes: 6 << 20}); err != nil {
		t.Fatal(err)
	}
	err := natsbus.EnsureStreams(ctx, b.js, natsbus.StreamOptions{MaxStore: store})
	if err == nil || !strings.Contains(err.Error(), "reserve more than its max_store") {
		t.Fatalf("EnsureStreams: %v", err)
	}
}

// Every refused attempt of a ward's key reaches Config.Denied with the
// ward's name; the log names the ward too, once a minute per ward.
func TestDenialsNameTheWard(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b := startSmallBusLog(t, 8<<20, true, log, WardKey{Ward: "p1"}, WardKey{Ward: "p2"})
	nc, errs := b.ward(t, "p1")
	for range 3 {
		nc.Publish(natsbus.AlertAll, []byte("x"))
	}
	nc.Publish(natsbus.Report("p2"), []byte("x"))
	nc.SubscribeSync(natsbus.AlertWard("p2"))
	nc.Flush()
	errs.waitFor(t, `Permissions Violation for Subscription to "loa.alert.ward.p2"`)
	var got []Denial
	if !testwait.Poll(3*time.Second, func() bool {
		b.mu.Lock()
		got = append([]Denial{}, b.denials...)
		b.mu.Unlock()
		return len(got) >= 5
	}) {
		t.Fatalf("denials: %+v", got)
	}
	for _, d := range got {
		if d.Ward != "p1" || d.NKey == "" || d.Subject == "" {
			t.Fatalf("denial %+v", d)
		}
	}
	kinds := map[string]int{}
	for _, d := range got {
		kinds[d.Kind+" "+d.Subject]++
	}
	if kinds["publish loa.alert.all"] != 3 || kinds["publish "+natsbus.Report("p2")] != 1 || kinds["subscribe loa.alert.ward.p2"] != 1 {
		t.Fatalf("denials %v", kinds)
	}
	out := logs.String()
	if strings.Count(out, "refused: no permission") != 1 || !strings.Contains(out, "ward=p1") || !strings.Contains(out, `subject=loa.alert.all`) {
		t.Fatalf("log:\n%s", out)
	}
	if strings.Contains(out, "Violation") {
		t.Fatalf("the server's own line logged too:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestParseViolation(t *testing.T) {
	key := "UA" + strings.Repeat("B", 54)
	for line, want := range map[string]Denial{
		`127.0.0.1:4711 - cid:9 - "v1.55.0:go:loa-agent" - "$G/nkey:` + key + `" - Publish Violation - Subject "loa.alert.all"`: {NKey: key, Kind: "publish", Subject: "loa.alert.all", Remote: "127.0.0.1:4711"},
		`[::1]:5 - cid:12 - "$G/nkey:` + key + `" - Subscription Violation - Subject "loa.alert.ward.p2", SID 3`:                {NKey: key, Kind: "subscribe", Subject: "loa.alert.ward.p2", Remote: "[::1]:5"},
		`10.0.0.2:9 - cid:1 - "v2:go" - "$G/nkey:` + key + `" - Publish Violation - Reply "_INBOX.x"`:                           {NKey: key, Kind: "reply", Subject: "_INBOX.x", Remote: "10.0.0.2:9"},
		`JetStream resource limits exceeded for account: "$G"`:                                                                  {},
	} {
		got, ok := parseViolation(line)
		if ok != (want.NKey != "") || got != want {
			t.Errorf("%s:\n got %+v %v\nwant %+v", line, got, ok, want)
		}
	}
}

// A city has more wards than nats-server's default limit of 1,000
// consumers a stream: every ward's consumer on ALERTS is made, and the
// last ward made receives an alert to all.
func TestMoreWardsThanTheDefaultConsumerLimit(t *testing.T) {
	const n = 1005
	last := fmt.Sprintf("phuong-%04d", n-1)
	b := startBus(t, WardKey{Ward: last})
	ctx := context.Background()
	for i := range n - 1 {
		if err := natsbus.EnsureWardConsumer(ctx, b.js, fmt.Sprintf("phuong-%04d", i), nil, time.Time{}); err != nil {
			t.Fatalf("consumer %d: %v", i, err)
		}
	}
	if info, err := b.js.Stream(ctx, natsbus.StreamAlerts); err != nil || info.CachedInfo().State.Consumers != n {
		t.Fatalf("ALERTS: %v, want %d consumers", err, n)
	}
	if _, err := b.js.Publish(ctx, natsbus.AlertAll, []byte("bão")); err != nil {
		t.Fatal(err)
	}
	cons, err := b.js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer(last))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil || string(msg.Data()) != "bão" {
		t.Fatalf("the last ward's consumer: %v", err)
	}
}
