package natsserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus"
)

// BenchmarkWardMemory is what one ward costs the embedded server, part by
// part (issue 16: about 180 KB of the city's RSS a ward):
//
//	go test ./natsbus/natsserver -run '^$' -bench WardMemory -benchtime 1x -v
//
// Each part is made for N wards (LOA_BENCH_WARDS, default 1000) on a
// fresh server and the live heap (after a collection) and goroutines
// counted before and after: the ward's alert consumer on ALERTS as the
// city makes it (WardConsumer) and with other settings, its command
// consumer (WardCommandConsumer) with its state on disk and in memory,
// and its connection with the ward's permissions against the same
// connection without any (an admin key), which isolates what the
// permissions cost. The connections' client side is in this process too;
// it is the same for both kinds and cancels out in their difference.
// LOA_BENCH_PROFILE: a folder for each part's heap profile.
func BenchmarkWardMemory(b *testing.B) {
	n := 1000
	if s := os.Getenv("LOA_BENCH_WARDS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	groups := []string{"quan-1"}
	consumers := []struct {
		name   string
		stream string
		cfg    func(ward string) jetstream.ConsumerConfig
	}{
		{"alerts", natsbus.StreamAlerts, func(w string) jetstream.ConsumerConfig { return natsbus.WardConsumer(w, groups, time.Time{}) }},
		{"alerts-ack-pending-10-waiting-4", natsbus.StreamAlerts, func(w string) jetstream.ConsumerConfig {
			c := natsbus.WardConsumer(w, groups, time.Time{})
			c.MaxAckPending, c.MaxWaiting = 10, 4
			return c
		}},
		{"alerts-state-on-disk", natsbus.StreamAlerts, func(w string) jetstream.ConsumerConfig {
			c := natsbus.WardConsumer(w, groups, time.Time{})
			c.MemoryStorage = false
			return c
		}},
		{"commands", natsbus.StreamCommands, natsbus.WardCommandConsumer},
		{"commands-state-in-memory", natsbus.StreamCommands, func(w string) jetstream.ConsumerConfig {
			c := natsbus.WardCommandConsumer(w)
			c.MemoryStorage = true
			return c
		}},
	}
	for _, k := range consumers {
		b.Run("consumer="+k.name, func(b *testing.B) {
			for range b.N {
				bus := startSmallBus(b, 1<<30, true)
				ctx := context.Background()
				if err := natsbus.EnsureCommandStreams(ctx, bus.js, 1, 1<<30); err != nil {
					b.Fatal(err)
				}
				heap0, st0, g0 := liveHeap()
				for i := range n {
					if _, err := bus.js.CreateConsumer(ctx, k.stream, k.cfg(fmt.Sprintf("phuong-%05d", i))); err != nil {
						b.Fatal(err)
					}
				}
				heap1, st1, g1 := liveHeap()
				reportWard(b, n, heap1-heap0, st1-st0, g1-g0)
				heapProfile(b, "consumer="+k.name)
			}
		})
	}
	for _, perms := range []bool{true, false} {
		name := "connection=ward-permissions"
		if !perms {
			name = "connection=no-permissions"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				var wards []WardKey
				for i := range n {
					wards = append(wards, WardKey{Ward: fmt.Sprintf("phuong-%05d", i), Groups: groups})
				}
				bus := startSmallBus(b, 1<<30, true, wards...)
				seeds := make([]string, 0, n)
				if perms {
					for _, w := range wards {
						seeds = append(seeds, bus.seeds[w.Ward])
					}
				} else {
					// The same keys, registered as admins: no permissions.
					var keys []string
					for range n {
						seed, pub, _ := natsbus.NewUserKey()
						seeds, keys = append(seeds, seed), append(keys, pub)
					}
					restartWithAdmins(b, bus, keys)
				}
				heap0, st0, g0 := liveHeap()
				for i, seed := range seeds {
					l, err := natsbus.Dial(natsbus.ConnOptions{URLs: bus.srv.ClientURL(), Seed: seed, Name: "ward", InboxPrefix: natsbus.InboxPrefix(wards[i].Ward)})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(l.Close)
					// One heartbeat, as a ward's first.
					if err := l.Conn.Publish(natsbus.Heartbeat(wards[i].Ward), []byte("{}")); err != nil {
						b.Fatal(err)
					}
					l.Conn.Flush()
				}
				heap1, st1, g1 := liveHeap()
				reportWard(b, n, heap1-heap0, st1-st0, g1-g0)
				heapProfile(b, name)
			}
		})
	}
}

// heapProfile writes the live heap's profile into the folder
// LOA_BENCH_PROFILE names, if any.
func heapProfile(b *testing.B, name string) {
	dir := os.Getenv("LOA_BENCH_PROFILE")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".heap.pb.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// restartWithAdmins replaces bus's server by one that gives keys every
// right.
func restartWithAdmins(b *testing.B, bus *smallBus, keys []string) {
	bus.city.Close()
	bus.srv.Shutdown()
	citySeed, cityPub, _ := natsbus.NewUserKey()
	srv, err := Start(Config{Listen: "127.0.0.1:0", StoreDir: b.TempDir(), CityKey: cityPub, AdminKeys: keys, Wards: bus.dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	bus.srv = srv
	if bus.city, err = natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: citySeed, Name: "city"}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bus.city.Close)
}

// liveHeap is the live heap after a collection and the goroutines'
// stacks, both in bytes, and the number of goroutines.
func liveHeap() (heap, stacks int64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse), runtime.NumGoroutine()
}

func reportWard(b *testing.B, n int, heap, stacks int64, goroutines int) {
	kb := func(v int64) float64 { return float64(v) / 1024 / float64(n) }
	b.ReportMetric(kb(heap), "KB_heap/ward")
	b.ReportMetric(kb(stacks), "KB_stack/ward")
	b.ReportMetric(float64(goroutines)/float64(n), "goroutines/ward")
	b.Logf("%d wards: %.1f KB of live heap, %.1f KB of stacks and %.2f goroutines a ward", n, kb(heap), kb(stacks), float64(goroutines)/float64(n))
}
