package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/audio"
)

// writeTone writes a mono 16-bit WAV of a sine at freq Hz and amplitude
// amp (0 < amp ≤ 1), or digital silence when freq is 0.
func writeTone(t testing.TB, path string, rate int, freq, amp float64, secs float64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := audio.CreateWAV(path, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := int(secs * float64(rate))
	buf := make([][2]float64, n)
	for i := range buf {
		v := 0.0
		if freq > 0 {
			v = amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		}
		buf[i] = [2]float64{v, v}
	}
	if err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readWAV reads a 16-bit WAV written by loa into float frames (mono files
// are duplicated to both channels).
func readWAV(t testing.TB, path string) [][2]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" {
		t.Fatalf("%s is not a WAV file", path)
	}
	ch := int(binary.LittleEndian.Uint16(b[22:]))
	data := b[44:]
	n := len(data) / (2 * ch)
	out := make([][2]float64, n)
	for i := 0; i < n; i++ {
		l := float64(int16(binary.LittleEndian.Uint16(data[i*2*ch:]))) / 32768
		r := l
		if ch == 2 {
			r = float64(int16(binary.LittleEndian.Uint16(data[i*4+2:]))) / 32768
		}
		out[i] = [2]float64{l, r}
	}
	return out
}

// runCLI runs loa-agent in-process and returns its exit status and output.
func runCLI(t testing.TB, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &CLI{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	if !now.IsZero() {
		c.Now = func() time.Time { return now }
	}
	code := c.Main(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.TrimLeft(body, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstSounding(f [][2]float64, from int, threshold float64) int {
	for i := from; i < len(f); i++ {
		if math.Abs(f[i][0]) > threshold {
			return i
		}
	}
	return -1
}

// dominantFreq estimates the frequency of the frames by counting zero
// crossings (good enough to tell 440 Hz from 660 Hz from 1 kHz).
func dominantFreq(f [][2]float64, rate int) float64 {
	crossings := 0
	for i := 1; i < len(f); i++ {
		if (f[i-1][0] < 0) != (f[i][0] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(len(f)) / float64(rate))
}

func peak(f [][2]float64) float64 {
	p := 0.0
	for _, x := range f {
		p = max(p, math.Abs(x[0]), math.Abs(x[1]))
	}
	return p
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
