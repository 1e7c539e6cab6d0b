package livecast

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loa/internal/testwait"
)

// BenchmarkFanOut is the city's cost of one more listening ward: frames
// of a 64 kbit/s stream (209 bytes, 38.3 a second) handed to N relays over
// real HTTP on loopback, until every relay has read every frame. The
// relays' reading runs in the same process, so the figure is an upper
// bound of the city's part. It reports the wall time per listener per
// second of audio ("µs/ward/s"; the machine's cores bound the CPU time it
// stands for): 10,000 of them are 1 % of a core. The frames are sent as
// fast as the relays take them, so writes are batched more than at the
// real 38 frames a second: the end-to-end test measures that case.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("wards=%d", n), func(b *testing.B) {
			c := New(Config{Announcer: &fakeAnnouncer{}, ListenerQueue: b.N + 16})
			br := &Broadcast{c: c, token: "t", out: NewFanout(b.N+16, nil), done: make(chan struct{})}
			c.mounts["t"] = br
			srv := httptest.NewServer(c.Handler())
			defer srv.Close()
			var got atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodGet, srv.URL+MountPrefix+"t.mp3", nil)
					req.Header.Set("User-Agent", "loa-agent relay")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					defer resp.Body.Close()
					buf := make([]byte, 32<<10)
					for {
						k, err := resp.Body.Read(buf)
						got.Add(int64(k))
						if err != nil {
							return
						}
					}
				}()
			}
			testwait.For(b, "the relays connected", 10*time.Second, func() bool { return br.Relays() == n })
			frame := make([]byte, 209)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				br.out.Send(frame)
			}
			want := int64(b.N) * int64(len(frame)) * int64(n)
			testwait.For(b, "every frame read", time.Minute, func() bool { return got.Load() >= want })
			el := time.Since(start)
			b.StopTimer()
			if br.Relays() != n {
				b.Fatalf("%d relays left of %d (dropped)", br.Relays(), n)
			}
			perFrame := float64(el.Nanoseconds()) / float64(b.N) / float64(n)
			b.ReportMetric(perFrame*38.28/1000, "µs/ward/s")
			br.mu.Lock()
			br.ended = true
			br.mu.Unlock()
			br.out.Close()
			wg.Wait()
		})
	}
}
