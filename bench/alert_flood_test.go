package bench

// Alert latency under a flood from stolen ward keys (issue 12).
//
//	go test ./bench -run XXX -bench AlertFlood -benchtime 1x -timeout 30m
//
// BenchmarkAlertFlood runs the real loa-city binary with 100 simulated
// wards (the agent's own alert receiver, as in BenchmarkAlertFanout) and,
// in one run, sends the same number of alerts to all three times:
//
//   - A: no flood;
//   - B1: while one ward's key, stolen, floods its receipt and as-run
//     subjects as fast as a raw NATS client can (one connection: a second
//     login of the same key closes the first, natsserver/identity.go;
//     several goroutines publishing on it without waiting: messages of
//     exactly the largest size the streams take, 4 KiB, and every 50th
//     one of 64 KiB, which JetStream refuses);
//   - B4: the same with four stolen keys at once.
//
// The stolen keys are those of four more wards registered in the city
// whose agents are off (floodWards+0..3): with its agent on, a ward and
// the thief take the key's one connection from each other in turn, which
// is the identity check's business (e2e), not the flood's. All 104 wards
// are addressed; latency is measured at the 100 running ones. Latency is
// from the start of POST /api/v1/alerts to each ward's
// PlayAlert. Each phase reports p50/p99/max, the flood's rate as the
// clients achieved it, what the city dropped (its /metrics), the city
// process's CPU and disk writes, and the load average: the flooders, the
// wards and the city share this machine's cores.

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loa/agent/alertrx"
	"loa/internal/testwait"
	"loa/natsbus"
	"loa/sqlite"
)

const (
	floodWards  = 100
	floodAlerts = 100 // per phase
	floodKeys   = 4   // stolen keys at most
	floodGo     = 4   // goroutines publishing on a stolen key's connection
)

// floodPhase is what one phase measured.
type floodPhase struct {
	name                    string
	keys                    int
	lat, api                []time.Duration
	wall                    time.Duration
	floodMsgs, floodBytes   uint64
	dropped                 map[string]float64 // by kind, during the phase
	cityCPU, selfCPU        time.Duration
	cityWrite               int64 // bytes the city process wrote to disk
	load                    string
	receiptsLag             time.Duration // from the last alert's POST to its receipts from the 100 running wards
	lastID                  string
	streamMsgs, streamBytes map[string]float64
}

func BenchmarkAlertFlood(b *testing.B) {
	bc := startAlertBenchCity(b, floodWards+floodKeys)
	st, stop := startSimWards(b, bc, floodWards)
	defer stop()
	pid := bc.cmd.Process.Pid

	var phases []*floodPhase
	var flooders []*flooder
	defer func() {
		for _, f := range flooders {
			f.stop()
		}
	}()
	b.ResetTimer()
	for _, keys := range []int{0, 1, floodKeys} {
		for len(flooders) < keys {
			f := startFlooder(b, bc, fmt.Sprintf("phuong-%04d", floodWards+len(flooders)))
			flooders = append(flooders, f)
		}
		if keys > 0 {
			// The flood is on when the city drops from every stolen key
			// (receipts or as-run lines: it takes a burst of each first,
			// and the as-run one is 10,000 lines).
			on := 0
			if !testwait.Poll(3*time.Minute, func() bool {
				m := bc.metrics(b)
				on = 0
				for _, f := range flooders {
					if m[`loa_city_nats_flood_dropped_total{kind="report",ward="`+f.ward+`"}`] > 0 ||
						m[`loa_city_nats_flood_dropped_total{kind="asrun",ward="`+f.ward+`"}`] > 0 {
						on++
					}
				}
				return on == len(flooders)
			}) {
				b.Fatalf("after 3 minutes the city drops from %d of %d stolen keys", on, len(flooders))
			}
		}
		name := "A"
		if keys > 0 {
			name = fmt.Sprintf("B%d", keys)
		}
		phases = append(phases, runFloodPhase(b, bc, st, pid, name, flooders))
	}
	b.StopTimer()
	// The flood stopped: how long until the last alert's receipts are all
	// in (the agents retry a receipt with a growing wait, up to 30 s).
	for _, f := range flooders {
		f.stop()
	}
	last := phases[len(phases)-1]
	stopped := time.Now()
	var got int
	if testwait.Poll(2*time.Minute, func() bool { got = bc.status(b, last.lastID).Summary.Received; return got >= floodWards }) {
		b.Logf("the flood stopped: the last alert's %d receipts all in %s later", floodWards, time.Since(stopped).Round(time.Millisecond))
	} else {
		b.Logf("the flood stopped: the last alert's receipts %d of %d 2 minutes later", got, floodWards)
	}

	a := phases[0]
	pa99 := percentile(a.lat, 0.99)
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-5s %9s %9s %9s %8s %8s %10s %9s %12s %10s %10s %9s %11s  %s\n",
		"phase", "p50", "p99", "max", "p99/A", "api-p50", "flood-msg/s", "flood-MB/s", "city-dropped", "city-CPU%", "city-wr-MB", "self-CPU%", "receipts-lag", "load")
	for _, p := range phases {
		p99 := percentile(p.lat, 0.99)
		fmt.Fprintf(&tbl, "%-5s %9s %9s %9s %8.2f %8s %10.0f %9.1f %12.0f %10.0f %10.1f %9.0f %11s  %s\n",
			p.name, ms(percentile(p.lat, 0.5)), ms(p99), ms(percentile(p.lat, 1)), float64(p99)/float64(pa99),
			ms(percentile(p.api, 0.5)),
			float64(p.floodMsgs)/p.wall.Seconds(), float64(p.floodBytes)/p.wall.Seconds()/1e6,
			p.dropped["report"]+p.dropped["asrun"],
			float64(p.cityCPU)/float64(p.wall)*100, float64(p.cityWrite)/1e6, float64(p.selfCPU)/float64(p.wall)*100,
			ms(p.receiptsLag), p.load)
	}
	for _, p := range phases {
		fmt.Fprintf(&tbl, "%s: %d alerts to %d wards in %s; dropped by the city: %.0f receipts, %.0f as-run lines; "+
			"REPORTS %.0f msgs %.1f MB, ASRUN %.0f msgs %.1f MB\n",
			p.name, floodAlerts, floodWards, p.wall.Round(time.Millisecond), p.dropped["report"], p.dropped["asrun"],
			p.streamMsgs[natsbus.StreamReports], p.streamBytes[natsbus.StreamReports]/1e6,
			p.streamMsgs[natsbus.StreamAsRun], p.streamBytes[natsbus.StreamAsRun]/1e6)
	}
	b.Log(tbl.String())
	for _, p := range phases {
		b.ReportMetric(msf(percentile(p.lat, 0.5)), p.name+"-p50-ms")
		b.ReportMetric(msf(percentile(p.lat, 0.99)), p.name+"-p99-ms")
		b.ReportMetric(msf(percentile(p.lat, 1)), p.name+"-max-ms")
		if p != a {
			b.ReportMetric(float64(percentile(p.lat, 0.99))/float64(pa99), p.name+"-p99-over-A")
			b.ReportMetric(float64(p.floodMsgs)/p.wall.Seconds(), p.name+"-flood-msg/s")
			b.ReportMetric(float64(p.floodBytes)/p.wall.Seconds()/1e6, p.name+"-flood-MB/s")
			b.ReportMetric(p.dropped["report"]+p.dropped["asrun"], p.name+"-city-dropped")
		}
		b.ReportMetric(float64(p.cityCPU)/float64(p.wall)*100, p.name+"-city-cpu-%")
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", msf(d)) }
func msf(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// runFloodPhase sends floodAlerts alerts to all, one after the other, each
// once the previous one has played everywhere and its receipts had time to
// come (0.5 s: a ward waits up to that before it sends them).
func runFloodPhase(b *testing.B, bc *alertBenchCity, st stamper, pid int, name string, flooders []*flooder) *floodPhase {
	p := &floodPhase{name: name, keys: len(flooders), load: loadAvg()}
	m0 := bc.metrics(b)
	cpu0, _ := procUsage(pid)
	self0, _ := procUsage(os.Getpid())
	w0 := procWrite(pid)
	var fm0, fb0 uint64
	for _, f := range flooders {
		m, by := f.sent()
		fm0, fb0 = fm0+m, fb0+by
	}
	began := time.Now()
	pace := time.NewTicker(500 * time.Millisecond)
	defer pace.Stop()
	var lastID string
	var lastT0 time.Time
	for i := 0; i < floodAlerts; i++ {
		id, t0 := bc.send(b, false)
		p.api = append(p.api, time.Since(t0))
		for k := 0; k < floodWards; k++ {
			select {
			case <-st.got:
			case <-time.After(60 * time.Second):
				b.Fatalf("%s: alert %s: %d of %d wards played it", name, id, k, floodWards)
			}
		}
		st.mu.Lock()
		for _, at := range st.seen[id] {
			p.lat = append(p.lat, at.Sub(t0))
		}
		st.mu.Unlock()
		lastID, lastT0 = id, t0
		// The load's pace, not a wait: alerts go out 0.5 s apart, as an
		// issuer's do, so that each is measured on its own.
		<-pace.C
	}
	p.wall = time.Since(began)
	p.lastID = lastID
	cpu1, _ := procUsage(pid)
	self1, _ := procUsage(os.Getpid())
	p.cityCPU, p.selfCPU, p.cityWrite = cpu1-cpu0, self1-self0, procWrite(pid)-w0
	for _, f := range flooders {
		m, by := f.sent()
		p.floodMsgs, p.floodBytes = p.floodMsgs+m, p.floodBytes+by
	}
	p.floodMsgs -= fm0
	p.floodBytes -= fb0
	m1 := bc.metrics(b)
	p.dropped = map[string]float64{}
	for k, v := range m1 {
		if strings.HasPrefix(k, "loa_city_nats_flood_dropped_total{") {
			kind := k[strings.Index(k, `kind="`)+6:]
			kind = kind[:strings.IndexByte(kind, '"')]
			p.dropped[kind] += v - m0[k]
		}
	}
	p.streamMsgs, p.streamBytes = map[string]float64{}, map[string]float64{}
	for _, s := range []string{natsbus.StreamReports, natsbus.StreamAsRun} {
		p.streamMsgs[s] = m1[`loa_city_nats_stream_messages{stream="`+s+`"}`]
		p.streamBytes[s] = m1[`loa_city_nats_stream_bytes{stream="`+s+`"}`]
	}
	// The last alert's receipts from the running wards.
	var got int
	if !testwait.Poll(2*time.Minute, func() bool { got = bc.status(b, lastID).Summary.Received; return got >= floodWards }) {
		b.Logf("%s: alert %s: %d receipts of %d after 2 minutes", name, lastID, got, floodWards)
	}
	p.receiptsLag = time.Since(lastT0)
	b.Logf("%s: %d stolen keys flooding; p50 %s p99 %s max %s; load %s", name, len(flooders),
		ms(percentile(p.lat, 0.5)), ms(percentile(p.lat, 0.99)), ms(percentile(p.lat, 1)), p.load)
	return p
}

// startSimWards starts n simulated wards (alertrx.Receiver with a
// stamper for a player, databases on /dev/shm when there is one) and waits
// until all read their consumers.
func startSimWards(b *testing.B, bc *alertBenchCity, n int) (stamper, func()) {
	dbDir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "loa-bench-"); err == nil {
			dbDir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	st := stamper{mu: &sync.Mutex{}, seen: map[string][]time.Time{}, got: make(chan struct{}, n*4)}
	var rxs []*alertrx.Receiver
	for i := 0; i < n; i++ {
		w := fmt.Sprintf("phuong-%04d", i)
		db, err := sqlite.OpenAgent(ctx, filepath.Join(dbDir, w+".db"))
		if err != nil {
			stop()
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		rx, err := alertrx.New(alertrx.Config{Ward: w, NATS: bc.natsURL, Seed: bc.seeds[w], PublicKeys: []ed25519.PublicKey{bc.key},
			DB: db, Media: haveAll{}, Player: st, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			stop()
			b.Fatal(err)
		}
		rxs = append(rxs, rx)
		wg.Add(1)
		go func() { defer wg.Done(); rx.Run(ctx) }()
	}
	ready := 0
	if !testwait.Poll(3*time.Minute, func() bool {
		ready = 0
		for _, rx := range rxs {
			if s := rx.State(ctx); s.NATS.Connected && s.Consumer == "" {
				ready++
			}
		}
		return ready == n
	}) {
		stop()
		b.Fatalf("%d of %d wards connected", ready, n)
	}
	return st, stop
}

// flooder is a stolen ward key publishing on the ward's receipt and as-run
// subjects as fast as floodGo goroutines can on its connection.
type flooder struct {
	ward  string
	link  *natsbus.Link
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	msgs  atomic.Uint64
	bytes atomic.Uint64
}

func startFlooder(b *testing.B, bc *alertBenchCity, ward string) *flooder {
	f := &flooder{ward: ward, quit: make(chan struct{})}
	l, err := natsbus.Dial(natsbus.ConnOptions{URLs: bc.natsURL, Seed: bc.seeds[ward], Name: "flood", InboxPrefix: natsbus.InboxPrefix(ward)})
	if err != nil {
		b.Fatal(err)
	}
	if !testwait.Poll(10*time.Second, l.Conn.IsConnected) {
		b.Fatalf("%s's stolen key did not connect", ward)
	}
	f.link = l
	for g := 0; g < floodGo; g++ {
		f.wg.Add(1)
		go f.run(l, g)
	}
	return f
}

// run publishes receipts and as-run lines of exactly the largest size the
// streams take, and every 50th pair one of 64 KiB each.
func (f *flooder) run(l *natsbus.Link, c int) {
	defer f.wg.Done()
	big := make([]byte, 64<<10)
	rsub, asub := natsbus.Report(f.ward), natsbus.AsRun(f.ward)
	for i := 1; ; i++ {
		select {
		case <-f.quit:
			return
		default:
		}
		at := time.Now().UTC().Format(time.RFC3339Nano)
		rep := fmt.Sprintf(`{"alert":"flood-%d-%d","verified":true,"ward":%q,"state":"received","at":%q,"reason":"`, c, i, f.ward, at)
		rep = rep + strings.Repeat("x", natsbus.MaxReportMsg-len(rep)-2) + `"}`
		line := fmt.Sprintf(`{"ward":%q,"id":%d,"program":"flood","planned":%d,"kind":"program","item":"x","result":"completed","note":"`, f.ward, i, time.Now().UnixMilli())
		line = line + strings.Repeat("x", natsbus.MaxAsRunMsg-len(line)-2) + `"}`
		if l.Conn.Publish(rsub, []byte(rep)) != nil || l.Conn.Publish(asub, []byte(line)) != nil {
			time.Sleep(time.Millisecond) // reconnecting, its buffer full: the link tries again
			continue
		}
		n, by := uint64(2), uint64(len(rep)+len(line))
		if i%50 == 0 && l.Conn.Publish(rsub, big) == nil && l.Conn.Publish(asub, big) == nil {
			n, by = n+2, by+2*uint64(len(big))
		}
		f.msgs.Add(n)
		f.bytes.Add(by)
	}
}

func (f *flooder) sent() (msgs, bytes uint64) { return f.msgs.Load(), f.bytes.Load() }

func (f *flooder) stop() {
	f.once.Do(func() {
		close(f.quit)
		f.wg.Wait()
		f.link.Close()
	})
}

// metrics reads the city's /metrics: each series (name{labels} as
// written) to its value.
func (bc *alertBenchCity) metrics(b *testing.B) map[string]float64 {
	req, _ := http.NewRequest("GET", bc.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+bc.alerter)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	m := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
			m[l[:i]] = v
		}
	}
	return m
}

// procWrite is the bytes a process has caused to be written to storage.
func procWrite(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
