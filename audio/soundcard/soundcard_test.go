package soundcard

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/audio"
	"loa/internal/testwait"
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
	// Stereo float32. ALSA runs (writing silence) from the moment the
	// context is ready, before the engine is attached; and since nothing
	// paces the file plugin, oto's writer outruns its reader and fills the
	// gaps with silence, as it would on a card in an underrun. So the
	// capture is the engine's output with runs of silence inserted: compare
	// it with the tone once the (near-)silent frames are dropped from both.
	nonSilent := func(l, r float32) bool { return math.Abs(float64(l)) > 1e-6 || math.Abs(float64(r)) > 1e-6 }
	var got [][2]float32
	for i := 0; i+8 <= len(raw); i += 8 {
		l := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
		r := math.Float32frombits(binary.LittleEndian.Uint32(raw[i+4:]))
		if nonSilent(l, r) {
			got = append(got, [2]float32{l, r})
		}
	}
	var want [][2]float32
	for i := 0; i < 22050; i++ {
		v := float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/44100))
		if nonSilent(v, -v) {
			want = append(want, [2]float32{v, -v})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("captured %d sounding frames, want the tone's %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sounding frame %d: captured %v, want %v", i, got[i], want[i])
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
	testwait.Poll(20*time.Second, func() bool { return e.Position() >= 44100 })
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
// does not exist makes Open fail with ALSA's reason, and no panic; oto is
// not touched (Open may be tried again) and tries no other device, so
// nothing is printed: no "ALSA lib" lines, no JACK client's lines.
func TestMissingDeviceIsReported(t *testing.T) {
	if os.Getenv("LOA_SOUNDCARD_CHILD") == "missing" {
		for range 2 {
			_, err := Open(44100, 2, 100*time.Millisecond, time.Now)
			var de *DeviceError
			if !errors.As(err, &de) {
				t.Fatalf("Open of a device that does not exist: %v, want a *DeviceError", err)
			}
			t.Log("ERR:", err)
		}
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
	if strings.Count(string(out), "ERR: sound card: the default ALSA device: snd_pcm_open: No such") != 2 {
		t.Fatalf("child output does not carry ALSA's reason twice:\n%s", out)
	}
	for _, noise := range []string{"ALSA lib", "jack", "JACK", "Cannot connect"} {
		if strings.Contains(string(out), noise) {
			t.Errorf("opening a missing device printed %q:\n%s", noise, out)
		}
	}
}
