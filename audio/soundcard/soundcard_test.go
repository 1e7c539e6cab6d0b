package soundcard

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/audio"
)

// These tests use the real oto → ALSA path with no sound card: an ALSA
// configuration whose default PCM is the `file` plugin over `null`
// (design.md §7). It captures every sample oto writes, but nothing paces it,
// so it proves content, never timing.

func alsaFileConfig(t *testing.T, capture string) string {
	t.Helper()
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("ALSA is not installed (apt-get install libasound2-dev)")
	}
	conf := filepath.Join(t.TempDir(), "asound.conf")
	body := "</usr/share/alsa/alsa.conf>\npcm.!default {\n type file\n slave.pcm \"null\"\n file \"" + capture + "\"\n format \"raw\"\n}\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

type toneSource struct {
	n, pos int
}

func (s *toneSource) Stream(dst [][2]float64) (int, bool) {
	if s.pos >= s.n {
		return 0, false
	}
	k := min(len(dst), s.n-s.pos)
	for i := 0; i < k; i++ {
		v := 0.5 * math.Sin(2*math.Pi*1000*float64(s.pos+i)/44100)
		dst[i] = [2]float64{v, -v}
	}
	s.pos += k
	return k, true
}
func (s *toneSource) Err() error { return nil }

// TestCaptureThroughALSAFilePlugin runs in a child process, since oto can
// open one context per process.
func TestCaptureThroughALSAFilePlugin(t *testing.T) {
	if os.Getenv("LOA_SOUNDCARD_CHILD") == "capture" {
		childCapture(t)
		return
	}
	capture := filepath.Join(t.TempDir(), "out.raw")
	conf := alsaFileConfig(t, capture)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCaptureThroughALSAFilePlugin$", "-test.v")
	cmd.Env = append(os.Environ(), "LOA_SOUNDCARD_CHILD=capture", "ALSA_CONFIG_PATH="+conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	// Stereo float32: find the tone and compare it sample by sample.
	frames := len(raw) / 8
	sample := func(i, ch int) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(raw[i*8+ch*4:]))
	}
	first := -1
	for i := 0; i < frames; i++ {
		if sample(i, 0) != 0 || sample(i, 1) != 0 {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatalf("captured %d frames of silence: the tone never reached ALSA", frames)
	}
	const toneFrames = 22050
	if frames-first < toneFrames {
		t.Fatalf("captured only %d frames of the tone, want %d", frames-first, toneFrames)
	}
	// ALSA runs (writing silence, unpaced) from the moment the context is
	// ready, before the engine is attached: where the tone lands in the
	// capture says nothing. Its content must be exact: sin(0) = 0, so the
	// first non-zero frame is the tone's second.
	start := first - 1
	for i := 0; i < toneFrames; i++ {
		v := float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/44100))
		// Exact up to float32 rounding (ALSA flushes values near 1e-15 to 0).
		if got := sample(start+i, 0); math.Abs(float64(got-v)) > 1e-7 {
			t.Fatalf("frame %d of the tone: left %v, want %v", i, got, v)
		}
		if got := sample(start+i, 1); math.Abs(float64(got+v)) > 1e-7 {
			t.Fatalf("frame %d of the tone: right %v, want %v", i, got, -v)
		}
	}
	for i := start + toneFrames; i < frames; i++ {
		if sample(i, 0) != 0 {
			t.Fatalf("frame %d after the tone is not silent", i)
		}
	}
}

func childCapture(t *testing.T) {
	card, err := Open(44100, 2, 100*time.Millisecond, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := audio.NewEngine(audio.EngineConfig{Rate: 44100})
	e.Play(audio.Clip{ID: 1, Start: 4410, Source: &toneSource{n: 22050}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- card.Run(ctx, e) }()
	// Unpaced: the file plugin takes samples as fast as the CPU allows.
	deadline := time.Now().Add(20 * time.Second)
	for e.Position() < 44100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e.Position() < 44100 {
		t.Fatalf("engine at frame %d after 20 s", e.Position())
	}
	if _, ok := card.Anchor(); !ok {
		t.Fatal("no clock anchor after playing")
	}
}

// TestMissingDeviceIsReported: an ALSA configuration whose default device
// does not exist makes Open fail with ALSA's reason, and no panic.
func TestMissingDeviceIsReported(t *testing.T) {
	if os.Getenv("LOA_SOUNDCARD_CHILD") == "missing" {
		_, err := Open(44100, 2, 100*time.Millisecond, time.Now)
		if err == nil {
			t.Fatal("opened a device that does not exist")
		}
		t.Log("ERR:", err)
		return
	}
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("ALSA is not installed")
	}
	conf := filepath.Join(t.TempDir(), "asound.conf")
	os.WriteFile(conf, []byte("</usr/share/alsa/alsa.conf>\npcm.!default {\n type hw\n card 7\n}\n"), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingDeviceIsReported$", "-test.v")
	cmd.Env = append(os.Environ(), "LOA_SOUNDCARD_CHILD=missing", "ALSA_CONFIG_PATH="+conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ERR: sound card: oto: ALSA error") {
		t.Fatalf("child output does not carry ALSA's reason:\n%s", out)
	}
}
