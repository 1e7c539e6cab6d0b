package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
	"loa/internal/testdb"
	"loa/signing"
	"loa/sqlite"
)

// timeProxy is the path between a ward and its city: a reverse proxy on
// loopback that forwards everything and changes the answers of
// GET /api/v1/time as its mode says:
//
//	forge   the city's time plus 25 h, the signature left as it was (an
//	        attacker on the path has no key)
//	replay  an answer the city signed earlier, played back
//	shift   the city's time plus 25 h signed with the city's key (the
//	        city's clock itself 25 h off, or its key in the wrong hands)
//	""      unchanged
type timeProxy struct {
	t    *testing.T
	url  string
	key  ed25519.PrivateKey
	old  []byte
	mu   sync.Mutex
	mode string
}

func newTimeProxy(t *testing.T, cityAddr, mode string) *timeProxy {
	t.Helper()
	p := &timeProxy{t: t, mode: mode}
	target, _ := url.Parse("http://" + cityAddr)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/api/v1/time" || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		body = p.change(body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", itoa(len(body)))
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p.url = "http://" + ln.Addr().String()
	return p
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (p *timeProxy) setMode(m string) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

func (p *timeProxy) change(body []byte) []byte {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	if mode == "replay" {
		return p.old
	}
	if mode == "" {
		return body
	}
	var env signing.Envelope
	var st api.SignedTime
	if json.Unmarshal(body, &env) != nil || json.Unmarshal(env.Payload, &st) != nil {
		p.t.Errorf("the city's time answer is not a signed time: %s", body)
		return body
	}
	st.UnixNano += int64(25 * time.Hour)
	payload, _ := json.Marshal(st)
	if mode == "shift" {
		env = signing.Sign(p.key, payload)
	} else {
		env.Payload = payload
	}
	out, _ := json.Marshal(env)
	return out
}

// startWardVia starts ward's agent on the city's clock (clock: city,
// measured every second) through url instead of the city's address.
func (c *alertCity) startWardVia(ward, url, output string) *agentProc {
	c.t.Helper()
	dir := filepath.Join(c.dir, ward)
	os.MkdirAll(dir, 0o755)
	data := filepath.Join(dir, "data")
	addr := freePort(c.t)
	extra := strings.Replace(c.agentConfig(ward), "http://"+c.addr, url, 1)
	path := writeAgentConfig(c.t, dir, data, addr, output, extra)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), "clock: trust\n", "clock: city\nclock_poll: 1s\n", 1)), 0o600)
	return startAgent(c.t, path, addr, data, nil)
}

type clockStatusJSON struct {
	Problems []string `json:"problems"`
	Clock    struct {
		Trusted bool          `json:"trusted"`
		Source  string        `json:"source"`
		Offset  time.Duration `json:"offset_ns"`
		Problem string        `json:"problem"`
	} `json:"clock"`
}

func (a *agentProc) clockStatus() clockStatusJSON {
	_, body := a.get("/api/v1/status")
	var s clockStatusJSON
	json.Unmarshal([]byte(body), &s)
	return s
}

func (s clockStatusJSON) problem(words string) bool {
	for _, p := range s.Problems {
		if strings.HasPrefix(p, "Lệch giờ / clock off") && strings.Contains(p, words) {
			return true
		}
	}
	return false
}

// hasTone reports whether a WAV written by an agent holds f Hz somewhere
// (100 ms windows).
func hasTone(t *testing.T, path string, f float64) bool {
	x, rate := readWAVFile(t, path)
	n := rate / 10
	for i := 0; i+n <= len(x); i += n {
		// A full-scale sine has power 1/4 per sample²; an alert at -16 LUFS
		// is far above 1e-4 of that.
		if goertzel(x[i:i+n], f, rate) > 1e-5 && rmsDB(x[i:i+n]) > -40 {
			return true
		}
	}
	return false
}

// The city's time is attacked on the path between three wards and their
// city (no NTP: clock: city): a rewritten answer (+25 h) and a replayed
// old answer are refused and reported, and the clock is not moved; on a
// ward whose clock is trusted, a validly signed +25 h is held back and
// reported until three measurements agree, and then taken. A real
// emergency alert sent then reaches all three wards' outputs, including
// the one whose clock calls it expired 24 h 30 min ago (the NATS server's
// clock says it is live).
func TestClockAttacksOnTheCityTime(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1", "phuong-2", "phuong-3")
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))

	forged := newTimeProxy(t, c.addr, "forge")
	replayed := newTimeProxy(t, c.addr, "replay")
	shifted := newTimeProxy(t, c.addr, "")
	key, err := signing.LoadKey(filepath.Join(c.dir, "city-data", "city.key"))
	if err != nil {
		t.Fatal(err)
	}
	shifted.key = key
	// An answer the city signed for another request, a while ago.
	nb := make([]byte, 16)
	rand.Read(nb)
	resp, err := http.Get("http://" + c.addr + "/api/v1/time?nonce=" + hex.EncodeToString(nb))
	if err != nil {
		t.Fatal(err)
	}
	replayed.old, _ = io.ReadAll(resp.Body)
	resp.Body.Close()

	c.agentExtra = "fleet:\n  heartbeat: 1s\n"
	wards := []string{"phuong-1", "phuong-2", "phuong-3"}
	wavs := map[string]string{}
	agents := map[string]*agentProc{}
	for i, p := range []*timeProxy{forged, replayed, shifted} {
		w := wards[i]
		wavs[w] = filepath.Join(c.dir, w+".wav")
		agents[w] = c.startWardVia(w, p.url, "wav:"+wavs[w])
	}
	for w, reason := range map[string]string{"phuong-1": "signature", "phuong-2": "nonce"} {
		a := agents[w]
		waitUntil(t, w+" refusing the city time it was given", 30*time.Second, func() bool {
			v := a.metric(`loa_clock_city_refused_total{reason="` + reason + `"}`)
			return v != "" && v != "0" && a.clockStatus().problem("refused")
		})
		if s := a.clockStatus(); s.Clock.Trusted || s.Clock.Offset != 0 {
			t.Fatalf("%s: the clock moved on a refused answer: %+v", w, s)
		}
	}
	// phuong-3's clock is set and trusted from the city; then the city's
	// signed time jumps 25 h ahead. The step is not applied silently: it
	// is held back and reported, and applied only once three measurements
	// agree.
	// The city is told too, in the ward's clock detail.
	waitUntil(t, "the city showing phuong-1's refused time", 30*time.Second, func() bool {
		out := run(t, c.adminCtl, "loactl", "wards", "--json")
		i := strings.Index(out, `"phuong-1"`)
		return i >= 0 && strings.Contains(out[i:], "city time refused (signature)")
	})
	a3 := agents["phuong-3"]
	waitUntil(t, "phuong-3 trusting the city's time", 30*time.Second, func() bool {
		s := a3.clockStatus()
		return s.Clock.Trusted && s.Clock.Source == "city" && s.Clock.Offset.Abs() < time.Minute
	})
	shifted.setMode("shift")
	waitUntil(t, "phuong-3 holding back the +25 h step", 30*time.Second, func() bool {
		v := a3.metric(`loa_clock_city_refused_total{reason="step"}`)
		return v != "" && v != "0"
	})
	waitUntil(t, "phuong-3 taking the step once three measurements agree", 30*time.Second, func() bool {
		s := a3.clockStatus()
		return s.Clock.Trusted && (s.Clock.Offset-25*time.Hour).Abs() < time.Minute && s.Clock.Problem == ""
	})
	if v := a3.metric(`loa_clock_city_refused_total{reason="step"}`); v != "2" {
		t.Errorf("steps held back: %s, want 2 (the third agreeing measurement applies it)", v)
	}
	if b, _ := os.ReadFile(a3.log.Name()); !strings.Contains(string(b), "clock step refused: beyond clock_max_step") {
		t.Errorf("phuong-3 does not log the step it held back")
	}
	for _, w := range wards {
		agents[w].waitLinked()
	}

	id := c.alertSend("--media", "coi.wav", "--to", "all", "--priority", "emergency", "--expires", "30m", "--chime=false")
	for _, w := range wards {
		c.waitWardState(id, w, "finished", 30*time.Second)
		var rows []sqlite.AsRunEntry
		waitUntil(t, w+"'s as-run row of the alert", 10*time.Second, func() bool {
			rows = alertRowsUntil(t, agents[w].data, time.Now().Add(48*time.Hour))
			return len(rows) > 0
		})
		if len(rows) != 1 || rows[0].Program != id || rows[0].Result != "completed" {
			t.Fatalf("%s: as-run %+v", w, rows)
		}
		if !hasTone(t, wavs[w], 700) {
			t.Fatalf("%s: the alert's tone is not in the output", w)
		}
	}
	if b, _ := os.ReadFile(a3.log.Name()); !strings.Contains(string(b), "played although the station's clock says it has expired") {
		t.Fatalf("phuong-3 does not say why it played an alert its clock calls expired")
	}
}

// alertRowsUntil are the alert rows of an agent's as-run log up to until
// (a ward whose clock is ahead writes them in its future).
func alertRowsUntil(t *testing.T, data string, until time.Time) []sqlite.AsRunEntry {
	t.Helper()
	rows, err := testdb.Agent(t, filepath.Join(data, "loa.db")).AsRun(context.Background(), time.Time{}, until)
	if err != nil {
		t.Fatal(err)
	}
	var out []sqlite.AsRunEntry
	for _, r := range rows {
		if r.Kind == "alert" {
			out = append(out, r)
		}
	}
	return out
}
