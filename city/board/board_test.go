package board

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"loa/fleet"
	"loa/schedule"
	"loa/signing"
	"loa/sqlite"
)

// fakeStore is the board's Store in memory. fail makes every write fail.
type fakeStore struct {
	mu        sync.Mutex
	wards     []sqlite.WardManifestInfo
	health    map[string]sqlite.WardHealthRow
	history   []sqlite.WardStateChange
	asrun     []sqlite.CityAsRun
	seen      map[string]Seen
	seenTx    int // PutWardsSeen calls that wrote
	stateTx   int // PutWardStates calls that wrote
	pruned    time.Time
	fail      error
	restored  []sqlite.WardHealthRow
	asrunKeys map[[2]any]bool
}

func (f *fakeStore) WardHealthRows(context.Context) ([]sqlite.WardHealthRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restored, nil
}

func (f *fakeStore) WardManifests(context.Context) ([]sqlite.WardManifestInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wards, nil
}

func (f *fakeStore) PutWardStates(_ context.Context, rows []sqlite.WardHealthRow, changes []sqlite.WardStateChange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.health == nil {
		f.health = map[string]sqlite.WardHealthRow{}
	}
	for _, r := range rows {
		f.health[r.Ward] = r
	}
	f.history = append(f.history, changes...)
	f.stateTx++
	return nil
}

func (f *fakeStore) PruneWardStateChanges(_ context.Context, cutoff time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruned = cutoff
	return 0, f.fail
}

func (f *fakeStore) AddAsRun(_ context.Context, rows []sqlite.CityAsRun) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	if f.asrunKeys == nil {
		f.asrunKeys = map[[2]any]bool{}
	}
	n := 0
	for _, r := range rows {
		k := [2]any{r.Ward, r.WardEntry}
		if !f.asrunKeys[k] {
			f.asrunKeys[k] = true
			f.asrun = append(f.asrun, r)
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) AsRun(_ context.Context, ward string, from, to time.Time) ([]sqlite.CityAsRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sqlite.CityAsRun
	for _, r := range f.asrun {
		if r.Ward == ward && !r.Planned.Before(from) && r.Planned.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeStore) PutWardsSeen(_ context.Context, seen map[string]Seen) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.seen == nil {
		f.seen = map[string]Seen{}
	}
	for w, e := range seen {
		f.seen[w] = e
	}
	f.seenTx++
	return nil
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// newTest is a board over a fake store on a fake clock at t0, with wards
// registered and its log in logs.
func newTest(t *testing.T, wards ...string) (*Service, *fakeStore, *clock, *bytes.Buffer) {
	t.Helper()
	st := &fakeStore{}
	for _, w := range wards {
		st.wards = append(st.wards, sqlite.WardManifestInfo{Ward: w, Version: 3, IssuedAt: t0.Add(-time.Hour)})
	}
	clk := &clock{t: t0}
	var logs bytes.Buffer
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	s := New(st, Config{Heartbeat: 15 * time.Second, Location: loc, Budgets: testBudgets}, clk.Now,
		slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
	return s, st, clk, &logs
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func beat(t *testing.T, ward string, at time.Time, seq uint64, f func(h *fleet.Heartbeat)) []byte {
	t.Helper()
	h := &fleet.Heartbeat{Ward: ward, Seq: seq, Sent: at.UnixMilli(), Every: 15, Version: "1.2.0", Uptime: 60,
		Clock: fleet.Clock{Source: "ntp", Trusted: true}, LevelDBFS: -20, Device: fleet.Device{OK: true}, DiskFree: 3 << 30,
		Sync: &fleet.Sync{Manifest: 3, AgeS: 10}}
	if f != nil {
		f(h)
	}
	data, err := h.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func onAir(h *fleet.Heartbeat) { h.OnAir = &fleet.Playing{Kind: "program", ID: "ban-tin-sang"} }

// A heartbeat updates the board, and loa/fleet judges the ward's state
// from it: on air, then silent while on air; the API's view says the
// same, and the state changes (not the heartbeats) are written down in
// one transaction per flush.
func TestHeartbeatUpdatesBoard(t *testing.T) {
	s, st, clk, _ := newTest(t, "phuong-1", "phuong-2")
	if err := s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), 1, onAir)); err != nil {
		t.Fatal(err)
	}
	v, ok := s.Ward("phuong-1")
	if !ok || v.Beat == nil || v.Health.State != fleet.OnAir || !v.Registered || v.Manifest != 3 {
		t.Fatalf("phuong-1 after a heartbeat: %+v", v)
	}
	h := s.WardHealth("phuong-1")
	if h == nil || h.State != string(fleet.OnAir) || h.NowPlaying == nil || h.NowPlaying.ID != "ban-tin-sang" ||
		h.LastHeartbeat == nil || !h.LastHeartbeat.Equal(t0) || h.Sync.CityVersion != 3 || h.NATS != nil {
		t.Fatalf("phuong-1's health: %+v", h)
	}
	if h := s.WardHealth("phuong-9"); h != nil {
		t.Fatalf("a ward the board does not know: %+v", h)
	}
	// Silent on air for longer than the threshold: silent.
	clk.Add(15 * time.Second)
	if err := s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), 2, func(h *fleet.Heartbeat) { onAir(h); h.Silent = 20 })); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Ward("phuong-1"); v.Health.State != fleet.Silent {
		t.Fatalf("silent on air: %s", v.Health.State)
	}
	// A heartbeat on another ward's subject is refused and counted.
	if err := s.Heartbeat("phuong-2", beat(t, "phuong-1", clk.Now(), 3, nil)); err == nil {
		t.Fatal("phuong-1's heartbeat taken on phuong-2's subject")
	}
	if v, _ := s.Ward("phuong-2"); v.Beat != nil {
		t.Fatal("phuong-2 has phuong-1's heartbeat")
	}
	if st := s.Board().Stats(); st.Heartbeats != 2 || st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st.stateTx != 1 || st.health["phuong-1"].State != string(fleet.Silent) || st.health["phuong-2"].State != string(fleet.Offline) {
		t.Fatalf("written: %d transactions, %+v", st.stateTx, st.health)
	}
	var beatRow fleet.Heartbeat
	if err := json.Unmarshal(st.health["phuong-1"].Beat, &beatRow); err != nil || beatRow.Seq != 2 {
		t.Fatalf("the latest heartbeat kept with the state: %+v %v", beatRow, err)
	}
}

// A ward silent for longer than the offline threshold (3 intervals and a
// half) is offline at the next sweep; a ward still speaking is not. A
// store that fails keeps the change for the next flush.
func TestSilentWardBecomesLost(t *testing.T) {
	s, st, clk, logs := newTest(t, "phuong-1", "phuong-2")
	for _, w := range []string{"phuong-1", "phuong-2"} {
		if err := s.Heartbeat(w, beat(t, w, clk.Now(), 1, onAir)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	// phuong-2 keeps beating every 15 s; phuong-1 stops.
	for i := range 3 {
		clk.Add(15 * time.Second)
		s.Heartbeat("phuong-2", beat(t, "phuong-2", clk.Now(), uint64(2+i), onAir))
		if err := s.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Ward("phuong-1"); v.Health.State == fleet.Offline {
			t.Fatalf("offline after %d s only", 15*(i+1))
		}
	}
	// 52.5 s is the threshold: at 53 s phuong-1 is lost. The store fails
	// once: the change waits for the next flush.
	clk.Add(8 * time.Second)
	s.Heartbeat("phuong-2", beat(t, "phuong-2", clk.Now(), 9, onAir))
	st.fail = errors.New("disk full")
	if err := s.Sweep(t.Context()); err == nil {
		t.Fatal("a failed write not reported")
	}
	if v, _ := s.Ward("phuong-1"); v.Health.State != fleet.Offline || v.Health.Problems[0].Detail != "no heartbeat for 53s" {
		t.Fatalf("phuong-1 after 53 s: %+v", v.Health)
	}
	if v, _ := s.Ward("phuong-2"); v.Health.State != fleet.OnAir {
		t.Fatalf("phuong-2, still speaking: %s", v.Health.State)
	}
	st.fail = nil
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	last := st.history[len(st.history)-1]
	if last.Ward != "phuong-1" || last.From != string(fleet.OnAir) || last.To != string(fleet.Offline) || st.health["phuong-1"].State != string(fleet.Offline) {
		t.Fatalf("the change written after the failure: %+v, %+v", last, st.health["phuong-1"])
	}
	if !strings.Contains(logs.String(), "ward state changed") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("the change not logged as a warning:\n%s", logs)
	}
	// History older than 90 days is pruned, by the fake clock.
	if err := s.Prune(t.Context()); err != nil || !st.pruned.Equal(clk.Now().AddDate(0, 0, -90)) {
		t.Fatalf("pruned before %s: %v", st.pruned, err)
	}
}

// The states written down are read back when the board is first used: a
// restarted city knows who was offline.
func TestBoardRestored(t *testing.T) {
	s, st, _, _ := newTest(t, "phuong-1")
	hb, _ := json.Marshal(fleet.Heartbeat{Ward: "phuong-1", Seq: 7, Version: "1.1.0"})
	st.restored = []sqlite.WardHealthRow{{Ward: "phuong-1", State: string(fleet.DeviceBad), Since: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Minute), Beat: hb}}
	v, ok := s.Board().Ward("phuong-1")
	if !ok || v.Beat == nil || v.Beat.Version != "1.1.0" || !v.LastSeen.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("restored: %+v", v)
	}
}

// The wards' last manifest requests are written in one transaction per
// flush; when the store fails they are kept for the next flush, unless a
// newer request of the ward came meanwhile.
func TestSeenFlush(t *testing.T) {
	s, st, clk, _ := newTest(t, "phuong-1", "phuong-2")
	if err := s.FlushSeen(t.Context()); err != nil || st.seenTx != 0 {
		t.Fatalf("nothing to flush: %d transactions, %v", st.seenTx, err)
	}
	s.NoteSeen("phuong-1", 3)
	s.NoteSeen("phuong-2", 2)
	if at, v, ok := s.Seen("phuong-1"); !ok || v != 3 || !at.Equal(t0) {
		t.Fatalf("seen before the flush: %s %d %v", at, v, ok)
	}
	st.fail = errors.New("database is locked")
	if err := s.FlushSeen(t.Context()); err == nil {
		t.Fatal("a failed flush not reported")
	}
	// A newer request of phuong-2 during the failed flush wins.
	clk.Add(time.Second)
	s.NoteSeen("phuong-2", 3)
	if _, _, ok := s.Seen("phuong-1"); !ok {
		t.Fatal("phuong-1's request lost with the failed flush")
	}
	st.fail = nil
	if err := s.FlushSeen(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]Seen{"phuong-1": {t0, 3}, "phuong-2": {t0.Add(time.Second), 3}}
	if st.seenTx != 1 || len(st.seen) != 2 || st.seen["phuong-1"] != want["phuong-1"] || st.seen["phuong-2"] != want["phuong-2"] {
		t.Fatalf("written in %d transactions: %+v", st.seenTx, st.seen)
	}
	if _, _, ok := s.Seen("phuong-1"); ok {
		t.Fatal("still pending after a good flush")
	}
	if err := s.FlushSeen(t.Context()); err != nil || st.seenTx != 1 {
		t.Fatalf("an empty flush wrote: %d transactions, %v", st.seenTx, err)
	}
}

func asRunMsg(t *testing.T, e fleet.AsRunEntry, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, _ := json.Marshal(e)
	if key == nil {
		return b
	}
	env, _ := json.Marshal(signing.Sign(key, b))
	return env
}

// As-run intake: a line on another ward's subject, or unreadable, is
// refused and counted; one not signed by the ward's registered key is
// refused as forged and flags the ward; good lines are stored once, and a
// line shipped again is counted as a duplicate.
func TestAsRunIntake(t *testing.T) {
	s, st, clk, logs := newTest(t, "phuong-1", "phuong-2")
	e := fleet.AsRunEntry{Ward: "phuong-2", ID: 1, Program: "ban-tin-sang", Kind: "program", Item: "a.mp3",
		Planned: t0.UnixMilli(), Actual: t0.UnixMilli() + 1500, End: t0.UnixMilli() + 60_000, Result: "completed"}
	// phuong-2's line on phuong-1's subject.
	if _, err := s.OpenAsRun("phuong-1", asRunMsg(t, e, nil), nil); !errors.Is(err, fleet.ErrBadAsRun) {
		t.Fatalf("a line of phuong-2 on phuong-1's subject: %v", err)
	}
	if _, err := s.OpenAsRun("phuong-1", []byte("{not json"), nil); err == nil {
		t.Fatal("an unreadable line taken")
	}
	if n := strings.Count(logs.String(), "as-run message refused"); n != 1 {
		t.Errorf("%d log lines for 2 refused lines of one ward in a minute, want 1", n)
	}
	// phuong-2 has a registered key: another key's signature is forged.
	_, own, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	pub := own.Public().(ed25519.PublicKey)
	if _, err := s.OpenAsRun("phuong-2", asRunMsg(t, e, other), pub); err == nil {
		t.Fatal("a line signed by another key taken")
	}
	if _, err := s.OpenAsRun("phuong-2", asRunMsg(t, e, nil), pub); !errors.Is(err, signing.ErrUnsigned) {
		t.Fatalf("an unsigned line of a ward with a key: %v", err)
	}
	if v, _ := s.Ward("phuong-2"); v.Health.State != fleet.Identity {
		t.Fatalf("phuong-2 not flagged: %+v", v.Health)
	}
	got, err := s.OpenAsRun("phuong-2", asRunMsg(t, e, own), pub)
	if err != nil || got != e {
		t.Fatalf("the signed line: %+v %v", got, err)
	}
	clk.Add(time.Minute)
	if n, err := s.StoreAsRun(t.Context(), []fleet.AsRunEntry{got}); err != nil || n != 1 {
		t.Fatalf("stored %d: %v", n, err)
	}
	if n, err := s.StoreAsRun(t.Context(), []fleet.AsRunEntry{got}); err != nil || n != 0 {
		t.Fatalf("stored again %d: %v", n, err)
	}
	if len(st.asrun) != 1 || !st.asrun[0].ReceivedAt.Equal(t0.Add(time.Minute)) || !st.asrun[0].Actual.Equal(t0.Add(1500*time.Millisecond)) {
		t.Fatalf("rows: %+v", st.asrun)
	}
	// The day's log, in the city's zone (10:00 UTC is 17:00 there).
	day, err := s.AsRunDay(t.Context(), "phuong-2", schedule.DateOf(t0.In(s.cfg.Location)))
	if err != nil || day.Timezone != "Asia/Ho_Chi_Minh" || day.Date != "2026-05-01" || len(day.Entries) != 1 ||
		day.Entries[0].LateMS != 1500 || day.Entries[0].End == nil {
		t.Fatalf("the day's log: %+v %v", day, err)
	}
	if day, _ := s.AsRunDay(t.Context(), "phuong-2", schedule.DateOf(t0.In(s.cfg.Location)).AddDays(1)); len(day.Entries) != 0 || day.Entries == nil {
		t.Fatalf("the next day: %+v", day)
	}
	m := scrape(t, s)
	for _, want := range []string{
		"loa_fleet_asrun_entries_total 1",
		"loa_fleet_asrun_duplicates_total 1",
		"loa_fleet_asrun_rejected_total 4",
		`loa_city_ward_messages_refused_total{kind="asrun",reason="unknown_key",ward="phuong-2"} 1`,
		`loa_city_ward_messages_refused_total{kind="asrun",reason="unsigned",ward="phuong-2"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The bus watch counts, per ward, the messages dropped over its budget
// and the attempts the server refused: in the API's view and on /metrics.
func TestBusWatchPerWard(t *testing.T) {
	s, _, clk, logs := newTest(t, "phuong-1", "phuong-2")
	for range int(testBudgets[KindHeartbeat].Burst) + 3 {
		s.TakeHeartbeat("phuong-1", "loa.hb.phuong-1", []byte("{"))
	}
	s.Denied("phuong-2", "publish", "loa.report.phuong-1")
	s.Denied("phuong-2", "publish", "loa.alert.all")
	s.Denied("", "publish", "loa.alert.all") // an admin's key
	if n := s.WardNATS("phuong-1"); n == nil || n.Dropped[KindHeartbeat] != 3 || n.Dropped[KindReport] != 0 || !n.Flooding || n.Denied != 0 {
		t.Fatalf("phuong-1: %+v", n)
	}
	if n := s.WardNATS("phuong-2"); n == nil || n.Denied != 2 || n.LastDeniedWhat != "publish loa.alert.all" || n.Flooding || n.LastDenied == nil {
		t.Fatalf("phuong-2: %+v", n)
	}
	if h := s.WardHealth("phuong-2"); h == nil || h.NATS == nil || h.NATS.Denied != 2 {
		t.Fatalf("phuong-2's health: %+v", h)
	}
	if st := s.Board().Stats(); st.Rejected != uint64(testBudgets[KindHeartbeat].Burst) {
		t.Fatalf("heartbeats judged: %+v (the dropped ones never reach the board)", st)
	}
	if n := strings.Count(logs.String(), "heartbeat refused"); n != 1 {
		t.Errorf("%d log lines for refused heartbeats in a minute, want 1", n)
	}
	if n := strings.Count(logs.String(), "messages dropped"); n != 1 {
		t.Errorf("%d log lines for dropped heartbeats in a minute, want 1", n)
	}
	m := scrape(t, s)
	for _, want := range []string{
		`loa_city_nats_flood_dropped_total{kind="heartbeat",ward="phuong-1"} 3`,
		`loa_city_nats_flood_dropped_total{kind="report",ward="phuong-1"} 0`,
		`loa_city_nats_ward_flooding{ward="phuong-1"} 1`,
		`loa_city_nats_denied_total{ward="phuong-2"} 2`,
		`loa_city_nats_denied_total{ward="phuong-1"} 0`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, `loa_city_nats_ward_flooding{ward="phuong-2"}`) {
		t.Error("phuong-2 shown flooding")
	}
	// After the hold, phuong-1 no longer floods; its drops stay counted.
	clk.Add(FloodHold + time.Second)
	if n := s.WardNATS("phuong-1"); n == nil || n.Flooding || n.Dropped[KindHeartbeat] != 3 {
		t.Fatalf("phuong-1 after the hold: %+v", n)
	}
}

// The identity alarms: a duplicate login is counted, flagged and logged.
func TestDuplicateLogin(t *testing.T) {
	s, _, _, logs := newTest(t, "phuong-1")
	s.DuplicateLogin("phuong-1", "10.0.0.1:5000", "10.0.0.2:6000", t0.Add(-time.Hour))
	v, _ := s.Ward("phuong-1")
	if v.Health.State != fleet.Identity || !strings.Contains(v.Health.Problems[0].Detail, "10.0.0.2:6000 replaced 10.0.0.1:5000 (1 times)") {
		t.Fatalf("phuong-1: %+v", v.Health)
	}
	if !strings.Contains(scrape(t, s), `loa_city_ward_duplicate_logins_total{ward="phuong-1"} 1`+"\n") || !strings.Contains(logs.String(), "logged in twice") {
		t.Fatal("not counted or not logged")
	}
	if !s.HeartbeatsSince().IsZero() {
		t.Fatal("heartbeats taken before the intake started")
	}
	s.HeartbeatsStarted()
	if !s.HeartbeatsSince().Equal(t0) {
		t.Fatalf("heartbeats since %s", s.HeartbeatsSince())
	}
}

// The board's /metrics series: the state of each registered ward (one
// series, value 1), counts by state, the latest heartbeat's measures.
func TestCollector(t *testing.T) {
	s, _, _, _ := newTest(t, "phuong-1", "phuong-2")
	s.Heartbeat("phuong-1", beat(t, "phuong-1", t0, 1, func(h *fleet.Heartbeat) { onAir(h); h.CPUTemp = 48.5 }))
	s.Heartbeat("phuong-9", beat(t, "phuong-9", t0, 1, nil)) // not registered: not shown
	m := scrape(t, s)
	for _, want := range []string{
		`loa_ward_state{state="on_air",ward="phuong-1"} 1`,
		`loa_ward_state{state="offline",ward="phuong-2"} 1`,
		`loa_ward_up{ward="phuong-1"} 1`,
		`loa_ward_up{ward="phuong-2"} 0`,
		`loa_ward_cpu_temperature_celsius{ward="phuong-1"} 48.5`,
		`loa_ward_manifest_version{ward="phuong-1"} 3`,
		`loa_ward_city_manifest_version{ward="phuong-2"} 3`,
		`loa_wards{state="on_air"} 1`,
		`loa_wards{state="offline"} 1`,
		`loa_fleet_heartbeats_total 2`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, "phuong-9") {
		t.Error("an unregistered ward on /metrics")
	}
}

// scrape is the board's series in the Prometheus text format.
func scrape(t *testing.T, s *Service) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
