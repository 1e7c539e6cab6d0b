package e2e

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/audio"
)

// longWAV writes secs of a 440 Hz tone at 8 kHz mono: small on disk, long
// to decode and resample to the station's 44.1 kHz.
func longWAV(t *testing.T, path string, secs int) {
	t.Helper()
	w, err := audio.CreateWAV(path, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([][2]float64, 8000)
	for s := 0; s < secs; s++ {
		for i := range buf {
			v := 0.3 * math.Sin(2*math.Pi*440*float64(s*8000+i)/8000)
			buf[i] = [2]float64{v, v}
		}
		if err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// files lists every file under dir (relative paths).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// `loa-agent program load` of a file whose media take a minute to decode,
// stopped with SIGTERM in the middle of the decode: it exits within 10 s
// with a failure status and says it changed nothing; no staged or
// temporary file is left in the store; the program loaded before is still
// the one in effect.
func TestProgramLoadStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tone(t, filepath.Join(dir, "ngan.wav"), 1000, 2)
	before := filepath.Join(dir, "truoc.yaml")
	os.WriteFile(before, []byte("programs:\n  - id: ban-tin\n    cron: \"0 5 * * *\"\n    items: [ngan.wav]\n"), 0o644)
	loadProgram(t, data, before)
	storeBefore := files(t, data)

	longWAV(t, filepath.Join(dir, "dai.wav"), 20*60) // 20 min: about a minute to ingest here
	prog := filepath.Join(dir, "dai.yaml")
	os.WriteFile(prog, []byte("programs:\n  - id: nhac-dai\n    cron: \"0 6 * * *\"\n    items: [dai.wav]\n"), 0o644)
	cmd := exec.Command(filepath.Join(bin, "loa-agent"), "program", "load", prog, "--data", data)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	// The decode has begun: its temporary cache file grows in the store.
	staging := func() int64 {
		var n int64
		filepath.Walk(filepath.Join(data, "tmp"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && strings.HasSuffix(fi.Name(), ".tmp") {
				n += fi.Size()
			}
			return nil
		})
		return n
	}
	waitUntil(t, "the decode under way", 30*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("program load ended before the signal: %v\n%s", err, out.String())
		default:
		}
		return staging() > 1<<20
	})
	staged := staging()
	signalled := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", out.String())
	}
	took := time.Since(signalled)
	t.Logf("exited %s after SIGTERM (%d bytes of decode staged when it came): %s", took.Round(time.Millisecond), staged, strings.TrimSpace(out.String()))
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted, nothing changed") {
		t.Errorf("output does not say nothing changed:\n%s", out.String())
	}
	if got := files(t, data); strings.Join(got, "\n") != strings.Join(storeBefore, "\n") {
		t.Fatalf("files in the data folder after the signal:\n  %s\nbefore the load:\n  %s", strings.Join(got, "\n  "), strings.Join(storeBefore, "\n  "))
	}
	show, serr := exec.Command(filepath.Join(bin, "loa-agent"), "program", "show", "--date", "2027-01-04", "--json", "--data", data).Output()
	var tl struct {
		Programs []struct {
			ID string `json:"id"`
		} `json:"programs"`
	}
	if serr != nil || json.Unmarshal(show, &tl) != nil || len(tl.Programs) != 1 || tl.Programs[0].ID != "ban-tin" {
		t.Fatalf("program in effect after the interrupted load: %v\n%s", serr, show)
	}
}
