package loudness_test

import (
	"math"
	"strconv"
	"testing"

	"loa/audio/loudness"
)

// tone is a stereo sine with the same peak level (dBFS) in both channels.
type tone struct {
	freq    float64 // Hz
	peakDB  float64 // dBFS
	seconds float64
	phase   float64 // radians at the first sample
}

// render returns the tones one after the other at rate, in stereo.
func render(rate int, tones ...tone) [][2]float64 {
	total := 0.0
	for _, tn := range tones {
		total += tn.seconds
	}
	out := make([][2]float64, 0, int(total*float64(rate))+len(tones))
	for _, tn := range tones {
		a := math.Pow(10, tn.peakDB/20)
		n := int(math.Round(tn.seconds * float64(rate)))
		for i := range n {
			v := a * math.Sin(2*math.Pi*tn.freq*float64(i)/float64(rate)+tn.phase)
			out = append(out, [2]float64{v, v})
		}
	}
	return out
}

func measure(rate, channels int, frames [][2]float64) *loudness.Meter {
	m := loudness.NewMeter(rate, channels)
	m.Write(frames)
	return m
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.3f, want %.3f ±%.2f", what, got, want, tol)
	} else {
		t.Logf("%s = %.3f (want %.3f ±%.2f)", what, got, want, tol)
	}
}

// EBU Tech 3341 (2016) cases 1–5: a 1 kHz stereo sine whose integrated
// loudness must read -23.0 (or -33.0) ±0.1 LUFS through the gates.
func TestTech3341Integrated(t *testing.T) {
	cases := []struct {
		name  string
		tones []tone
		want  float64
	}{
		{"case 1: -23 dBFS 20 s", []tone{{1000, -23, 20, 0}}, -23},
		{"case 2: -33 dBFS 20 s", []tone{{1000, -33, 20, 0}}, -33},
		{"case 3: -36/-23/-36 dBFS, relative gate", []tone{{1000, -36, 10, 0}, {1000, -23, 60, 0}, {1000, -36, 10, 0}}, -23},
		{"case 4: -72/-36/-23/-36/-72 dBFS, both gates", []tone{
			{1000, -72, 10, 0}, {1000, -36, 10, 0}, {1000, -23, 60, 0}, {1000, -36, 10, 0}, {1000, -72, 10, 0}}, -23},
		{"case 5: -26/-20/-26 dBFS", []tone{{1000, -26, 20, 0}, {1000, -20, 20.1, 0}, {1000, -26, 20, 0}}, -23},
	}
	for _, rate := range []int{48000, 44100} {
		for _, c := range cases {
			m := measure(rate, 2, render(rate, c.tones...))
			near(t, c.name+" at "+strconv.Itoa(rate)+" Hz: integrated", m.Integrated(), c.want, 0.1)
		}
	}
}

// Tech 3341 cases 1 and 2 also fix momentary and short-term at the level of
// a steady tone.
func TestTech3341MomentaryShortTerm(t *testing.T) {
	m := measure(48000, 2, render(48000, tone{1000, -23, 20, 0}))
	near(t, "momentary", m.Momentary(), -23, 0.1)
	near(t, "short-term", m.ShortTerm(), -23, 0.1)
}

// Tech 3341 case 9: a 1 kHz sine alternating 1.34 s at -20 dBFS and 1.66 s
// at -30 dBFS; every 3 s window holds the same energy, so the short-term
// loudness must read -23.0 ±0.1 LUFS throughout, once 3 s have passed.
func TestTech3341ShortTermSteady(t *testing.T) {
	const rate = 48000
	var tones []tone
	for range 5 {
		tones = append(tones, tone{1000, -20, 1.34, 0}, tone{1000, -30, 1.66, 0})
	}
	frames := render(rate, tones...)
	m := loudness.NewMeter(rate, 2)
	step := rate / 10
	for i := 0; i+step <= len(frames); i += step {
		m.Write(frames[i : i+step])
		if i+step >= 3*rate {
			near(t, "short-term at "+strconv.Itoa((i+step)*1000/rate)+" ms", m.ShortTerm(), -23, 0.1)
		}
	}
}

// EBU Tech 3342 cases 1–4: loudness range of stereo 1 kHz sines at steps
// of level, ±1 LU.
func TestTech3342LoudnessRange(t *testing.T) {
	cases := []struct {
		name   string
		levels []float64 // dBFS, 20 s each
		want   float64
	}{
		{"case 1: -20, -30", []float64{-20, -30}, 10},
		{"case 2: -20, -15", []float64{-20, -15}, 5},
		{"case 3: -40, -20", []float64{-40, -20}, 20},
		{"case 4: -50, -35, -20, -35, -50", []float64{-50, -35, -20, -35, -50}, 15},
	}
	for _, c := range cases {
		var tones []tone
		for _, l := range c.levels {
			tones = append(tones, tone{1000, l, 20, 0})
		}
		m := measure(48000, 2, render(48000, tones...))
		near(t, c.name, m.LoudnessRange(), c.want, 1)
	}
}

// With only a few short-term values (just over 3 s), a steady tone still
// has no range.
func TestLoudnessRangeOfShortSteadyTone(t *testing.T) {
	for _, seconds := range []float64{3.1, 3.2, 3.3, 3.4, 3.5, 4} {
		m := measure(48000, 2, render(48000, tone{1000, -20, seconds, 0}))
		if lra := m.LoudnessRange(); lra != 0 {
			t.Errorf("%.1f s of a steady tone: loudness range %.2f LU, want 0", seconds, lra)
		}
	}
}

// Tech 3341 cases 15–18 (true peak of sines at fractions of the rate, with
// phases that put the samples off the crest; -6.0 dBTP, +0.2/-0.4 dB) and
// the same tone with its samples at 0 dBFS, whose crest is +3.01 dBTP.
func TestTech3341TruePeak(t *testing.T) {
	cases := []struct {
		name     string
		fraction float64 // of the sample rate
		phase    float64 // degrees
		peakDB   float64
		wantTP   float64
	}{
		{"case 15: fs/4, 0°", 1.0 / 4, 0, -6, -6},
		{"case 16: fs/4, 45°", 1.0 / 4, 45, -6, -6},
		{"case 17: fs/6, 60°", 1.0 / 6, 60, -6, -6},
		{"case 18: fs/8, 67.5°", 1.0 / 8, 67.5, -6, -6},
		{"inter-sample over: fs/4, 45°, samples at 0 dBFS", 1.0 / 4, 45, 3.0103, 3.0103},
	}
	for _, rate := range []int{48000, 44100} {
		for _, c := range cases {
			// Tech 3341 phases are of a cosine: sin(x + 90° - phase).
			phase := (90 - c.phase) * math.Pi / 180
			frames := render(rate, tone{c.fraction * float64(rate), c.peakDB, 1, phase})
			m := measure(rate, 2, frames)
			got := m.TruePeak()
			if got > c.wantTP+0.2 || got < c.wantTP-0.4 {
				t.Errorf("%s at %d Hz: true peak %.3f dBTP, want %.2f +0.2/-0.4", c.name, rate, got, c.wantTP)
			} else {
				t.Logf("%s at %d Hz: true peak %.3f dBTP (want %.2f +0.2/-0.4)", c.name, rate, got, c.wantTP)
			}
			if sp := m.SamplePeak(); got < sp {
				t.Errorf("%s: true peak %.3f below sample peak %.3f", c.name, got, sp)
			}
		}
	}
}

func TestSamplePeak(t *testing.T) {
	frames := make([][2]float64, 48000)
	frames[1234] = [2]float64{0.25, -0.5}
	m := measure(48000, 2, frames)
	near(t, "sample peak", m.SamplePeak(), 20*math.Log10(0.5), 1e-9)
	// A single sample's interpolated neighbours are lower than the sample.
	near(t, "true peak of one sample", m.TruePeak(), 20*math.Log10(0.5), 1e-9)
}

// A true peak in the last samples of a stream, which the interpolator can
// only finish with what follows, still counts: the stream ends in silence.
func TestTruePeakAtEnd(t *testing.T) {
	frames := make([][2]float64, 1000)
	frames = append(frames, [2]float64{1, 0}, [2]float64{1, 0}) // the crest between them is over 0 dBTP
	m := measure(48000, 2, frames)
	padded := measure(48000, 2, append(frames, make([][2]float64, 20)...))
	if got, want := m.TruePeak(), padded.TruePeak(); got != want || !(got > 0) {
		t.Errorf("true peak ending the stream %.3f dBTP, same followed by silence %.3f dBTP (want equal and over 0)", got, want)
	}
}

func TestSilenceAndShortInput(t *testing.T) {
	m := measure(48000, 2, make([][2]float64, 5*48000))
	for name, v := range map[string]float64{
		"integrated": m.Integrated(), "momentary": m.Momentary(), "short-term": m.ShortTerm(),
		"true peak": m.TruePeak(), "sample peak": m.SamplePeak(),
	} {
		if !math.IsInf(v, -1) {
			t.Errorf("silence: %s = %v, want -Inf", name, v)
		}
	}
	if lra := m.LoudnessRange(); lra != 0 {
		t.Errorf("silence: loudness range %v, want 0", lra)
	}
	// 350 ms of a loud tone: no complete 400 ms block, nothing to integrate.
	m = measure(48000, 2, render(48000, tone{1000, -10, 0.35, 0}))
	if v := m.Integrated(); !math.IsInf(v, -1) {
		t.Errorf("350 ms: integrated %v, want -Inf (no complete block)", v)
	}
	// Below the absolute gate: -80 dBFS reads about -80 LUFS momentary but
	// integrates to nothing.
	m = measure(48000, 2, render(48000, tone{1000, -80, 5, 0}))
	if v := m.Integrated(); !math.IsInf(v, -1) {
		t.Errorf("-80 dBFS: integrated %v, want -Inf (under the -70 LUFS gate)", v)
	}
	near(t, "-80 dBFS momentary", m.Momentary(), -80, 0.1)
}

// A mono meter measures the one channel at weight 1: a mono tone reads 3 LU
// under the same tone on both channels of a stereo meter.
func TestMonoWeighting(t *testing.T) {
	frames := render(48000, tone{1000, -20, 10, 0})
	stereo := measure(48000, 2, frames)
	mono := measure(48000, 1, frames)
	near(t, "stereo - mono integrated", stereo.Integrated()-mono.Integrated(), 10*math.Log10(2), 1e-6)
	// The right channel is ignored by a mono meter.
	for i := range frames {
		frames[i][1] = 0.9
	}
	again := measure(48000, 1, frames)
	near(t, "mono with junk in [1]", again.Integrated(), mono.Integrated(), 1e-12)
	near(t, "mono true peak", again.TruePeak(), mono.TruePeak(), 1e-12)
}

// How the stream is cut into Write calls changes nothing.
func TestChunkingIndependent(t *testing.T) {
	frames := render(44100, tone{440, -12, 3, 0}, tone{3000, -30, 2, 1}, tone{50, -6, 2.5, 2})
	whole := measure(44100, 2, frames)
	pieces := loudness.NewMeter(44100, 2)
	for i, size := 0, 1; i < len(frames); size = size%997 + 7 {
		j := min(len(frames), i+size)
		pieces.Write(frames[i:j])
		i = j
	}
	for _, c := range []struct {
		name string
		a, b float64
	}{
		{"integrated", whole.Integrated(), pieces.Integrated()},
		{"momentary", whole.Momentary(), pieces.Momentary()},
		{"short-term", whole.ShortTerm(), pieces.ShortTerm()},
		{"range", whole.LoudnessRange(), pieces.LoudnessRange()},
		{"true peak", whole.TruePeak(), pieces.TruePeak()},
	} {
		if c.a != c.b {
			t.Errorf("%s: whole %v, in pieces %v", c.name, c.a, c.b)
		}
	}
}

func TestNonFiniteSamplesAreSilence(t *testing.T) {
	frames := render(48000, tone{1000, -23, 10, 0})
	zeroed := render(48000, tone{1000, -23, 10, 0})
	for i := 1000; i < len(frames); i += 4801 {
		frames[i] = [2]float64{math.NaN(), math.Inf(1)}
		zeroed[i] = [2]float64{0, 0}
	}
	dirty, clean := measure(48000, 2, frames), measure(48000, 2, zeroed)
	if d, c := dirty.Integrated(), clean.Integrated(); d != c {
		t.Errorf("integrated with NaN/Inf samples %v, with zeros %v", d, c)
	}
	if d, c := dirty.TruePeak(), clean.TruePeak(); d != c {
		t.Errorf("true peak with NaN/Inf samples %v, with zeros %v", d, c)
	}
	if d, c := dirty.SamplePeak(), clean.SamplePeak(); d != c {
		t.Errorf("sample peak with NaN/Inf samples %v, with zeros %v", d, c)
	}
}

func TestReset(t *testing.T) {
	m := measure(48000, 2, render(48000, tone{1000, -10, 5, 0}))
	m.Reset()
	m.Write(render(48000, tone{1000, -23, 20, 0}))
	near(t, "integrated after reset", m.Integrated(), -23, 0.1)
	near(t, "true peak after reset", m.TruePeak(), -23, 0.2)
}

func TestWriteDoesNotAllocate(t *testing.T) {
	frames := render(48000, tone{1000, -23, 1, 0})
	for _, ch := range []int{1, 2} {
		m := loudness.NewMeter(48000, ch)
		if n := testing.AllocsPerRun(20, func() { m.Write(frames) }); n != 0 {
			t.Errorf("%d channels: Write allocates %v times per call", ch, n)
		}
	}
}
