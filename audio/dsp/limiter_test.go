package dsp_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"loa/audio/dsp"
	"loa/audio/loudness"
)

// truePeakTolerance is how far over the ceiling the limiter's output may
// read on the loudness package's true-peak meter (4× Annex 2, the filter
// the limiter itself detects with). Measured: 0.0000 dB on every signal
// below; the tolerance asked for is 0.1 dB.
const truePeakTolerance = 0.1

// ffmpeg's true peak (libswresample to 192 kHz, a longer filter than
// Annex 2) is an independent reading of what a DAC reconstructs. On
// band-limited sound (tones, speech) the limited output reads within
// 0.03 dB of the ceiling there too. A naive square wave puts energy up to
// the Nyquist frequency, where the Annex 2 filter rolls off: its
// overshoot is underestimated and the limited output reads up to 0.4 dB
// over the ceiling on ffmpeg.
const (
	ffmpegTolerance       = 0.1
	ffmpegSquareTolerance = 0.5
)

// sines returns seconds of stereo sound at rate: each channel the sum of
// sines of the given frequencies and peak amplitudes (linear).
func sines(rate int, seconds float64, left, right [][2]float64) [][2]float64 {
	n := int(seconds * float64(rate))
	out := make([][2]float64, n)
	for i := range out {
		tt := float64(i) / float64(rate)
		for _, s := range left {
			out[i][0] += s[1] * math.Sin(2*math.Pi*s[0]*tt)
		}
		for _, s := range right {
			out[i][1] += s[1] * math.Sin(2*math.Pi*s[0]*tt)
		}
	}
	return out
}

// square returns a naive (not band-limited) full-scale square wave: its
// samples are all ±1 and its reconstruction overshoots 0 dBFS by about
// 2 dB at every edge.
func square(rate int, seconds, freqL, freqR float64) [][2]float64 {
	n := int(seconds * float64(rate))
	out := make([][2]float64, n)
	for i := range out {
		tt := float64(i) / float64(rate)
		out[i][0] = math.Copysign(1, math.Sin(2*math.Pi*freqL*tt))
		out[i][1] = math.Copysign(1, math.Sin(2*math.Pi*freqR*tt+1))
	}
	return out
}

// noise returns seconds of quiet (-30 dBFS peak) deterministic noise.
func noise(rate int, seconds float64) [][2]float64 {
	out := make([][2]float64, int(seconds*float64(rate)))
	seed := uint32(7)
	for i := range out {
		for ch := range 2 {
			seed = seed*1664525 + 1013904223
			out[i][ch] = float64(int32(seed)) / (1 << 31) * 0.03
		}
	}
	return out
}

// clicks puts single samples at ±2 (+6 dBFS) into quiet noise, 0.3 s
// apart: the limiter must catch each alone, not helped by a neighbour.
func clicks(rate int) [][2]float64 {
	out := noise(rate, 3)
	for i, v := rate/10, 2.0; i < len(out); i, v = i+rate*3/10, -v {
		out[i][i/rate%2] = v
	}
	return out
}

// bursts puts 2 ms of a 3 kHz tone at +6 dBFS into quiet noise, 0.3 s
// apart.
func bursts(rate int) [][2]float64 {
	out := noise(rate, 3)
	n := rate / 500
	for start := rate / 10; start+n < len(out); start += rate * 3 / 10 {
		for i := range n {
			v := 2 * math.Sin(2*math.Pi*3000*float64(i)/float64(rate))
			out[start+i][0] += v
			out[start+i][1] -= v
		}
	}
	return out
}

func clone(f [][2]float64) [][2]float64 { return append([][2]float64(nil), f...) }

// limit runs frames through a new limiter in blocks of the given size, as
// an output callback would, followed by Latency frames of silence to flush
// it, and returns the output without the leading latency.
func limit(rate int, ceilingDB float64, frames [][2]float64, block int) [][2]float64 {
	l := dsp.NewLimiter(rate, ceilingDB, dsp.DefaultLookahead, dsp.DefaultRelease)
	buf := append(clone(frames), make([][2]float64, l.Latency())...)
	for i := 0; i < len(buf); i += block {
		l.Process(buf[i:min(len(buf), i+block)])
	}
	return buf[l.Latency():]
}

func peaks(rate int, frames [][2]float64) (sample, truePeak float64) {
	m := loudness.NewMeter(rate, 2)
	m.Write(frames)
	return m.SamplePeak(), m.TruePeak()
}

func TestLimiterCeiling(t *testing.T) {
	overdriven := func(rate int) [][2]float64 {
		// Two tones each at 0 dBFS: their sum peaks at +6 dBFS.
		return sines(rate, 4, [][2]float64{{440, 1}, {3150, 1}}, [][2]float64{{554, 1}, {5000, 1}})
	}
	cases := []struct {
		name      string
		rate      int
		ceiling   float64
		input     [][2]float64
		ffmpegTol float64
	}{
		{"full-scale square 1 kHz / 1.5 kHz", 48000, -1, square(48000, 4, 1000, 1500), ffmpegSquareTolerance},
		{"full-scale square 100 Hz / 7 kHz", 48000, -1, square(48000, 4, 100, 7000), ffmpegSquareTolerance},
		{"full-scale square at 44.1 kHz", 44100, -1, square(44100, 4, 1000, 1500), ffmpegSquareTolerance},
		{"two tones overdriven to +6 dBFS", 48000, -1, overdriven(48000), ffmpegTolerance},
		{"two tones overdriven to +6 dBFS at 44.1 kHz", 44100, -1, overdriven(44100), ffmpegTolerance},
		{"two tones overdriven, ceiling -3 dBTP", 48000, -3, overdriven(48000), ffmpegTolerance},
		{"two tones overdriven, ceiling 0 dBTP", 48000, 0, overdriven(48000), ffmpegTolerance},
		{"isolated +6 dB clicks in quiet noise", 48000, -1, clicks(48000), ffmpegTolerance},
		{"isolated 2 ms bursts of 3 kHz at +6 dBFS", 48000, -1, bursts(48000), ffmpegTolerance},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inSample, inTrue := peaks(c.rate, c.input)
			out := limit(c.rate, c.ceiling, c.input, 512)
			ceiling := dsp.DBToGain(c.ceiling)
			worst := 0.0
			for _, f := range out {
				worst = max(worst, math.Abs(f[0]), math.Abs(f[1]))
			}
			if worst > ceiling {
				t.Errorf("sample peak %.17g over the ceiling %.17g", worst, ceiling)
			}
			sp, tp := peaks(c.rate, out)
			ff := math.NaN()
			if _, err := exec.LookPath("ffmpeg"); err == nil {
				dir := t.TempDir()
				writeRaw(t, filepath.Join(dir, "out.f64"), out)
				ff = ffmpegTruePeak(t, dir, "out.f64", c.rate)
			}
			t.Logf("input %.2f dBFS / %.2f dBTP → output %.4f dBFS / %.4f dBTP, ffmpeg %.3f dBTP (ceiling %.1f)", inSample, inTrue, sp, tp, ff, c.ceiling)
			if tp > c.ceiling+truePeakTolerance {
				t.Errorf("true peak %.3f dBTP, over the ceiling %.1f by more than %.1f dB", tp, c.ceiling, truePeakTolerance)
			}
			if ff > c.ceiling+c.ffmpegTol {
				t.Errorf("ffmpeg reads the true peak at %.3f dBTP, over the ceiling %.1f by more than %.1f dB", ff, c.ceiling, c.ffmpegTol)
			}
			// Limiting, not muting: the output comes up to the ceiling.
			if tp < c.ceiling-1 {
				t.Errorf("true peak %.3f dBTP: limited far under the ceiling %.1f", tp, c.ceiling)
			}
		})
	}
}

// Real speech, from espeak-ng, pushed 12 dB into the limiter: the output's
// true peak as ffmpeg measures it (192 kHz resampling, a filter independent
// of the limiter's) stays under the ceiling, within ffmpeg's own reading
// difference from the Annex 2 filter.
func TestLimiterOnSpeechAgainstFFmpeg(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "espeak-ng"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	wav := filepath.Join(dir, "speech.wav")
	run(t, dir, "espeak-ng", "-v", "vi", "-w", wav, "Thông báo khẩn cấp: bão số ba đang tiến vào đất liền. Đề nghị bà con di chuyển đến nơi an toàn.")
	run(t, dir, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", wav, "-af", "volume=12dB", "-ar", "48000", "-ac", "2", "-f", "f64le", "in.f64")
	in := readRaw(t, filepath.Join(dir, "in.f64"))
	out := limit(48000, -1, in, 480)
	writeRaw(t, filepath.Join(dir, "out.f64"), out)

	inSample, inTrue := peaks(48000, in)
	sp, tp := peaks(48000, out)
	ff := ffmpegTruePeak(t, dir, "out.f64", 48000)
	t.Logf("speech +12 dB: input %.2f dBFS / %.2f dBTP → output %.3f dBFS / %.3f dBTP (ffmpeg: %.3f dBTP)", inSample, inTrue, sp, tp, ff)
	if sp > -1 {
		t.Errorf("sample peak %.4f dBFS over the -1 dB ceiling", sp)
	}
	if tp > -1+truePeakTolerance {
		t.Errorf("true peak %.3f dBTP over the -1 dBTP ceiling", tp)
	}
	if ff > -1+ffmpegTolerance {
		t.Errorf("ffmpeg reads the true peak at %.3f dBTP, over the -1 dBTP ceiling", ff)
	}
}

// A signal under the ceiling comes out bit for bit, Latency frames late.
func TestLimiterTransparent(t *testing.T) {
	for _, rate := range []int{48000, 44100, 22050} {
		// -12 dBFS of tones plus a little deterministic noise, true peak
		// well under -1 dBTP.
		in := sines(rate, 2, [][2]float64{{440, 0.15}, {5000, 0.1}}, [][2]float64{{660, 0.2}, {13000, 0.05}})
		seed := uint32(1)
		for i := range in {
			seed = seed*1664525 + 1013904223
			in[i][0] += float64(int32(seed)) / (1 << 31) * 0.01
		}
		l := dsp.NewLimiter(rate, -1, 2*time.Millisecond, 50*time.Millisecond)
		d := l.Latency()
		if want := int(math.Round(0.002*float64(rate))) + 11; d != want {
			t.Errorf("%d Hz: latency %d frames, want lookahead %d + 11", rate, d, want-11)
		}
		out := clone(in)
		for i := 0; i < len(out); i += 333 {
			l.Process(out[i:min(len(out), i+333)])
		}
		for i := range d {
			if out[i] != [2]float64{} {
				t.Fatalf("%d Hz: frame %d during the latency is %v, want silence", rate, i, out[i])
			}
		}
		for i := d; i < len(out); i++ {
			if out[i] != in[i-d] {
				t.Fatalf("%d Hz: output frame %d = %v, input frame %d = %v: not bit-exact", rate, i, out[i], i-d, in[i-d])
			}
		}
		if g := l.GainReductionDB(); g != 0 {
			t.Errorf("%d Hz: gain reduction %v dB on a quiet signal", rate, g)
		}
	}
}

// After a loud passage the limiter releases and goes back to bit-exact
// pass-through.
func TestLimiterRecoversTransparency(t *testing.T) {
	const rate = 48000
	loud := square(rate, 1, 1000, 1000)
	quiet := sines(rate, 3, [][2]float64{{440, 0.3}}, [][2]float64{{440, 0.3}})
	l := dsp.NewLimiter(rate, -1, dsp.DefaultLookahead, dsp.DefaultRelease)
	l.Process(loud)
	if g := l.GainReductionDB(); !(g < -1) {
		t.Fatalf("gain reduction %.2f dB after a full-scale square, want under -1 dB", g)
	}
	out := clone(quiet)
	l.Process(out)
	d := l.Latency()
	// Release is 100 ms; after 2 s the gain is back at 1 exactly.
	for i := 2 * rate; i < len(out); i++ {
		if out[i] != quiet[i-d] {
			t.Fatalf("frame %d, 2 s after the loud passage: %v, input %v: not transparent", i, out[i], quiet[i-d])
		}
	}
	if g := l.GainReductionDB(); g != 0 {
		t.Errorf("gain reduction %v dB after release, want 0", g)
	}
}

// A click is a jump between neighbouring samples far larger than the
// waveform's own. The limiter may change the gain by at most 1/attack per
// frame, so an output sample can differ from the previous one by at most
// the input's own largest step (the gain is ≤ 1) plus the largest input
// magnitude times 1/attack. An instant gain change on these low tones
// would jump by ~1, forty times that bound.
func TestLimiterNoClicks(t *testing.T) {
	const rate = 48000
	// 1 s of quiet 100 Hz + 150 Hz, then the same 26 dB louder (peaking at
	// +6 dBFS) for 1 s, then quiet again; level changes are 10 ms cosine
	// ramps so the input itself has no click.
	in := sines(rate, 3, [][2]float64{{100, 0.1}, {150, 0.1}}, [][2]float64{{100, 0.1}, {150, 0.1}})
	for i := range in {
		tt := float64(i) / rate
		env := 1.0
		switch {
		case tt >= 1 && tt < 1.01:
			env = 1 + 9*(1-math.Cos(math.Pi*(tt-1)/0.01))/2
		case tt >= 1.01 && tt < 2:
			env = 10
		case tt >= 2 && tt < 2.01:
			env = 10 - 9*(1-math.Cos(math.Pi*(tt-2)/0.01))/2
		}
		in[i][0] *= env
		in[i][1] *= env
	}
	l := dsp.NewLimiter(rate, -1, dsp.DefaultLookahead, dsp.DefaultRelease)
	attack := l.Latency() - 11
	out := clone(in)
	l.Process(out)

	inJump, inPeak := 0.0, 0.0
	for i := 1; i < len(in); i++ {
		inJump = max(inJump, math.Abs(in[i][0]-in[i-1][0]), math.Abs(in[i][1]-in[i-1][1]))
		inPeak = max(inPeak, math.Abs(in[i][0]), math.Abs(in[i][1]))
	}
	bound := inJump + inPeak/float64(attack)
	outJump, at := 0.0, 0
	for i := 1; i < len(out); i++ {
		if j := max(math.Abs(out[i][0]-out[i-1][0]), math.Abs(out[i][1]-out[i-1][1])); j > outJump {
			outJump, at = j, i
		}
	}
	t.Logf("largest output step %.5f at %.4f s; input's own %.5f; bound %.5f", outJump, float64(at)/rate, inJump, bound)
	if outJump > bound {
		t.Errorf("output jumps by %.4f between frames %d and %d: over %.4f, a click", outJump, at-1, at, bound)
	}
	// And it did limit: the loud part comes out near the ceiling.
	if _, tp := peaks(rate, out); tp > -1+truePeakTolerance || tp < -2 {
		t.Errorf("true peak %.2f dBTP, want about -1", tp)
	}
}

func TestLimiterNonFiniteInput(t *testing.T) {
	l := dsp.NewLimiter(48000, -1, dsp.DefaultLookahead, dsp.DefaultRelease)
	in := sines(48000, 0.5, [][2]float64{{440, 0.5}}, [][2]float64{{440, 0.5}})
	in[1000] = [2]float64{math.NaN(), math.Inf(-1)}
	in[1001] = [2]float64{math.Inf(1), math.NaN()}
	out := clone(in)
	l.Process(out)
	d := l.Latency()
	for i := d; i < len(out); i++ {
		want := in[i-d]
		if i-d == 1000 || i-d == 1001 {
			want = [2]float64{}
		}
		if out[i] != want {
			t.Fatalf("frame %d = %v, want %v (non-finite input becomes silence, the rest passes)", i, out[i], want)
		}
	}
}

func TestLimiterDoesNotAllocate(t *testing.T) {
	l := dsp.NewLimiter(48000, -1, dsp.DefaultLookahead, dsp.DefaultRelease)
	buf := square(48000, 0.1, 1000, 1500)
	if n := testing.AllocsPerRun(50, func() { l.Process(buf) }); n != 0 {
		t.Errorf("Process allocates %v times per call", n)
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func readRaw(t *testing.T, path string) [][2]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][2]float64, len(b)/16)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, frames); err != nil {
		t.Fatal(err)
	}
	return frames
}

func writeRaw(t *testing.T, path string, frames [][2]float64) {
	t.Helper()
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, frames); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ffmpegTruePeak returns ffmpeg's ebur128 true peak (dBTP) of a raw stereo
// float64 file in dir.
func ffmpegTruePeak(t *testing.T, dir, raw string, rate int) float64 {
	t.Helper()
	run(t, dir, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "f64le", "-ar", strconv.Itoa(rate), "-ac", "2", "-i", raw,
		"-af", "ebur128=peak=true:metadata=1,ametadata=mode=print:file=meta.txt", "-f", "null", "-")
	b, err := os.ReadFile(filepath.Join(dir, "meta.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const key = "lavfi.r128.true_peak="
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		t.Fatalf("no %s in ffmpeg's metadata", key)
	}
	line, _, _ := strings.Cut(string(b[i+len(key):]), "\n")
	v, err := strconv.ParseFloat(line, 64)
	if err != nil {
		t.Fatal(err)
	}
	return 20 * math.Log10(v)
}

// The smallest settings still hold the ceiling: a one-frame attack (a gain
// step, clicks allowed) and a one-frame release, at 8 kHz.
func TestLimiterSmallestSettings(t *testing.T) {
	l := dsp.NewLimiter(8000, -1, 0, 0)
	if l.Latency() != 12 {
		t.Errorf("latency %d frames, want 1 + 11", l.Latency())
	}
	in := sines(8000, 1, [][2]float64{{440, 1.5}}, [][2]float64{{1000, 0.3}, {3000, 1}})
	out := clone(in)
	l.Process(out)
	ceiling := dsp.DBToGain(-1)
	for i, f := range out {
		if math.Abs(f[0]) > ceiling || math.Abs(f[1]) > ceiling {
			t.Fatalf("frame %d %v over the ceiling %v", i, f, ceiling)
		}
	}
}
