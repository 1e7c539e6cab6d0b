package playlist_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loa/city/citytest"
	"loa/playlist"
	"loa/playlist/playlisttest"
)

// wire counts the bytes a client sends and receives on its connections.
type wire struct{ in, out atomic.Int64 }

func (w *wire) client() *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countConn{Conn: c, w: w}, nil
	}}}
}

func (w *wire) total() int64 { return w.in.Load() + w.out.Load() }

type countConn struct {
	net.Conn
	w *wire
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.in.Add(int64(n))
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.out.Add(int64(n))
	return n, err
}

type benchWard struct {
	st *playlisttest.Station
	s  *playlist.Syncer
	w  *wire
}

func newBenchWard(b *testing.B, c *citytest.City, id, token string) *benchWard {
	st, err := playlisttest.New(filepath.Join(b.TempDir(), id))
	if err != nil {
		b.Fatal(err)
	}
	st.Probe = false
	w := &wire{}
	s := playlist.NewSyncer(playlist.Config{CityURL: c.URL, Token: token, PublicKeys: []ed25519.PublicKey{c.PublicKey()},
		Ward: id, HTTP: w.client()}, st)
	return &benchWard{st: st, s: s, w: w}
}

func (bw *benchWard) poll(b *testing.B) {
	if err := bw.s.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPollUnchanged: what a ward's poll costs when nothing changed.
func BenchmarkPollUnchanged(b *testing.B) {
	c := citytest.New(b)
	dir := b.TempDir()
	tok := c.AddWard(b, "phuong-1")
	c.Upload(b, citytest.Tone(b, dir, "a.wav", 1, 440), "a.wav")
	c.Upload(b, citytest.Tone(b, dir, "b.wav", 1, 660), "b.wav")
	c.MustLoad(b, "ward:phuong-1", program("a.wav", "b.wav"))
	bw := newBenchWard(b, c, "phuong-1", tok)
	bw.poll(b)
	before := bw.w.total()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bw.poll(b)
	}
	b.StopTimer()
	b.ReportMetric(float64(bw.w.total()-before)/float64(b.N), "wire-B/poll")
}

// programs500 is 100 programs of 5 items each, naming items[0..499].
func programs500(names []string) string {
	var sb strings.Builder
	sb.WriteString("programs:\n")
	for p := 0; p < 100; p++ {
		fmt.Fprintf(&sb, "  - id: p%03d\n    cron: \"%d %d * * *\"\n    items: [%s]\n", p, (p%6)*10, 5+p/6, strings.Join(names[p*5:p*5+5], ", "))
	}
	return sb.String()
}

// BenchmarkPollOneChangedOf500: a ward with 500 items; one is replaced.
// The poll fetches the new manifest and the one new file.
func BenchmarkPollOneChangedOf500(b *testing.B) {
	c := citytest.New(b)
	tok := c.AddWard(b, "phuong-1")
	base := c.Upload(b, citytest.Tone(b, b.TempDir(), "base.wav", 1, 440), "base.wav")
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("item-%03d.mp3", i)
		c.AddVariant(b, base, uint32(i+1), names[i])
	}
	c.MustLoad(b, "ward:phuong-1", programs500(names))
	bw := newBenchWard(b, c, "phuong-1", tok)
	w0 := bw.w.total()
	bw.poll(b)
	firstSync := bw.w.total() - w0
	var manifestB, mediaB, wireB int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := c.AddVariant(b, base, uint32(1000+i), fmt.Sprintf("new-%d.mp3", i))
		names[i%500] = m.Names[0]
		c.MustLoad(b, "ward:phuong-1", programs500(names))
		_, body, _ := c.Do(b, "GET", "/api/v1/manifest", tok, nil, "Accept-Encoding", "gzip")
		manifestB += int64(len(body))
		mediaB += m.Size
		before := bw.w.total()
		b.StartTimer()
		bw.poll(b)
		wireB += bw.w.total() - before
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(wireB)/n, "wire-B/poll")
	b.ReportMetric(float64(manifestB)/n, "manifest-gzip-B")
	b.ReportMetric(float64(mediaB)/n, "new-item-B")
	b.ReportMetric(float64(firstSync), "first-sync-wire-B")
}

// BenchmarkResumeAt50: a download cut at half its bytes, then resumed by
// a new syncer (a restart): bytes fetched over the file's size.
func BenchmarkResumeAt50(b *testing.B) {
	c := citytest.New(b)
	dir := b.TempDir()
	tok := c.AddWard(b, "phuong-1")
	m := c.Upload(b, citytest.Tone(b, dir, "long.wav", 120, 440), "long.wav")
	c.MustLoad(b, "ward:phuong-1", program("long.wav"))
	p := newProxy(&testing.T{}, c.URL)
	defer p.Close()
	var fetched int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var cut atomic.Bool
		p.set(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasPrefix(r.URL.Path, "/api/v1/media/") || cut.Swap(true) {
				return false
			}
			p.forward(w, r, m.Size/2)
			return true
		})
		st, _ := playlisttest.New(filepath.Join(dir, fmt.Sprint("w", i)))
		cfg := playlist.Config{CityURL: p.URL, Token: tok, PublicKeys: []ed25519.PublicKey{c.PublicKey()}}
		if err := playlist.NewSyncer(cfg, st).Poll(context.Background()); err == nil {
			b.Fatal("cut download succeeded")
		}
		if err := playlist.NewSyncer(cfg, st).Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.mu.Lock()
	fetched = p.mediaBytes
	p.mu.Unlock()
	b.ReportMetric(float64(fetched)/float64(b.N)/float64(m.Size), "fetched/size")
	b.ReportMetric(float64(m.Size), "file-B")
}

// BenchmarkConverge100Wards: 100 wards (syncers running against one real
// city) all have a city-wide program change, with a new 30 s item, applied:
// time from the change to the last ward, when each is notified (SyncNow).
func BenchmarkConverge100Wards(b *testing.B) {
	c := citytest.New(b)
	dir := b.TempDir()
	base := c.Upload(b, citytest.Tone(b, dir, "base.wav", 30, 440), "base.wav")
	wards := make([]*benchWard, 100)
	for i := range wards {
		id := fmt.Sprintf("phuong-%03d", i)
		wards[i] = newBenchWard(b, c, id, c.AddWard(b, id))
	}
	c.MustLoad(b, "all", program("base.wav"))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range wards {
		wg.Add(1)
		go func() { defer wg.Done(); w.s.Run(ctx) }()
	}
	defer func() { cancel(); wg.Wait() }()
	wait := func(v func(int) int64) {
		for i := 0; i < len(wards); {
			if wards[i].st.ManifestVersion() == v(i) {
				i++
				continue
			}
			time.Sleep(time.Millisecond) // a poll bounded by the benchmark itself, not a wait of fixed length
		}
	}
	versions := func() map[string]int64 {
		_, body, _ := c.Do(b, "GET", "/api/v1/wards", c.Admin, nil)
		var ws []struct {
			ID string `json:"id"`
			V  int64  `json:"manifest_version"`
		}
		jsonUnmarshal(body, &ws)
		out := map[string]int64{}
		for _, w := range ws {
			out[w.ID] = w.V
		}
		return out
	}
	want := versions()
	wait(func(i int) int64 { return want[fmt.Sprintf("phuong-%03d", i)] })
	var loadT, convT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := c.AddVariant(b, base, uint32(i+1), fmt.Sprintf("moi-%d.mp3", i))
		b.StartTimer()
		t0 := time.Now()
		res := c.MustLoad(b, "all", program(m.Names[0]))
		loadT += time.Since(t0)
		b.StopTimer()
		if len(res.Changed) != 100 {
			b.Fatalf("%d wards changed", len(res.Changed))
		}
		want := versions()
		b.StartTimer()
		t1 := time.Now()
		for _, w := range wards {
			w.s.SyncNow()
		}
		wait(func(j int) int64 { return want[fmt.Sprintf("phuong-%03d", j)] })
		convT += time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(loadT.Milliseconds())/float64(b.N), "load-ms")
	b.ReportMetric(float64(convT.Milliseconds())/float64(b.N), "converge-ms")
}

func jsonUnmarshal(b []byte, v any) { _ = json.Unmarshal(b, v) }
