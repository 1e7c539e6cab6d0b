package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"loa/internal/icecasttest"
	"loa/internal/testwait"
)

// fleetRowState is the state slug of ward's row on the open fleet page
// ("" when the row is not there).
func fleetRowState(t *testing.T, ctx context.Context, ward string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector('#fleet-rows tr[data-ward=%q]'); return r ? r.dataset.slug : ""; })()`, ward))
}

// The technicians' fleet page (Trạm phát) against a real city and real
// agents: the page, opened once and never reloaded, shows over its
// server-sent events a ward going silent, a live announcement as live,
// and a killed agent going offline; problems come first; the map has one
// point per located ward with no tile server reachable. A ward's page
// lists its problems explained, its timeline, as-run and heartbeats.
// Heartbeats every 1 s, silence after 3 s and offline after 2 missed
// heartbeats keep it short (production: 15 s, 10 s, 3).
func TestConsoleFleetPage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("icecast2"); err != nil {
		t.Skip("icecast2 is not installed")
	}
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox is not installed")
	}
	ctx := consoleBrowser(t)
	// Tiles from a port where nothing listens: the map must show its
	// points without them.
	tiles := "http://" + freePort(t) + "/{z}/{x}/{y}.png"
	c := newAlertCity(t, "fleet:\n  offline_after: 2\n  map_tiles: "+tiles+"\n",
		"phuong-tot:xa-an-binh", "phuong-im:xa-an-binh", "phuong-live:xa-phu-my", "phuong-xa:xa-phu-my")
	c.agentExtra = "fleet:\n  heartbeat: 1s\nsilence:\n  after: 3s\n"
	cfg := []string{"--config", c.config}
	located := map[string][3]string{
		"phuong-tot":  {"Phường Tốt", "16.4637", "107.5909"},
		"phuong-im":   {"Phường Im Lặng", "16.4700", "107.6000"},
		"phuong-live": {"Phường Trực Tiếp", "16.4550", "107.5800"},
	}
	for id, v := range located {
		run(t, nil, "loa-city", append([]string{"ward", "set", id, "--name", v[0], "--lat", v[1], "--lon", v[2]}, cfg...)...)
	}
	run(t, nil, "loa-city", append([]string{"ward", "set", "phuong-xa", "--name", "Phường Xa"}, cfg...)...)
	password, _ := func() (string, string) {
		out := run(t, nil, "loa-city", append([]string{"user", "add", "ky-thuat", "--role", "technician", "--json"}, cfg...)...)
		var u struct{ Password, Token string }
		json.Unmarshal([]byte(out), &u)
		if u.Password == "" {
			t.Fatalf("user add:\n%s", out)
		}
		return u.Password, u.Token
	}()

	// Programs on air from the top of this minute: a tone, and digital
	// silence at phuong-im.
	for name, synth := range map[string][]string{"im-lang.wav": {"synth", "240", "sine", "440", "vol", "0"}, "ban-tin.wav": {"synth", "240", "sine", "440", "vol", "0.3"}} {
		path := filepath.Join(c.dir, name)
		if out, err := exec.Command("sox", append([]string{"-n", "-r", "44100", "-c", "1", "-b", "16", path}, synth...)...).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
		run(t, c.adminCtl, "loactl", "media", "upload", path)
	}
	start := time.Now().In(ict).Truncate(time.Minute)
	for _, w := range []string{"phuong-tot", "phuong-im", "phuong-live", "phuong-xa"} {
		media := "ban-tin.wav"
		if w == "phuong-im" {
			media = "im-lang.wav"
		}
		p := filepath.Join(c.dir, w+".programs.yaml")
		os.WriteFile(p, []byte(fmt.Sprintf("programs:\n  - id: chuong-trinh\n    title: Chương trình buổi sáng\n    date: %s\n    at: \"%s\"\n    items: [%s]\n",
			start.Format("2006-01-02"), start.Format("15:04"), media)), 0o644)
		run(t, c.adminCtl, "loactl", "program", "load", p, "--ward", w)
	}

	consoleLogin(t, ctx, c.proc.url, "ky-thuat", password)
	changeOneTimePassword(t, ctx, password, "kỹ thuật viên trạm phát")
	browse(t, ctx, "open the fleet page", chromedp.Navigate(c.proc.url+"/fleet"), chromedp.WaitVisible(chromedp.CSS("#fleet")))
	if got := pageText(t, ctx, "h1"); got != "Trạm phát" {
		t.Errorf("title %q", got)
	}
	// The live feed is up before any agent runs: what follows reaches the
	// page without a reload.
	testwait.For(t, "the live feed", 15*time.Second, func() bool { return eval[bool](t, ctx, `!document.getElementById("fleet-live").hidden`) })
	eval[bool](t, ctx, `window.__notReloaded = true`)

	agents := map[string]*agentProc{}
	began := time.Now()
	for _, w := range []string{"phuong-tot", "phuong-im", "phuong-live", "phuong-xa"} {
		agents[w] = c.startWard(w, "null")
	}
	want := map[string]string{"phuong-tot": "on_air", "phuong-im": "silent", "phuong-live": "on_air", "phuong-xa": "on_air"}
	var got map[string]string
	ok := testwait.Poll(60*time.Second, func() bool {
		got = map[string]string{}
		for w := range want {
			got[w] = fleetRowState(t, ctx, w)
		}
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
	if !ok {
		t.Fatalf("after 60 s the page shows %v, want %v\n%s", got, want, pageText(t, ctx, "#fleet"))
	}
	t.Logf("every ward in its state on the page %.1f s after the agents started (silence after 3 s of it)", time.Since(began).Seconds())
	if !strings.Contains(pageText(t, ctx, `#fleet-rows tr[data-ward="phuong-im"]`), "Im lặng bất thường") {
		t.Errorf("silent row: %q", pageText(t, ctx, `#fleet-rows tr[data-ward="phuong-im"]`))
	}
	if row := pageText(t, ctx, `#fleet-rows tr[data-ward="phuong-tot"]`); !strings.Contains(row, "Chương trình buổi sáng") || !strings.Contains(row, "Đang phát") ||
		!strings.Contains(row, "dBFS") {
		t.Errorf("playing row: %q", row)
	}

	// A live announcement at phuong-live: shown as live.
	ice := icecasttest.Start(t)
	ice.Feed(t, "/phat-thanh.mp3", "sine=f=2000:sample_rate=44100")
	ice.WaitMount(t, "/phat-thanh.mp3", 15*time.Second)
	agents["phuong-live"].waitLinked()
	run(t, c.ctl, "loactl", "live", "start", "--stream", ice.URL("/phat-thanh.mp3"), "--to", "phuong-live", "--mode", "exclusive")
	liveAt := time.Now()
	waitUntil(t, "phuong-live shown live", 30*time.Second, func() bool { return fleetRowState(t, ctx, "phuong-live") == "live" })
	t.Logf("live announcement on the page %.1f s after it was sent", time.Since(liveAt).Seconds())
	if row := pageText(t, ctx, `#fleet-rows tr[data-ward="phuong-live"]`); !strings.Contains(row, "Đang phát trực tiếp") || strings.Contains(row, "Nghỉ") {
		t.Errorf("live row: %q", row)
	}

	// Killed (no goodbye): offline after 2 missed heartbeats.
	agents["phuong-xa"].cmd.Process.Signal(syscall.SIGKILL)
	agents["phuong-xa"].wait()
	killed := time.Now()
	waitUntil(t, "phuong-xa offline on the page", 20*time.Second, func() bool { return fleetRowState(t, ctx, "phuong-xa") == "offline" })
	t.Logf("offline on the page %.1f s after the agent was killed (1 s heartbeats, offline after 2.5 s)", time.Since(killed).Seconds())
	if !eval[bool](t, ctx, `window.__notReloaded === true`) {
		t.Error("the page reloaded: the states must come over its live feed")
	}

	// The updates carry only the rows that changed; the page counts its
	// rows and problems and writes "last heard" itself.
	if n, p := pageText(t, ctx, "#fleet-count"), pageText(t, ctx, "#fleet-problems"); n != "4" || p != "2" {
		t.Errorf("summary: %s wards, %s with problems; want 4, 2", n, p)
	}
	if seen := eval[string](t, ctx, `document.querySelector('#fleet-rows tr[data-ward="phuong-tot"]').cells[4].textContent`); !strings.HasSuffix(seen, " giây trước") {
		t.Errorf("last heard %q", seen)
	}
	// Problems first: the offline and the silent ward above the others.
	order := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#fleet-rows tr')).map(r => r.dataset.slug)`)
	if len(order) != 4 || order[0] != "offline" || order[1] != "silent" {
		t.Errorf("rows in order %v, want offline, silent first", order)
	}
	// The map: one point per located ward (3 of 4), drawn without tiles.
	points := eval[int](t, ctx, `document.querySelectorAll('#fleet-map path.leaflet-interactive').length`)
	labels := pageText(t, ctx, "#fleet-map")
	if points != 3 || !strings.Contains(labels, "Phường Im Lặng") || strings.Contains(labels, "Phường Xa") {
		t.Errorf("map: %d points, labels %q; want 3", points, labels)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#fleet-map img.leaflet-tile-loaded').length`); n != 0 {
		t.Errorf("%d tiles loaded from a server that does not exist", n)
	}
	screenshots(t, ctx, "fleet")

	// Filter by group: the other commune's wards only.
	browse(t, ctx, "filter", chromedp.Navigate(c.proc.url+"/fleet?group=xa-phu-my"), chromedp.WaitVisible(chromedp.CSS("#fleet")))
	if ids := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#fleet-rows tr')).map(r => r.dataset.ward).sort()`); fmt.Sprint(ids) != "[phuong-live phuong-xa]" {
		t.Errorf("xa-phu-my shows %v", ids)
	}

	// The silent ward's page: its problem explained, today's timeline,
	// its heartbeats.
	browse(t, ctx, "ward page", chromedp.Navigate(c.proc.url+"/fleet/phuong-im"), chromedp.WaitVisible(chromedp.CSS("#problems")))
	if p := pageText(t, ctx, "#problems"); !strings.Contains(p, "Im lặng bất thường") || !strings.Contains(p, "kiểm tra") {
		t.Errorf("problems: %q", p)
	}
	if main := pageText(t, ctx, "main"); !strings.Contains(main, "Chương trình buổi sáng") || !strings.Contains(main, "Phường Im Lặng") {
		t.Errorf("ward page:\n%s", main)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#beats tbody tr').length`); n < 3 {
		t.Errorf("%d heartbeats listed", n)
	}
	screenshots(t, ctx, "fleet-ward")
	browse(t, ctx, "unknown ward", chromedp.Navigate(c.proc.url+"/fleet/khong-co"), chromedp.WaitVisible(chromedp.CSS("main")))
	if s := pageText(t, ctx, "main"); !strings.Contains(s, "Không có trạm khong-co") {
		t.Errorf("unknown ward: %q", s)
	}
	run(t, c.ctl, "loactl", "live", "stop")

	measureOn3G(t, ctx, c.proc.url, "fleet-3g.json", "/fleet", "/fleet/phuong-im")

	// The city gone: the ward's own page lists "not connected to the
	// city" and so never says OK.
	c.proc.stop()
	tot := agents["phuong-tot"]
	browse(t, ctx, "the ward's own page", chromedp.Navigate("http://"+tot.addr+"/"), chromedp.WaitVisible(chromedp.CSS("#now.playing")))
	waitUntil(t, "the ward's page to list the lost link", 30*time.Second, func() bool {
		return eval[bool](t, ctx, `!document.getElementById("problems-box").hidden && document.getElementById("problems").textContent.includes("Mất kết nối với đài thành phố")`)
	})
	if badge := pageText(t, ctx, "#health"); badge != "CÓ LỖI / PROBLEMS" {
		t.Errorf("the ward's page says %q beside a listed problem", badge)
	}
}

// measureOn3G loads each page on a throttled 3G link (1.6 Mbps down,
// 750 kbps up, 150 ms round trip), cache off, as TestConsolePagesOn3G
// does: at most 150 KB transferred, usable within 2 s.
func measureOn3G(t *testing.T, ctx context.Context, base, artifact string, pages ...string) {
	t.Helper()
	var mu sync.Mutex
	var bytes float64
	if err := chromedp.Listen(ctx, func(ev any) {
		var n float64
		switch e := ev.(type) {
		case *network.EventLoadingFinished:
			n = e.EncodedDataLength
		case network.EventLoadingFinished:
			n = e.EncodedDataLength
		}
		mu.Lock()
		bytes += n
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8}}}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Page   string  `json:"page"`
		KB     float64 `json:"kb"`
		Usable float64 `json:"usable_s"`
	}
	var results []result
	for _, page := range pages {
		mu.Lock()
		bytes = 0
		mu.Unlock()
		browse(t, ctx, "load "+page, chromedp.Navigate(base+page), chromedp.WaitReady(chromedp.CSS("main")))
		// Everything the page loads is in (the map script included).
		testwait.For(t, page+" loaded", 30*time.Second, func() bool { return eval[bool](t, ctx, `document.readyState === "complete"`) })
		usable := eval[float64](t, ctx, `(() => { const n = performance.getEntriesByType('navigation')[0]; return n.domContentLoadedEventEnd / 1000; })()`)
		mu.Lock()
		r := result{Page: page, KB: bytes / 1000, Usable: usable}
		mu.Unlock()
		results = append(results, r)
		t.Logf("%-28s %6.1f KB  usable in %.2f s", page, r.KB, r.Usable)
		if r.KB < 1 || r.Usable <= 0 {
			t.Fatalf("%s: %.1f KB in %.2f s: the measurement saw nothing", page, r.KB, r.Usable)
		}
		if r.KB > 150 || r.Usable > 2 {
			t.Errorf("%s: %.1f KB, usable in %.2f s on 3G (want ≤ 150 KB, ≤ 2 s)", page, r.KB, r.Usable)
		}
	}
	out, _ := json.MarshalIndent(results, "", "  ")
	os.WriteFile(filepath.Join(artifactDir(t), artifact), out, 0o644)
}
