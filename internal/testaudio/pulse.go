// Package testaudio gives tests and benchmarks real audio devices without
// a sound card: a PulseAudio server with a null sink (paced at the sample
// rate, like a card) whose monitor can be recorded and placed on the wall
// clock (docs/design.md §7).
package testaudio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Pulse is a PulseAudio server with one null sink, started for a test: a
// device that consumes samples at exactly the sample rate, like a sound
// card, and whose monitor can be recorded.
type Pulse struct {
	dir    string
	socket string
	alsa   string // ALSA configuration whose default PCM is this server
	cmd    *exec.Cmd
}

func StartPulse(t testing.TB) *Pulse {
	t.Helper()
	if _, err := exec.LookPath("pulseaudio"); err != nil {
		t.Skip("pulseaudio is not installed (scripts/deps.sh installs it)")
	}
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("ALSA is not installed")
	}
	dir, err := os.MkdirTemp("", "loa-pa-") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Pulse{dir: dir, socket: filepath.Join(dir, "native")}
	script := fmt.Sprintf("load-module module-null-sink sink_name=loa rate=44100 channels=2\n"+
		"load-module module-native-protocol-unix socket=%s auth-anonymous=1\nset-default-sink loa\n", p.socket)
	os.WriteFile(filepath.Join(dir, "default.pa"), []byte(script), 0o644)
	p.alsa = filepath.Join(dir, "asound.conf")
	os.WriteFile(p.alsa, []byte(fmt.Sprintf("</usr/share/alsa/alsa.conf>\npcm.!default {\n type pulse\n server \"unix:%s\"\n}\nctl.!default {\n type pulse\n server \"unix:%s\"\n}\n", p.socket, p.socket)), 0o644)
	p.cmd = exec.Command("pulseaudio", "-n", "-F", filepath.Join(dir, "default.pa"), "--daemonize=no", "--exit-idle-time=-1",
		"--disallow-exit", "--use-pid-file=no", "--log-target=stderr", "--log-level=error")
	p.cmd.Env = append(os.Environ(), "HOME="+dir, "PULSE_RUNTIME_PATH="+filepath.Join(dir, "run"), "XDG_RUNTIME_DIR="+dir)
	log, _ := os.Create(filepath.Join(dir, "pulse.log"))
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(p.socket); err == nil {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pulse.log"))
	t.Fatalf("pulseaudio did not start:\n%s", b)
	return nil
}

// Env is what a process needs to play to this server through ALSA.
func (p *Pulse) Env() []string {
	return []string{"ALSA_CONFIG_PATH=" + p.alsa, "PULSE_SERVER=unix:" + p.socket, "HOME=" + p.dir}
}

// Recording captures the null sink's monitor with parec, stamping every
// block as it arrives so that frames can be placed on the wall clock.
type Recording struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	pcm  []int16 // interleaved stereo
	base time.Time
	ok   bool
}

func (p *Pulse) Record(t testing.TB) *Recording {
	t.Helper()
	if _, err := exec.LookPath("parec"); err != nil {
		t.Skip("parec is not installed (pulseaudio-utils)")
	}
	r := &Recording{}
	r.cmd = exec.Command("parec", "--server=unix:"+p.socket, "-d", "loa.monitor", "--raw", "--format=s16le",
		"--rate=44100", "--channels=2", "--latency-msec=10")
	r.cmd.Env = append(os.Environ(), p.Env()...)
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); r.cmd.Wait() })
	go r.read(out)
	return r
}

func (r *Recording) read(out io.Reader) {
	br := bufio.NewReaderSize(out, 1<<16)
	buf := make([]byte, 4096)
	var frames int64
	for {
		n, err := br.Read(buf)
		now := time.Now()
		if n > 0 {
			r.mu.Lock()
			for i := 0; i+1 < n; i += 2 {
				r.pcm = append(r.pcm, int16(binary.LittleEndian.Uint16(buf[i:])))
			}
			frames = int64(len(r.pcm) / 2)
			// The block's last frame left the sink at `now` at the latest:
			// the earliest such estimate of frame 0's instant is the best.
			zero := now.Add(-time.Duration(float64(frames) / 44100 * float64(time.Second)))
			if !r.ok || zero.Before(r.base) {
				r.base, r.ok = zero, true
			}
			r.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// Onset returns the wall-clock instant of the first frame after `after`
// whose level exceeds threshold (linear, full scale 1).
func (r *Recording) Onset(after time.Time, threshold float64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ok {
		return time.Time{}, false
	}
	from := int(after.Sub(r.base).Seconds() * 44100)
	for i := max(from, 0); i < len(r.pcm)/2; i++ {
		if math.Abs(float64(r.pcm[2*i]))/32768 > threshold {
			return r.base.Add(time.Duration(float64(i) / 44100 * float64(time.Second))), true
		}
	}
	return time.Time{}, false
}
