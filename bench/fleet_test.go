// The load benchmarks: whole subsystems under the load of a city or a
// province, with real processes and real network.

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"loa/city"
	"loa/fleet"
	"loa/natsbus"
	"loa/natsbus/natsserver"
)

// keyDir is the simulated wards' directory: public key → ward.
type keyDir map[string]string

func (d keyDir) WardByNKey(ctx context.Context, key string) (string, []string, error) {
	if w, ok := d[key]; ok {
		return w, nil, nil
	}
	return "", nil, errors.New("no such ward")
}

// The city under the heartbeats of 1,000 and 10,000 wards every 15 s: the
// embedded NATS server and the city's board in this process, the wards
// real NATS clients (one connection each, with its own key and
// permissions) in a child process, so that this process's CPU time is the
// city's alone. Run it with
//
//	go test ./bench -run '^$' -bench FleetCity -benchtime 1x -timeout 30m
//
// LOA_BENCH_WINDOW sets the measured window (default 60s: four heartbeats
// from every ward).
func BenchmarkFleetCity(b *testing.B) {
	for _, n := range benchWards([]int{1000, 10000}) {
		b.Run(fmt.Sprintf("wards=%d", n), func(b *testing.B) {
			for range b.N {
				fleetCity(b, n)
			}
		})
	}
}

func fleetCity(b *testing.B, n int) {
	window := 60 * time.Second
	if s := os.Getenv("LOA_BENCH_WINDOW"); s != "" {
		window, _ = time.ParseDuration(s)
	}
	dir := b.TempDir()
	cfg := city.DefaultConfig()
	cfg.Data = filepath.Join(dir, "city")
	c, err := city.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	dirKeys := keyDir{}
	seeds, err := os.Create(filepath.Join(dir, "seeds"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		seed, pub, _ := natsbus.NewUserKey()
		ward := fmt.Sprintf("phuong-%05d", i)
		dirKeys[pub] = ward
		fmt.Fprintf(seeds, "%s %s\n", ward, seed)
	}
	seeds.Close()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: filepath.Join(dir, "nats"), CityKey: cityPub, Wards: dirKeys})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	link, err := natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed, Name: "city"})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.ServeFleetNATS(ctx, link.Conn) }()
	go func() { defer wg.Done(); c.RunFleet(ctx) }()
	defer wg.Wait()
	defer cancel()

	exe, _ := os.Executable()
	sim := exec.Command(exe, "-test.run", "^TestFleetSimulatedWards$", "-test.v")
	sim.Env = append(os.Environ(), "LOA_FLEET_SIM="+seeds.Name(), "LOA_FLEET_URL="+srv.ClientURL())
	stdout, _ := sim.StdoutPipe()
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { sim.Process.Signal(os.Interrupt); sim.Wait() }()
	connected := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "connected ") {
				close(connected)
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(5 * time.Minute):
		b.Fatal("the simulated wards did not connect in 5 min")
	}
	// Warm up: every ward has sent at least once, the board has them all.
	time.Sleep(20 * time.Second)
	before := snapshot(srv, c)
	b.ResetTimer()
	time.Sleep(window)
	after := snapshot(srv, c)
	b.StopTimer()
	if p := os.Getenv("LOA_BENCH_HEAP"); p != "" {
		writeHeapProfile(b, p)
	}

	wall := after.at.Sub(before.at).Seconds()
	cpu := (after.cpu - before.cpu).Seconds()
	beats := float64(after.beats - before.beats)
	b.ReportMetric(100*cpu/wall, "%cpu")
	b.ReportMetric(float64(after.rss)/(1<<20), "MB_rss")
	b.ReportMetric(float64(after.heap)/(1<<20), "MB_heap")
	b.ReportMetric(float64(after.inBytes-before.inBytes)/wall, "nats_in_B/s")
	b.ReportMetric(float64(after.payload-before.payload)/wall, "payload_B/s")
	b.ReportMetric(beats/wall, "hb/s")
	seen := 0
	c.Board().Each(func(v fleet.View) {
		if v.Beat != nil {
			seen++
		}
	})
	b.Logf("%d wards: %.1f %% of one core, RSS %.0f MB, %.0f heartbeats/s, %.0f B/s of messages into NATS (%.0f B/s of heartbeat payload), %d wards on the board",
		n, 100*cpu/wall, float64(after.rss)/(1<<20), beats/wall, float64(after.inBytes-before.inBytes)/wall, float64(after.payload-before.payload)/wall, seen)
	if seen < n {
		b.Errorf("%d of %d wards reached the board", seen, n)
	}
}

type sample struct {
	at               time.Time
	cpu              time.Duration
	rss, heap        uint64
	inBytes, payload int64
	beats            uint64
}

func snapshot(srv *server.Server, c *city.City) sample {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := sample{at: time.Now(), cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if vz, err := srv.Varz(nil); err == nil {
		s.inBytes = vz.InBytes
	}
	st := c.Board().Stats()
	s.beats, s.payload = st.Heartbeats, int64(st.Bytes)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				s.rss = kb << 10
			}
		}
	}
	var ms runtimeMem
	readMem(&ms)
	s.heap = ms.heap
	return s
}

// TestFleetSimulatedWards is the child process of BenchmarkFleetCity: the
// wards of the seeds file, each a NATS client with its own key, sending a
// typical heartbeat every 15 s from a random phase. Without
// LOA_FLEET_SIM it does nothing.
func TestFleetSimulatedWards(t *testing.T) {
	path := os.Getenv("LOA_FLEET_SIM")
	if path == "" {
		t.Skip("the child process of BenchmarkFleetCity")
	}
	url := os.Getenv("LOA_FLEET_URL")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	conns := make([]*nats.Conn, len(lines))
	wards := make([]string, len(lines))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var failed atomic.Int64
	for i, l := range lines {
		f := strings.Fields(l)
		wards[i] = f[0]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			kp, err := natsKeyPair(f[1])
			if err != nil {
				failed.Add(1)
				return
			}
			// A loaded machine (the city making thousands of consumers at
			// its start) may take longer than the client's default 2 s to
			// answer a connection: wait longer, and try again.
			var nc *nats.Conn
			for try := 0; ; try++ {
				nc, err = nats.Connect(url, nats.Nkey(kp.pub, kp.sign), nats.MaxReconnects(-1), nats.CustomInboxPrefix(natsbus.InboxPrefix(f[0])),
					nats.Timeout(30*time.Second))
				if err == nil {
					break
				}
				if try == 4 {
					fmt.Fprintf(os.Stderr, "ward %s: %v\n", f[0], err)
					failed.Add(1)
					return
				}
			}
			conns[i] = nc
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d wards could not connect", failed.Load())
	}
	fmt.Printf("connected %d\n", len(conns))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	silence := map[string]chan struct{}{}
	for i, nc := range conns {
		ch := make(chan struct{}, 1)
		silence[wards[i]] = ch
		go simulateWard(ctx, nc, wards[i], ch)
	}
	// "silent WARD" on stdin: that ward's next heartbeat, sent at once,
	// reports silence on air; it prints "silent WARD" once it is on the
	// server.
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if w, ok := strings.CutPrefix(sc.Text(), "silent "); ok && silence[w] != nil {
			silence[w] <- struct{}{}
		}
	}
	select {} // until the benchmark stops the process
}

func simulateWard(ctx context.Context, nc *nats.Conn, ward string, silence <-chan struct{}) {
	const every = 15 * time.Second
	started := time.Now()
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(rand.Int64N(int64(every)))):
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	hb := fleet.Heartbeat{Ward: ward, Every: every.Seconds(), Version: "1.0.0",
		Clock:     fleet.Clock{Source: "ntp", Trusted: true, OffsetMS: 3},
		OnAir:     &fleet.Playing{Kind: "program", ID: "ban-tin-sang", Title: "Bản tin sáng", Item: "ban-tin-sang-04-05.mp3"},
		LevelDBFS: -13.2, Device: fleet.Device{OK: true}, Sync: &fleet.Sync{AgeS: 20, Manifest: 7}, DiskFree: 5 << 30, CPUTemp: 51.5,
		LastStart: &fleet.Start{Program: "ban-tin-sang", Planned: started.UnixMilli(), LateMS: 12},
		Counters:  fleet.Counter{Starts: 412, LateStarts: 1, SilenceS: 14.2}}
	var buf []byte
	silent := false
	for {
		hb.Seq++
		hb.Sent = time.Now().UnixMilli()
		hb.Uptime = int64(time.Since(started).Seconds())
		// The output level moves, as a ward's playing a programme does:
		// each heartbeat changes its row on the fleet page.
		hb.LevelDBFS = -13.2 - float64(hb.Seq%10)/10
		buf, _ = hb.Encode(buf[:0])
		nc.Publish(fleet.HeartbeatSubject(ward), buf)
		if silent && hb.Silent == 12 {
			nc.Flush()
			fmt.Printf("silent %s\n", ward)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-silence:
			silent = true
		}
		if silent {
			hb.Silent += 12
		}
	}
}
