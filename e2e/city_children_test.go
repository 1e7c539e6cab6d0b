package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCityKilledTakesFFmpegWithIt: issue 12 saw the ffmpeg of a transcode
// outlive a killed loa-city. An upload whose client goes away has its
// ffmpeg killed (context cancellation). A one-hour upload is being transcoded when the
// city is killed with SIGKILL (no Go code runs: only the kernel's
// parent-death signal can act); its ffmpeg must be gone at once, not run
// to the end of its 30-odd seconds of work.
func TestCityKilledTakesFFmpegWithIt(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	addr := freePort(t)
	c := startCity(t, dir, addr)
	op := lastField(run(t, nil, "loa-city", "user", "add", "bien-tap", "--role", "operator", "--config", c.config))

	// One hour of 8 kHz 8-bit silence: 28.8 MB that ffmpeg needs tens of
	// seconds to make into the canonical MP3.
	wav := filepath.Join(dir, "mot-gio.wav")
	writeSilentWAV(t, wav, 8000, 3600)

	city := c.cmd.Process.Pid
	// An upload whose client goes away: its transcode is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		f, _ := os.Open(wav)
		defer f.Close()
		req, _ := http.NewRequestWithContext(ctx, "POST", c.url+"/api/v1/media?name=mot-gio.wav", f)
		req.Header.Set("Authorization", "Bearer "+op)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gone <- err
	}()
	var ff int
	waitUntil(t, "loa-city to start transcoding the first upload", 60*time.Second, func() bool {
		ff = transcodeChild(city)
		return ff != 0
	})
	cancel()
	<-gone
	waitUntil(t, "the cancelled upload's ffmpeg to be killed", 5*time.Second, func() bool { return !alive(ff) })

	// An upload being transcoded when the city is killed.
	upload := make(chan error, 1)
	go func() {
		f, err := os.Open(wav)
		if err != nil {
			upload <- err
			return
		}
		defer f.Close()
		req, _ := http.NewRequest("POST", c.url+"/api/v1/media?name=mot-gio.wav", f)
		req.Header.Set("Authorization", "Bearer "+op)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("the upload finished (HTTP %d) before the city was killed", resp.StatusCode)
		}
		upload <- err
	}()

	waitUntil(t, "loa-city to start transcoding the second upload", 60*time.Second, func() bool {
		select {
		case err := <-upload:
			t.Fatalf("upload: %v", err)
		default:
		}
		ff = transcodeChild(city)
		return ff != 0
	})
	c.cmd.Process.Signal(os.Kill)
	<-c.done
	killed := time.Now()
	// The kernel sends SIGKILL as the parent dies; 2 s is far above the
	// time a loaded machine takes to deliver it and far below the
	// transcode's remaining run.
	waitUntil(t, "ffmpeg to die with loa-city", 2*time.Second, func() bool { return !alive(ff) })
	t.Logf("ffmpeg (pid %d) gone %s after loa-city was killed", ff, time.Since(killed).Round(time.Millisecond))
	if err := <-upload; err == nil || strings.Contains(err.Error(), "finished") {
		t.Fatalf("upload: %v", err)
	}
}

// writeSilentWAV writes seconds of 8-bit mono silence at rate.
func writeSilentWAV(t *testing.T, path string, rate, seconds int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := uint32(rate * seconds)
	w := bufio.NewWriter(f)
	w.WriteString("RIFF")
	binary.Write(w, binary.LittleEndian, 36+n)
	w.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate), uint16(1), uint16(8)} {
		binary.Write(w, binary.LittleEndian, v)
	}
	w.WriteString("data")
	binary.Write(w, binary.LittleEndian, n)
	block := []byte(strings.Repeat("\x80", 64<<10))
	for left := int(n); left > 0; left -= len(block) {
		w.Write(block[:min(left, len(block))])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// transcodeChild is the pid of the ffmpeg child of parent that transcodes
// an upload (its input is the city's spool file), or 0. (The city runs
// ffmpeg at start too, to make its alert chime.)
func transcodeChild(parent int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, ppid, state := procStat(pid)
		if ppid != parent || comm != "ffmpeg" || state == "Z" {
			continue
		}
		if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmdline), "spool-") {
			return pid
		}
	}
	return 0
}

// alive: the process exists and is not a zombie (a zombie has run its
// course; only its parent's wait is missing).
func alive(pid int) bool {
	_, _, state := procStat(pid)
	return state != "" && state != "Z" && state != "X"
}

// procStat reads a process's command, parent and state from /proc.
func procStat(pid int) (comm string, ppid int, state string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, ""
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, ""
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return "", 0, ""
	}
	ppid, _ = strconv.Atoi(f[1])
	return s[open+1 : end], ppid, f[0]
}
