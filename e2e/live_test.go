package e2e

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"loa/internal/icecasttest"
)

// The city's announcer speaks into an Icecast mount; `loactl live start
// --mode exclusive` puts that stream on air at one ward over its program
// (muted under it), not at the other; `loactl live stop` gives the program
// back.
func TestCityLiveAnnouncement(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("icecast2"); err != nil {
		t.Skip("icecast2 is not installed")
	}
	c := newAlertCity(t, "", "phuong-1:quan-1", "phuong-2:quan-2")
	ice := icecasttest.Start(t)
	ice.Feed(t, "/phat-thanh.mp3", "sine=f=2000:sample_rate=44100")
	ice.WaitMount(t, "/phat-thanh.mp3", 15*time.Second)

	c.loadProgramNow(1000)

	wavs := map[string]string{}
	agents := map[string]*agentProc{}
	for _, w := range []string{"phuong-1", "phuong-2"} {
		wavs[w] = filepath.Join(c.dir, w+".wav")
		agents[w] = c.startWard(w, "wav:"+wavs[w])
	}
	for _, a := range agents {
		a.waitProgramOnAir()
	}
	waitOnAir(t, 2*time.Second, agents["phuong-1"], agents["phuong-2"])
	id := run(t, c.ctl, "loactl", "live", "start", "--stream", ice.URL("/phat-thanh.mp3"), "--to", "phuong-1", "--mode", "exclusive")
	t.Logf("live announcement %s", id)
	waitOnAir(t, 8*time.Second, agents["phuong-1"], agents["phuong-2"])
	if out := run(t, c.ctl, "loactl", "live", "list"); !strings.Contains(out, "phuong-1") {
		t.Errorf("loactl live list:\n%s", out)
	}
	// The city shows the ward live, not idle nor its muted program: the
	// ward's heartbeat says so as soon as the announcement starts.
	if table := run(t, c.adminCtl, "loactl", "wards"); !regexp.MustCompile(`phuong-1\s+Đang phát trực tiếp / live .*LIVE`).MatchString(table) ||
		strings.Contains(table, "phuong-2  Đang phát trực tiếp") {
		t.Errorf("loactl wards during the announcement:\n%s", table)
	}
	if code, st := agents["phuong-1"].get("/api/v1/status"); code != 200 || !strings.Contains(st, `"live": {`) {
		t.Errorf("the ward's own status does not show the live announcement:\n%s", st)
	}
	run(t, c.ctl, "loactl", "live", "stop")
	waitOnAir(t, 4*time.Second, agents["phuong-1"], agents["phuong-2"])
	for _, a := range agents {
		a.stop()
	}

	// 100 ms windows: the program's 1 kHz and the announcer's 2 kHz.
	windows := func(w string) (prog, voice []float64) {
		x, rate := readWAVFile(t, wavs[w])
		n := rate / 10
		for i := 0; i+n <= len(x); i += n {
			prog = append(prog, goertzel(x[i:i+n], 1000, rate))
			voice = append(voice, goertzel(x[i:i+n], 2000, rate))
		}
		return
	}
	p1, v1 := windows("phuong-1")
	// Find the announcement: the first window where the voice dominates.
	on, off := -1, -1
	for i := range v1 {
		if on < 0 && v1[i] > 10*p1[i] && v1[i] > 1e-4 {
			on = i
		}
		if on >= 0 && i > on && p1[i] > 10*v1[i] && p1[i] > 1e-4 {
			off = i
			break
		}
	}
	if on < 0 || off < 0 {
		t.Fatalf("phuong-1: no announcement over the program in the capture (%d windows)", len(v1))
	}
	secs := float64(off-on) / 10
	t.Logf("phuong-1: the announcer on air for %.1f s, the program muted under it", secs)
	if secs < 5 || secs > 11 {
		t.Errorf("phuong-1: announcement lasted %.1f s, want about 8 s", secs)
	}
	for i := on + 10; i < off-5; i++ { // past the ramps
		if p1[i] > v1[i]/100 {
			t.Fatalf("phuong-1: the program is audible under an exclusive announcement (window %d)", i)
		}
	}
	p2, v2 := windows("phuong-2")
	for i := range v2 {
		if v2[i] > p2[i]/10 && p2[i] > 1e-4 {
			t.Fatalf("phuong-2 (not addressed) played the announcement (window %d)", i)
		}
	}
}
