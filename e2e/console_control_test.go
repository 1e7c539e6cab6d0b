package e2e

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"loa/internal/testwait"
)

// The technician's controls (Điều khiển) against a real city, real NATS
// and a real agent writing WAV: on the ward's page she sets the volume to
// −6 dB; the command's result page shows the ward's ack "Đã thực hiện"
// without a reload, the ward page then shows the volume, and the program
// tone in the ward's WAV is 6 dB lower. A technician scoped to another
// ward gets no controls on this one, and her forged POST is refused (403)
// and never reaches the ward.
func TestConsoleControlVolume(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := newAlertCity(t, "", "phuong-1:xa-an-binh", "phuong-2:xa-an-binh")
	cfg := []string{"--config", c.config}
	run(t, nil, "loa-city", append([]string{"ward", "set", "phuong-1", "--name", "Phường Một"}, cfg...)...)
	user := func(name string, more ...string) string {
		out := run(t, nil, "loa-city", append(append([]string{"user", "add", name, "--role", "technician", "--json"}, more...), cfg...)...)
		var u struct{ Password string }
		json.Unmarshal([]byte(out), &u)
		if u.Password == "" {
			t.Fatalf("user add:\n%s", out)
		}
		return u.Password
	}
	techPass := user("ky-thuat")
	scopedPass := user("ky-thuat-xa", "--wards", "phuong-2")

	const progHz = 1000
	a, wav := c.playingProgram("phuong-1", progHz)

	consoleLogin(t, ctx, c.proc.url, "ky-thuat", techPass)
	changeOneTimePassword(t, ctx, techPass, "kỹ thuật viên điều khiển")
	browse(t, ctx, "the ward's page", chromedp.Navigate(c.proc.url+"/fleet/phuong-1"), chromedp.WaitVisible(chromedp.CSS("#controls")))
	if v := pageText(t, ctx, "#ward-volume"); !strings.Contains(v, "chưa rõ") {
		t.Errorf("volume before any command: %q", v)
	}
	screenshots(t, ctx, "control-ward")
	waitOnAir(t, 3*time.Second, a)

	fBefore := a.airFrames()
	// The agent held (SIGSTOP) while the command goes, so that the result
	// page is seen waiting for its answer, and then gets it by itself.
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	held := true
	defer func() {
		if held {
			a.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	browse(t, ctx, "set the volume to −6 dB",
		chromedp.SetValue(chromedp.CSS("#ctl-volume-db"), "-6"),
		chromedp.Click(chromedp.CSS("#ctl-volume button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#answers")))
	if loc := eval[string](t, ctx, `location.pathname`); !strings.HasPrefix(loc, "/commands/cmd-") {
		t.Fatalf("after the volume: at %s", loc)
	}
	eval[bool](t, ctx, `window.__notReloaded = true`)
	state := func() string {
		return eval[string](t, ctx, `(() => { const r = document.querySelector('#answer-rows tr[data-ward="phuong-1"]'); return r ? r.dataset.state : ""; })()`)
	}
	if st, row := state(), pageText(t, ctx, `#answer-rows tr[data-ward="phuong-1"]`); st != "waiting" || !strings.Contains(row, "Chưa trả lời") {
		t.Errorf("before the ward answers: %s %q", st, row)
	}
	a.cmd.Process.Signal(syscall.SIGCONT)
	held = false
	sent := time.Now()
	if !testwait.Poll(30*time.Second, func() bool { return state() == "done" }) {
		t.Fatalf("after 30 s the result page shows %q\n%s", state(), pageText(t, ctx, "#answers"))
	}
	t.Logf("the ward's ack on the result page %.1f s after the agent resumed", time.Since(sent).Seconds())
	if !eval[bool](t, ctx, `window.__notReloaded === true`) {
		t.Error("the result page reloaded: the ack must come by itself")
	}
	row := pageText(t, ctx, `#answer-rows tr[data-ward="phuong-1"]`)
	if !strings.Contains(row, "Đã thực hiện") || !strings.Contains(row, "−6 dB") || !strings.Contains(row, "Phường Một") {
		t.Errorf("the ward's answer: %q", row)
	}
	if s := pageText(t, ctx, "#command-summary"); !strings.HasPrefix(s, "đã thực hiện 1 ·") || !strings.Contains(s, "chưa trả lời 0") {
		t.Errorf("summary: %q", s)
	}
	screenshots(t, ctx, "control-result")
	fAfter := a.airFrames()
	waitOnAir(t, 4*time.Second, a)
	fEnd := a.airFrames()

	browse(t, ctx, "the ward's page again", chromedp.Navigate(c.proc.url+"/fleet/phuong-1"), chromedp.WaitVisible(chromedp.CSS("#controls")))
	if v := pageText(t, ctx, "#ward-volume"); !strings.HasPrefix(v, "−6 dB") {
		t.Errorf("the ward's volume after the command: %q", v)
	}

	// The JSON API says the same volume.
	req, _ := http.NewRequest("GET", c.proc.url+"/api/v1/wards/phuong-1/volume", nil)
	req.Header.Set("Authorization", "Bearer "+envToken(c.adminCtl))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var v struct {
			VolumeDB *float64 `json:"volume_db"`
		}
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != 200 || v.VolumeDB == nil || *v.VolumeDB != -6 {
			t.Errorf("GET /api/v1/wards/phuong-1/volume: %d %v", resp.StatusCode, v.VolumeDB)
		}
	}

	// Several wards from the fleet page: a mute to two asks first.
	browse(t, ctx, "the fleet page", chromedp.Navigate(c.proc.url+"/fleet"), chromedp.WaitVisible(chromedp.CSS("#ctl-multi")))
	screenshots(t, ctx, "control-fleet")
	browse(t, ctx, "mute two wards",
		chromedp.Click(chromedp.CSS(`#ctl-multi input[name=to][value="phuong-1"]`)),
		chromedp.Click(chromedp.CSS(`#ctl-multi input[name=to][value="phuong-2"]`)),
		chromedp.Click(chromedp.CSS(`#ctl-multi input[name=kind][value="mute"]`)),
		chromedp.Click(chromedp.CSS("#ctl-multi-send")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if s := pageText(t, ctx, "#confirm"); !strings.Contains(s, "phuong-1") || !strings.Contains(s, "phuong-2") || !strings.Contains(s, "30 phút") {
		t.Errorf("the confirmation: %q", s)
	}
	screenshots(t, ctx, "control-confirm")

	// A technician of phuong-2 only: no controls on phuong-1 (its page is
	// not hers), and a POST forged with her own session and token refused.
	browse(t, ctx, "log out", chromedp.Submit(chromedp.CSS(`form[action="/logout"]`)), chromedp.WaitVisible(chromedp.CSS("#user")))
	consoleLogin(t, ctx, c.proc.url, "ky-thuat-xa", scopedPass)
	changeOneTimePassword(t, ctx, scopedPass, "kỹ thuật viên xã an bình")
	browse(t, ctx, "her ward's page", chromedp.Navigate(c.proc.url+"/fleet/phuong-2"), chromedp.WaitVisible(chromedp.CSS("#controls")))
	browse(t, ctx, "phuong-1's page", chromedp.Navigate(c.proc.url+"/fleet/phuong-1"), chromedp.WaitVisible(chromedp.CSS("main")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#controls, form[action="/commands"]').length`); n != 0 {
		t.Errorf("the scoped technician has %d controls on phuong-1", n)
	}
	browse(t, ctx, "the fleet page", chromedp.Navigate(c.proc.url+"/fleet"), chromedp.WaitVisible(chromedp.CSS("#ctl-multi")))
	if ids := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#ctl-multi input[name=to]')).map(i => i.value)`); strings.Contains(strings.Join(ids, " "), "phuong-1") {
		t.Errorf("the scoped fleet form offers %v", ids)
	}
	status := eval[int](t, ctx, `(async () => {
		const f = new URLSearchParams({csrf: document.querySelector('input[name=csrf]').value, kind: "volume", db: "-30", to: "phuong-1"});
		const r = await fetch("/commands", {method: "POST", body: f, redirect: "manual"});
		return r.status; })()`, chromedp.EvalAwaitPromise)
	if status != 403 {
		t.Errorf("a forged volume to phuong-1: %d, want 403", status)
	}
	waitUntil(t, "the refusal in the city's log", 10*time.Second, func() bool {
		b, _ := os.ReadFile(c.proc.log)
		return strings.Contains(string(b), "refused outside the user's scope") && strings.Contains(string(b), "ky-thuat-xa")
	})
	waitOnAir(t, time.Second, a)
	fForged := a.airFrames()
	a.stop()
	if b, _ := os.ReadFile(c.proc.log); strings.Count(string(b), "console: command sent") != 1 {
		t.Errorf("commands sent: want the technician's one\n%s", tail(string(b), 40))
	}

	x, rate := readWAVFile(t, wav)
	n := rate / 10
	win := func(f int64) int { return int(f / int64(agentRate/10)) }
	power := func(from, to int) []float64 {
		var p []float64
		for i := from; i < to && (i+1)*n <= len(x); i++ {
			p = append(p, goertzel(x[i*n:(i+1)*n], progHz, rate))
		}
		return p
	}
	median := func(v []float64) float64 {
		if len(v) == 0 {
			t.Fatal("no windows to measure")
		}
		s := append([]float64{}, v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	before := median(power(win(fBefore)-20, win(fBefore)-2))
	after := median(power(win(fAfter)+5, win(fEnd)-2))
	drop := 10 * math.Log10(after/before)
	t.Logf("program tone: %.2f dB after the console's volume −6", drop)
	if drop > -5.5 || drop < -6.5 {
		t.Fatalf("the console's volume −6 changed the output by %.2f dB", drop)
	}
	// The forged −30 dB never played: still −6 dB until the agent stopped.
	late := median(power(win(fEnd)+2, win(fForged)-2))
	if d := 10 * math.Log10(late/before); d > -5.5 || d < -6.5 {
		t.Errorf("after the forged POST the tone is at %.2f dB", d)
	}
}
