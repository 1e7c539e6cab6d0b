package audio

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pattern makes frames whose every sample is a distinct 16-bit value.
func pattern(n, channels int) [][2]float64 {
	out := make([][2]float64, n)
	for i := range out {
		l := float64(int16(i*7+3)) / 32768
		r := float64(int16(-i*13-5)) / 32768
		if channels == 1 {
			r = l
		}
		out[i] = [2]float64{l, r}
	}
	return out
}

func TestPCMFileReadsWhatWasWritten(t *testing.T) {
	for _, ch := range []int{1, 2} {
		t.Run(map[int]string{1: "mono", 2: "stereo"}[ch], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.wav")
			want := pattern(100_000, ch)
			writeWAV16(t, path, 44100, ch, want)
			p, err := OpenPCM(path)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Rate() != 44100 || p.Channels() != ch || p.Frames() != int64(len(want)) {
				t.Fatalf("rate %d channels %d frames %d", p.Rate(), p.Channels(), p.Frames())
			}
			rng := rand.New(rand.NewPCG(3, 4))
			dst := make([][2]float64, 20_000) // bigger than one internal read
			for range 200 {
				at := rng.Int64N(p.Frames())
				k := 1 + rng.IntN(len(dst))
				n, err := p.ReadFrames(at, dst[:k])
				if err != nil {
					t.Fatalf("ReadFrames(%d, %d): %v", at, k, err)
				}
				if wantN := min(int64(k), p.Frames()-at); int64(n) != wantN {
					t.Fatalf("ReadFrames(%d, %d) = %d; want %d", at, k, n, wantN)
				}
				for i := range n {
					if dst[i] != want[at+int64(i)] {
						t.Fatalf("frame %d: %v; want %v", at+int64(i), dst[i], want[at+int64(i)])
					}
				}
			}
			if n, err := p.ReadFrames(p.Frames(), dst); n != 0 || err != io.EOF {
				t.Errorf("at the end: %d, %v; want 0, io.EOF", n, err)
			}
			if _, err := p.ReadFrames(-1, dst); err == nil {
				t.Error("negative position accepted")
			}
			allocs := testing.AllocsPerRun(100, func() {
				p.ReadFrames(rng.Int64N(p.Frames()), dst[:4096])
			})
			if allocs != 0 {
				t.Errorf("ReadFrames allocates %.1f times per call", allocs)
			}
		})
	}
}

// TestPCMFilePrepared reads a cache file written by Prepare.
func TestPCMFilePrepared(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.wav")
	want := pattern(5000, 2)
	writeWAV16(t, src, 44100, 2, want)
	dst := filepath.Join(dir, "out.wav")
	if _, err := Prepare(src, dst, 44100, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != wavHeaderSize+len(want)*4 || string(b[:4]) != "RIFF" || string(b[36:40]) != "data" {
		t.Fatalf("not a canonical WAV: %d bytes, header %q", len(b), b[:44])
	}
	got := readPCM(t, dst)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d: %v; want %v", i, got[i], want[i])
		}
	}
}

func TestOpenPCMRejects(t *testing.T) {
	dir := t.TempDir()
	mp3 := filepath.Join(dir, "x.mp3")
	os.WriteFile(mp3, []byte("\xff\xfb\x90\x00 not a wav"), 0o644)
	if _, err := OpenPCM(mp3); !errors.Is(err, ErrNotAudio) || Reason(err) != "not a WAV file" {
		t.Errorf("OpenPCM(mp3) = %v", err)
	}
	needTools(t, "ffmpeg")
	src := filepath.Join(dir, "s.wav")
	writeWAV16(t, src, 44100, 1, sine(44100, 440, 0.5, 0.1))
	w24 := filepath.Join(dir, "24.wav")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", src, "-c:a", "pcm_s24le", w24)
	if _, err := OpenPCM(w24); !errors.Is(err, ErrUnsupported) || !strings.Contains(Reason(err), "24-bit") {
		t.Errorf("OpenPCM(24-bit) = %v", err)
	}
}

// BenchmarkPCMReadFrames reads a 60 s 44.1 kHz file in 1024-frame blocks
// at a sequence of positions, as playout does.
func BenchmarkPCMReadFrames(b *testing.B) {
	for _, ch := range []int{1, 2} {
		b.Run(map[int]string{1: "mono", 2: "stereo"}[ch], func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "p.wav")
			writeWAV16(b, path, 44100, ch, pattern(60*44100, ch))
			p, err := OpenPCM(path)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			dst := make([][2]float64, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			var at int64
			for range b.N {
				n, _ := p.ReadFrames(at, dst)
				at += int64(n)
				if at >= p.Frames() {
					at = 0
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/frame")
		})
	}
}
