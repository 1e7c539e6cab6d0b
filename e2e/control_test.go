package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/internal/icecasttest"
)

// attack is one request an attacker sends to a ward's live endpoint.
type attack struct {
	name    string
	control bool // to the control socket (else the read-only http.listen)
	method  string
	headers map[string]string
	status  int    // what the agent must answer
	reason  string // what it must count and log
}

// liveAttacks are the requests anyone on the ward's network (or a web page
// a technician's phone opens) could send: none carries the token.
func liveAttacks(method string) []attack {
	form := map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	return []attack{
		{"JSON to the status address", false, method, jsonCT, 403, "read_only"},
		{"cross-site form to the status address", false, method, form, 403, "read_only"},
		{"JSON to the control socket without a token", true, method, jsonCT, 401, "no_token"},
		{"cross-site form to the control socket", true, method, form, 403, "cross_site"},
		{"a guessed token", true, method, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer loac_0000000000000000000000000000000000000000"}, 401, "bad_token"},
	}
}

// A ward on the city's network is attacked through its live endpoint while
// its program and then the city's live announcement are on air:
// (a) POST without a token and (b) a cross-site form (text/plain, Origin,
// Sec-Fetch-Site) put nothing on the horns; (c) DELETE without a token does
// not take the city's announcement off; (e) the announcement plays through
// the attacks, from start to stop; every attempt is refused with 401/403,
// logged with its reason and counted in loa_control_refused_total; and
// (d) `loa-agent live start|stop`, with the token from the token file the
// daemon made at its first start, still works.
func TestLiveControlRefusesAttacks(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("icecast2"); err != nil {
		t.Skip("icecast2 is not installed")
	}
	c := newAlertCity(t, "", "phuong-1")
	ice := icecasttest.Start(t)
	ice.Feed(t, "/phat-thanh.mp3", "sine=f=2000:sample_rate=44100") // the city's announcer
	ice.Feed(t, "/ke-gian.mp3", "sine=f=3000:sample_rate=44100")    // what the attacker wants on the horns
	ice.WaitMount(t, "/phat-thanh.mp3", 15*time.Second)
	ice.WaitMount(t, "/ke-gian.mp3", 15*time.Second)

	a, wav := c.playingProgram("phuong-1", 1000)

	// The token file: made by the daemon, not readable by others.
	tokenFile := filepath.Join(a.data, "control.token")
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Fatalf("control token file: %v %v", fi, err)
	}
	socket := filepath.Join(a.data, "control.sock")
	attackBody := fmt.Sprintf(`{"input":%q,"mode":"exclusive","title":"ke gian"}`, ice.URL("/ke-gian.mp3"))
	send := func(at attack) {
		t.Helper()
		code, msg := liveRequest(t, a.addr, socket, at, attackBody)
		if msg = strings.TrimSpace(msg); code != at.status || !strings.Contains(msg, " / ") {
			t.Fatalf("%s %s: %d %q, want %d with a bilingual reason", at.method, at.name, code, msg, at.status)
		}
	}
	refused := map[string]int{}
	attackAll := func(method string) {
		t.Helper()
		for _, at := range liveAttacks(method) {
			send(at)
			refused[at.reason]++
		}
	}

	// (a), (b): nothing of the attacker's goes on air.
	attackAll(http.MethodPost)
	if l := a.live(); l != nil {
		t.Fatalf("an attack put a live input on air: %+v", l)
	}

	// (e), (c): the city's announcement, attacked while it plays.
	run(t, c.ctl, "loactl", "live", "start", "--stream", ice.URL("/phat-thanh.mp3"), "--to", "phuong-1", "--mode", "exclusive")
	waitUntil(t, "the city's announcement on air", 20*time.Second, func() bool { l := a.live(); return l != nil })
	cityID := a.live().ID
	onAir := time.Now()
	for round := 0; round < 3; round++ {
		attackAll(http.MethodDelete)
		attackAll(http.MethodPost)
		if l := a.live(); l == nil || l.ID != cityID {
			t.Fatalf("round %d: the city's announcement %s is no longer on air: %+v", round, cityID, l)
		}
	}
	// Past the stream's buffer: what went on air during the attacks is in
	// the capture before the announcement ends.
	waitUntil(t, "5 s of the announcement", 10*time.Second, func() bool { return time.Since(onAir) > 5*time.Second })
	attacked := time.Since(onAir)
	run(t, c.ctl, "loactl", "live", "stop")
	waitUntil(t, "the city's announcement off", 20*time.Second, func() bool { return a.live() == nil })

	// (d): the station's own operator, with the token.
	cmd := exec.Command(filepath.Join(bin, "loa-agent"), "live", "start", "--input", ice.URL("/phat-thanh.mp3"), "--mode", "duck", "--config", a.config)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "on air") {
		t.Fatalf("loa-agent live start: %v\n%s", err, out)
	}
	waitUntil(t, "the ward's live voice on air", 10*time.Second, func() bool { l := a.live(); return l != nil && strings.HasPrefix(l.ID, "ward-") })
	attackAll(http.MethodDelete)
	if l := a.live(); l == nil || !strings.HasPrefix(l.ID, "ward-") {
		t.Fatalf("the ward's live voice was taken off by an attack: %+v", l)
	}
	if out, err := exec.Command(filepath.Join(bin, "loa-agent"), "live", "stop", "--config", a.config).CombinedOutput(); err != nil {
		t.Fatalf("loa-agent live stop: %v\n%s", err, out)
	}
	waitUntil(t, "the ward's live voice off", 10*time.Second, func() bool { return a.live() == nil })

	// Reported: counted by reason, and logged with it.
	for reason, n := range refused {
		if got := a.metric(fmt.Sprintf(`loa_control_refused_total{reason=%q}`, reason)); got != fmt.Sprint(n) {
			t.Errorf("loa_control_refused_total{reason=%q} = %q, want %d", reason, got, n)
		}
	}
	a.stop()
	// One line per reason every 10 s at most, each with the number of
	// refusals not logged since the one before.
	logged, accounted := map[string]int{}, map[string]int{}
	f, _ := os.Open(a.log.Name())
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Msg     string `json:"msg"`
			Reason  string `json:"reason"`
			Skipped int    `json:"not_logged_before"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "control request refused" {
			logged[e.Reason]++
			accounted[e.Reason] += 1 + e.Skipped
		}
	}
	f.Close()
	for reason, n := range refused {
		if logged[reason] == 0 || accounted[reason] > n {
			t.Errorf("log: %d lines accounting for %d refusals for %s, want at least one line and at most %d", logged[reason], accounted[reason], reason, n)
		}
	}

	// The capture: the attacker's 3 kHz never on air; the announcer's
	// 2 kHz over the muted program for the whole attacked stretch.
	x, rate := readWAVFile(t, wav)
	n := rate / 10
	run, longest := 0, 0
	for i := 0; i+n <= len(x); i += n {
		w := x[i : i+n]
		prog, voice, evil := goertzel(w, 1000, rate), goertzel(w, 2000, rate), goertzel(w, 3000, rate)
		if evil > 1e-4 {
			t.Fatalf("the attacker's stream is in the output at %.1f s (power %.2g)", float64(i)/float64(rate), evil)
		}
		if voice > 10*prog && voice > 1e-4 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	t.Logf("the city's announcement on air for %.1f s without a break while %d attempts were refused (attacked for %.1f s)",
		float64(longest)/10, sum(refused), attacked.Seconds())
	if float64(longest)/10 < attacked.Seconds()-1 {
		t.Errorf("the announcement was on air %.1f s in one piece, the attacks lasted %.1f s", float64(longest)/10, attacked.Seconds())
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

type liveJSON struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// live is what the agent reports on air as live ("live" in its status).
func (a *agentProc) live() *liveJSON {
	a.t.Helper()
	code, body := a.get("/api/v1/status")
	var s struct {
		Live *liveJSON `json:"live"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
		a.t.Fatalf("status: %d %s", code, body)
	}
	return s.Live
}

// liveRequest sends an attack to the status address (HTTP) or to the
// control socket and returns the answer.
func liveRequest(t *testing.T, addr, socket string, at attack, post string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + addr + "/api/v1/live"
	if at.control {
		client.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}
		url = "http://loa-agent/api/v1/live"
	}
	var body io.Reader
	if at.method == http.MethodPost {
		body = strings.NewReader(post)
	}
	req, _ := http.NewRequest(at.method, url, body)
	for k, v := range at.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", at.method, at.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
