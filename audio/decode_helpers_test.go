package audio

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gopxl/beep/v2"
)

// needTools skips the test when a program it needs is not installed.
func needTools(tb testing.TB, names ...string) {
	tb.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			tb.Skipf("%s is not installed (apt-get install %s); this test needs it", n, n)
		}
	}
}

func hasTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// testSignal synthesises a deterministic, program-like signal: a voiced
// "speech" with formants, pitch glides and syllables; plucked strings
// (Karplus-Strong); and a noise burst at 1.2 s that makes encoders switch to
// short blocks. Left and right differ, so joint stereo has work to do.
func testSignal(rate, channels int, seconds float64) [][2]float64 {
	n := int(seconds * float64(rate))
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][2]float64, n)

	// Speech: glottal pulses through three resonators; vowels change
	// every 150 ms, syllables every 250 ms.
	vowels := [][3]float64{{700, 1200, 2600}, {300, 2300, 3000}, {500, 900, 2400}, {400, 1900, 2500}}
	var y1, y2 [3]float64
	phase := 0.0
	speech := make([]float64, n)
	for i := range n {
		t := float64(i) / float64(rate)
		f0 := 120 + 60*math.Sin(2*math.Pi*0.7*t)
		phase += f0 / float64(rate)
		x := 0.0
		if phase >= 1 {
			phase--
			x = 1
		}
		v := vowels[int(t/0.15)%len(vowels)]
		s := 0.0
		for k := range 3 {
			fk := math.Min(v[k], 0.45*float64(rate))
			r := 0.97
			a1 := 2 * r * math.Cos(2*math.Pi*fk/float64(rate))
			yk := x + a1*y1[k] - r*r*y2[k]
			y2[k], y1[k] = y1[k], yk
			s += yk / float64(k+1)
		}
		env := math.Max(0, math.Sin(math.Pi*math.Mod(t, 0.25)/0.25))
		speech[i] = s * env
	}
	pluck := func(freqs []float64, start float64) []float64 {
		p := make([]float64, n)
		for j, f := range freqs {
			l := int(float64(rate) / f)
			line := make([]float64, l)
			for k := range line {
				line[k] = rng.Float64()*2 - 1
			}
			at := int((start + 0.35*float64(j)) * float64(rate))
			for i, k := at, 0; i < n; i, k = i+1, k+1 {
				a := line[k%l]
				b := line[(k+1)%l]
				line[k%l] = 0.996 * 0.5 * (a + b)
				p[i] += a
			}
		}
		return p
	}
	p1 := pluck([]float64{110, 164.8, 220, 277.2, 329.6}, 0)
	p2 := pluck([]float64{146.8, 185, 220, 293.7}, 0.1)
	burst := make([]float64, n)
	b0, b1 := int(1.2*float64(rate)), int(1.28*float64(rate))
	for i := b0; i < b1 && i < n; i++ {
		burst[i] = (rng.Float64()*2 - 1) * (1 - float64(i-b0)/float64(b1-b0))
	}
	peak := 0.0
	for i := range n {
		out[i][0] = 0.5*speech[i]/8 + 0.5*p1[i]/3 + 0.3*burst[i]
		out[i][1] = 0.3*speech[i]/8 + 0.5*p2[i]/3 + 0.3*burst[i]
		if channels == 1 {
			out[i][1] = out[i][0]
		}
		peak = math.Max(peak, math.Max(math.Abs(out[i][0]), math.Abs(out[i][1])))
	}
	for i := range out {
		out[i][0] *= 0.9 / peak
		out[i][1] *= 0.9 / peak
	}
	return out
}

// sine makes a sine of freq Hz at amplitude amp.
func sine(rate int, freq, amp, seconds float64) [][2]float64 {
	out := make([][2]float64, int(seconds*float64(rate)))
	for i := range out {
		v := amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		out[i] = [2]float64{v, v}
	}
	return out
}

// writeWAV16 writes frames as a 16-bit PCM WAV.
func writeWAV16(tb testing.TB, path string, rate, channels int, frames [][2]float64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w, err := newWAVWriter(f, rate, channels)
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(frames); err != nil {
		tb.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// readAll drains a streamer.
func readAll(tb testing.TB, s beep.Streamer) [][2]float64 {
	tb.Helper()
	var out [][2]float64
	buf := make([][2]float64, 1000)
	for {
		n, ok := s.Stream(buf)
		out = append(out, buf[:n]...)
		if !ok {
			break
		}
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// decodeFile decodes a whole file with Open.
func decodeFile(tb testing.TB, path string) ([][2]float64, beep.Format) {
	tb.Helper()
	s, format, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	return readAll(tb, s), format
}

// mpg123Decode decodes path with mpg123 (gapless, 32-bit float) as the
// reference, clipped to what 16-bit output can hold.
func mpg123Decode(tb testing.TB, path string) ([][2]float64, int) {
	tb.Helper()
	ref := filepath.Join(tb.TempDir(), "ref.wav")
	run(tb, "mpg123", "-q", "-e", "f32", "-w", ref, path)
	frames, format := decodeFile(tb, ref)
	for i := range frames {
		for c := range 2 {
			frames[i][c] = math.Max(-1, math.Min(32767.0/32768, frames[i][c]))
		}
	}
	return frames, format.NumChannels
}

// snr returns the signal-to-noise ratio in dB of got against ref on
// channel c, over their common length.
func snr(ref, got [][2]float64, c int) float64 {
	var s, e float64
	for i := range min(len(ref), len(got)) {
		d := ref[i][c] - got[i][c]
		s += ref[i][c] * ref[i][c]
		e += d * d
	}
	if e == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/e)
}

// toneLevel returns the amplitude of the frequency freq in x (channel 0),
// by a Hann-windowed DFT at that frequency, relative to a full-scale sine.
func toneLevel(x [][2]float64, rate int, freq float64) float64 {
	var re, im, wsum float64
	n := len(x)
	for i := range n {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		a := 2 * math.Pi * freq * float64(i) / float64(rate)
		re += w * x[i][0] * math.Cos(a)
		im -= w * x[i][0] * math.Sin(a)
		wsum += w
	}
	return 2 * math.Hypot(re, im) / wsum
}

func dB(x float64) float64 { return 20 * math.Log10(x) }

// pureDecoding skips a decoding-accuracy test under the race detector,
// which makes it 10-20x slower and can find nothing in a decode on one
// goroutine: scripts/test.sh runs these tests without -race (the decoder's
// goroutines, in Prepare and the engine, are raced by the other tests).
// LOA_TEST_RACE_ALL=1 runs them under -race too.
func pureDecoding(t *testing.T) {
	t.Helper()
	if raceDetector && os.Getenv("LOA_TEST_RACE_ALL") == "" {
		t.Skip("pure decoding: run without -race by scripts/test.sh (LOA_TEST_RACE_ALL=1 runs it under -race)")
	}
}
