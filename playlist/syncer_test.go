package playlist_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loa/audio"
	"loa/city/api"
	"loa/city/citytest"
	"loa/internal/testwait"
	"loa/manifest"
	"loa/playlist"
	"loa/playlist/playlisttest"
	"loa/signing"
)

// env is a real city with one ward, and that ward's station.
type env struct {
	c     *citytest.City
	token string
	st    *playlisttest.Station
	logs  *citytest.LogBuffer
	media map[string]api.Media
	dir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := citytest.New(t)
	dir := t.TempDir()
	e := &env{c: c, token: c.AddWard(t, "phuong-1"), logs: &citytest.LogBuffer{}, media: map[string]api.Media{}, dir: dir}
	e.media["a"] = c.Upload(t, tone(t, dir, "a.wav", 3, 440), "a.wav")
	e.media["b"] = c.Upload(t, tone(t, dir, "b.wav", 5, 660), "b.wav")
	c.MustLoad(t, "ward:phuong-1", program("a.wav"))
	st, err := playlisttest.New(filepath.Join(dir, "ward"))
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	return e
}

// tone writes a sine (mono WAV, 44.1 kHz, at ffmpeg's default level of
// 1/8) in-process: what the city does with an upload (ffprobe, the ffmpeg
// transcode) runs for real, but making the test input needs no ffmpeg.
func tone(t *testing.T, dir, name string, seconds float64, freq int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := audio.CreateWAV(path, 44100, 1)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][2]float64, int(seconds*44100))
	for i := range frames {
		v := 0.125 * math.Sin(2*math.Pi*float64(freq)*float64(i)/44100)
		frames[i] = [2]float64{v, v}
	}
	if err := w.Write(frames); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func program(items ...string) string {
	return "programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [" + strings.Join(items, ", ") + "]\n"
}

func (e *env) syncer(url string, mod ...func(*playlist.Config)) *playlist.Syncer {
	cfg := playlist.Config{CityURL: url, Token: e.token, PublicKeys: []ed25519.PublicKey{e.c.PublicKey()}, Ward: "phuong-1",
		Timeout: 5 * time.Second, Log: slog.New(slog.NewTextHandler(e.logs, nil))}
	for _, m := range mod {
		m(&cfg)
	}
	return playlist.NewSyncer(cfg, e.st)
}

// snapshot is what a test checks did not change.
type snapshot struct {
	version        int64
	applied, added int
	keys           string
}

func (e *env) snapshot(t *testing.T) snapshot {
	keys, err := e.st.Store.Keys()
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{e.st.ManifestVersion(), len(e.st.Applied()), len(e.st.Added()), strings.Join(keys, ",")}
}

func (e *env) cityVersion(t *testing.T) int64 {
	t.Helper()
	_, body, _ := e.c.Do(t, "GET", "/api/v1/wards/phuong-1", e.c.Admin, nil)
	var w api.Ward
	json.Unmarshal(body, &w)
	return w.ManifestVersion
}

// rawManifest is the ward's envelope as the city serves it.
func (e *env) rawManifest(t *testing.T, token string) []byte {
	t.Helper()
	status, body, _ := e.c.Do(t, "GET", "/api/v1/manifest", token, nil)
	if status != 200 {
		t.Fatalf("manifest: %d", status)
	}
	return body
}

// proxy stands between the ward and the city; intercept may answer a
// request itself (returning true).
type proxy struct {
	*httptest.Server
	city       string
	intercept  func(w http.ResponseWriter, r *http.Request) bool
	mu         sync.Mutex
	mediaBytes int64
	requests   []string
}

func newProxy(t *testing.T, city string) *proxy {
	p := &proxy{city: city}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+r.URL.Path+" range="+r.Header.Get("Range")+" inm="+r.Header.Get("If-None-Match"))
		icpt := p.intercept
		p.mu.Unlock()
		if icpt != nil && icpt(w, r) {
			return
		}
		p.forward(w, r, -1)
	}))
	t.Cleanup(p.Close)
	return p
}

// forward passes r to the city, sending at most limit body bytes (-1: all)
// and then cutting the connection.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request, limit int64) {
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.city+r.URL.RequestURI(), r.Body)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	var body io.Reader = resp.Body
	if limit >= 0 {
		body = io.LimitReader(resp.Body, limit)
	}
	n, _ := io.Copy(w, body)
	if strings.HasPrefix(r.URL.Path, "/api/v1/media/") {
		p.mu.Lock()
		p.mediaBytes += n
		p.mu.Unlock()
	}
	if limit >= 0 {
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // cut the connection mid-body
	}
}

func (p *proxy) set(fn func(w http.ResponseWriter, r *http.Request) bool) {
	p.mu.Lock()
	p.intercept = fn
	p.mu.Unlock()
}

func (p *proxy) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

func serveBytes(path string, body []byte, header ...string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Write(body)
		return true
	}
}

func TestConverge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied := e.st.Applied()
	if len(applied) != 1 || applied[0].Version != e.cityVersion(t) || e.st.ManifestVersion() != applied[0].Version {
		t.Fatalf("applied %v", applied)
	}
	if !e.st.HasMedia(e.media["a"].SHA256) || e.st.HasMedia(e.media["b"].SHA256) {
		t.Error("store does not hold exactly the program's media")
	}
	if err := e.st.Store.Verify(e.media["a"].SHA256); err != nil {
		t.Error(err)
	}
	// Nothing changed: one conditional request, nothing applied.
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := p.log()
	last := reqs[len(reqs)-1]
	if !strings.HasPrefix(last, "GET /api/v1/manifest") || strings.HasSuffix(last, "inm=") {
		t.Errorf("second poll: %s", last)
	}
	if len(e.st.Applied()) != 1 {
		t.Error("unchanged manifest applied again")
	}
	st := s.Status()
	if st.LastError != "" || st.LastSuccess.IsZero() || st.Version != applied[0].Version || st.CityVersion != st.Version || st.Pending != 0 || st.Downloaded != e.media["a"].Size {
		t.Errorf("status %+v", st)
	}

	// A new program with a new item.
	e.c.MustLoad(t, "ward:phuong-1", program("a.wav", "b.wav"))
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.st.ManifestVersion() != e.cityVersion(t) || !e.st.HasMedia(e.media["b"].SHA256) {
		t.Error("did not converge on the new program")
	}
	if added := e.st.Added(); len(added) != 2 {
		t.Errorf("media added %v, want a then b once each", added)
	}
	if e.st.Incomplete() != 0 {
		t.Error("a manifest was handed over with media missing")
	}
	// The city saw the version the ward has.
	_, body, _ := e.c.Do(t, "GET", "/api/v1/wards/phuong-1", e.c.Admin, nil)
	var w api.Ward
	json.Unmarshal(body, &w)
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, body, _ = e.c.Do(t, "GET", "/api/v1/wards/phuong-1", e.c.Admin, nil)
	json.Unmarshal(body, &w)
	if !w.InSync {
		t.Errorf("city does not see the ward in sync: %+v", w)
	}
}

// rejected checks that a poll failed with want, changed nothing, and was
// logged.
func (e *env) rejected(t *testing.T, s *playlist.Syncer, before snapshot, want error, logged string) {
	t.Helper()
	err := s.Poll(t.Context())
	if !errors.Is(err, want) {
		t.Fatalf("Poll = %v, want %v", err, want)
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("station changed: %+v -> %+v", before, after)
	}
	if logged != "" && !strings.Contains(e.logs.String(), logged) {
		t.Errorf("log lacks %q:\n%s", logged, e.logs)
	}
	if st := s.Status(); st.LastError == "" || st.Failures == 0 {
		t.Errorf("status after a rejection: %+v", st)
	}
	if e.st.Incomplete() != 0 {
		t.Error("a manifest was handed over with media missing")
	}
}

// converged polls through p and checks the station matches the city.
func (e *env) converged(t *testing.T, s *playlist.Syncer) {
	t.Helper()
	if err := s.Poll(t.Context()); err != nil {
		t.Fatalf("poll after the attack: %v", err)
	}
	if e.st.ManifestVersion() != e.cityVersion(t) {
		t.Errorf("version %d, city has %d", e.st.ManifestVersion(), e.cityVersion(t))
	}
}

func TestRejectBadSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.converged(t, s)
	e.c.MustLoad(t, "ward:phuong-1", program("b.wav"))
	var env signing.Envelope
	json.Unmarshal(e.rawManifest(t, e.token), &env)
	env.Signature[0] ^= 0x40
	bad, _ := json.Marshal(env)
	p.set(serveBytes("/api/v1/manifest", bad))
	e.rejected(t, s, e.snapshot(t), signing.ErrBadSignature, "manifest rejected")
	for _, r := range p.log() {
		if strings.Contains(r, "/api/v1/media/"+e.media["b"].SHA256) {
			t.Errorf("media fetched for a badly signed manifest: %s", r)
		}
	}
	p.set(nil)
	e.converged(t, s)
}

func TestRejectOtherKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.converged(t, s)
	e.c.MustLoad(t, "ward:phuong-1", program("b.wav"))
	var env signing.Envelope
	json.Unmarshal(e.rawManifest(t, e.token), &env)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := json.Marshal(signing.Sign(other, env.Payload))
	p.set(serveBytes("/api/v1/manifest", forged))
	e.rejected(t, s, e.snapshot(t), signing.ErrUnknownKey, "manifest rejected")
	// Another key claiming the city's key id.
	fe := signing.Sign(other, env.Payload)
	fe.KeyID = env.KeyID
	forged, _ = json.Marshal(fe)
	p.set(serveBytes("/api/v1/manifest", forged))
	e.rejected(t, s, e.snapshot(t), signing.ErrBadSignature, "")
	p.set(nil)
	e.converged(t, s)
}

// cityKey is the city's private key, to sign crafted manifests as a
// compromised or buggy city would.
func cityKey(t *testing.T, e *env) ed25519.PrivateKey {
	k, err := signing.LoadKey(e.c.Config.Key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRejectReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	old := e.rawManifest(t, e.token)
	e.converged(t, s)
	e.c.MustLoad(t, "ward:phuong-1", program("a.wav", "b.wav"))
	e.converged(t, s)

	// The old manifest, genuinely signed, replayed.
	p.set(serveBytes("/api/v1/manifest", old))
	e.rejected(t, s, e.snapshot(t), playlist.ErrReplay, "replay")

	// The current version with other content.
	var env signing.Envelope
	json.Unmarshal(e.rawManifest(t, e.token), &env)
	m, _ := manifest.Decode(env.Payload)
	m.Media = m.Media[:1]
	m.Programs = strings.Replace(m.Programs, "- "+e.media["b"].SHA256+"\n", "", 1)
	ce, err := manifest.Sign(cityKey(t, e), m)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := json.Marshal(ce)
	p.set(serveBytes("/api/v1/manifest", same))
	e.rejected(t, s, e.snapshot(t), playlist.ErrReplay, "other content")
	p.set(nil)
	e.converged(t, s)
}

func TestRejectOtherWard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.c.AddWard(t, "phuong-2")
	e.c.MustLoad(t, "ward:phuong-2", program("b.wav"))
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.converged(t, s)
	e.c.MustLoad(t, "ward:phuong-1", program("a.wav", "b.wav"))
	p.set(serveBytes("/api/v1/manifest", e.rawManifest(t, other)))
	e.rejected(t, s, e.snapshot(t), playlist.ErrWrongWard, "other ward")
	p.set(nil)
	e.converged(t, s)
}

func TestRejectMediaMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.converged(t, s)
	e.c.MustLoad(t, "ward:phuong-1", program("a.wav", "b.wav"))
	good, _ := os.ReadFile(e.c.Store.Path(e.media["b"].SHA256))
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff // same length, one byte off
	p.set(serveBytes("/api/v1/media/"+e.media["b"].SHA256, bad))
	e.rejected(t, s, e.snapshot(t), playlist.ErrMismatch, "sha256 mismatch")
	if parts := partials(t, e); len(parts) != 0 {
		t.Errorf("bad bytes kept: %v", parts)
	}
	// Too many bytes.
	p.set(serveBytes("/api/v1/media/"+e.media["b"].SHA256, append(good, 0)))
	e.rejected(t, s, e.snapshot(t), playlist.ErrMismatch, "")
	p.set(nil)
	e.converged(t, s)
}

func partials(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	entries, _ := os.ReadDir(filepath.Join(e.st.Store.Dir, "tmp"))
	for _, en := range entries {
		info, _ := en.Info()
		out[en.Name()] = info.Size()
	}
	return out
}

func TestResumeCutDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	e.converged(t, e.syncer(p.URL))
	e.c.MustLoad(t, "ward:phuong-1", program("a.wav", "b.wav"))
	b := e.media["b"]
	half := b.Size / 2
	var cut atomic.Bool
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/media/"+b.SHA256 || cut.Swap(true) {
			return false
		}
		p.forward(w, r, half)
		return true
	})
	before := e.snapshot(t)
	err := e.syncer(p.URL).Poll(t.Context())
	if err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Fatalf("cut download: %v", err)
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("station changed after a cut download: %+v -> %+v", before, after)
	}
	parts := partials(t, e)
	if got := parts["download-"+b.SHA256+".part"]; got != half {
		t.Fatalf("partial %v, want download-%s.part with %d bytes", parts, b.SHA256, half)
	}
	// A new syncer, as after a restart, resumes from the partial file.
	e.converged(t, e.syncer(p.URL))
	var ranged string
	for _, r := range p.log() {
		if strings.Contains(r, "/api/v1/media/"+b.SHA256) && !strings.Contains(r, "range= ") {
			ranged = r
		}
	}
	if !strings.Contains(ranged, fmt.Sprintf("range=bytes=%d-", half)) {
		t.Errorf("resume request: %q", ranged)
	}
	p.mu.Lock()
	fetched := p.mediaBytes - e.media["a"].Size
	p.mu.Unlock()
	if float64(fetched) > 1.1*float64(b.Size) {
		t.Errorf("fetched %d bytes for a %d-byte file (> 1.1x)", fetched, b.Size)
	}
	t.Logf("cut at %d, fetched %d bytes in all for %d (%.3fx)", half, fetched, b.Size, float64(fetched)/float64(b.Size))
	if parts := partials(t, e); len(parts) != 0 {
		t.Errorf("leftovers in tmp: %v", parts)
	}
}

func TestRejectPathTraversalKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.converged(t, s)
	evil := "../../../../../../tmp/loa-evil"
	m := &manifest.Manifest{Ward: "phuong-1", Version: e.st.ManifestVersion() + 1, Issued: time.Now(), Timezone: "Asia/Ho_Chi_Minh",
		Programs: "programs:\n  - id: x\n    cron: \"0 6 * * *\"\n    items: [\"" + evil + "\"]\n",
		Media:    []manifest.Media{{SHA256: evil, Size: 10, Name: "passwd", URL: "/api/v1/media/" + evil}}}
	payload, _ := json.Marshal(m)
	body, _ := json.Marshal(signing.Sign(cityKey(t, e), payload))
	p.set(serveBytes("/api/v1/manifest", body))
	e.rejected(t, s, e.snapshot(t), manifest.ErrInvalid, "manifest rejected")
	for _, r := range p.log() {
		if strings.Contains(r, "/api/v1/media/") && strings.Contains(r, "evil") {
			t.Errorf("fetched %s", r)
		}
	}
	if _, err := os.Stat("/tmp/loa-evil"); err == nil {
		t.Error("a file was written outside the store")
	}
}

func TestRejectOversizedManifest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.converged(t, s)
	huge := append([]byte(`{"payload":"`), bytes.Repeat([]byte("A"), manifest.MaxEnvelope)...)
	p.set(serveBytes("/api/v1/manifest", huge))
	e.rejected(t, s, e.snapshot(t), manifest.ErrTooLarge, "manifest rejected")
	// A gzip bomb: 66 KiB on the wire, 64 MiB inflated, as 64 members of
	// 1 MiB of spaces (a gzip body may hold several members, inflated one
	// after the other into one stream; compressing 64 MiB in one member
	// took most of a minute under -race).
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	zw.Close()
	gz := bytes.Repeat(member.Bytes(), 64)
	p.set(serveBytes("/api/v1/manifest", gz, "Content-Encoding", "gzip"))
	e.rejected(t, s, e.snapshot(t), manifest.ErrTooLarge, "")
	p.set(nil)
	e.converged(t, s)
}

func TestCityErrorsAndHangs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL, func(c *playlist.Config) { c.Timeout = 300 * time.Millisecond })
	e.converged(t, s)
	e.c.MustLoad(t, "ward:phuong-1", program("a.wav", "b.wav"))

	// 500 on the manifest.
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"error":"internal error"}`, 500)
		return true
	})
	before := e.snapshot(t)
	if err := s.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: %v", err)
	}
	// The manifest hangs: no answer at all.
	release := make(chan struct{})
	defer close(release)
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	p.set(func(w http.ResponseWriter, r *http.Request) bool { hang(w, r); return true })
	if err := s.Poll(t.Context()); err == nil {
		t.Error("hanging city: no error")
	}
	// The media hangs after half its bytes.
	b := e.media["b"]
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/media/"+b.SHA256 {
			return false
		}
		data, _ := os.ReadFile(e.c.Store.Path(b.SHA256))
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		hang(w, r)
		return true
	})
	err := s.Poll(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no data for") {
		t.Errorf("stalled download: %v", err)
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("station changed: %+v -> %+v", before, after)
	}
	if s.Status().Failures != 3 {
		t.Errorf("failures %d, want 3", s.Status().Failures)
	}
	p.set(nil)
	e.converged(t, s)
}

func TestStationRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.st.ApplyErr = errors.New("disk full")
	if err := s.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("refused apply: %v", err)
	}
	// Unchanged manifest (304): the station is asked again.
	e.st.ApplyErr = nil
	e.converged(t, s)
	reqs := p.log()
	if n := strings.Count(strings.Join(reqs, "\n"), "/api/v1/media/"); n != 1 {
		t.Errorf("media fetched %d times, want once:\n%s", n, strings.Join(reqs, "\n"))
	}
}

func TestRunSyncNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.syncer(e.c.URL, func(c *playlist.Config) { c.Interval = time.Hour })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	waitFor(t, func() bool { return e.st.ManifestVersion() == e.cityVersion(t) })
	e.c.MustLoad(t, "ward:phuong-1", program("b.wav"))
	want := e.cityVersion(t)
	s.SyncNow()
	waitFor(t, func() bool { return e.st.ManifestVersion() == want })
	cancel()
	<-done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if !testwait.Poll(20*time.Second, cond) {
		t.Fatal("condition not reached in 20 s")
	}
}
