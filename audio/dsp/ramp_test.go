package dsp_test

import (
	"math"
	"testing"

	"loa/audio/dsp"
)

func ones(n int) [][2]float64 {
	f := make([][2]float64, n)
	for i := range f {
		f[i] = [2]float64{1, -1}
	}
	return f
}

// A 20 ms fade to silence at 48 kHz: 960 frames, the 960th exactly 0,
// whatever the block sizes.
func TestRampReachesTargetOnTheFrame(t *testing.T) {
	for _, c := range []struct {
		name          string
		from, to      float64
		frames, block int
	}{
		{"20 ms preemption fade-out", 1, 0, 960, 256},
		{"0.5 s duck to -15 dB", 1, dsp.DBToGain(-15), 24000, 441},
		{"duck release", dsp.DBToGain(-15), 1, 24000, 1},
		{"fade in from silence", 0, 1, 1000, 1000},
	} {
		r := dsp.NewRamp(c.from)
		r.SetTarget(c.to, c.frames)
		buf := ones(c.frames + 500)
		for i := 0; i < c.frames-1; i += c.block {
			r.Process(buf[i:min(c.frames-1, i+c.block)])
		}
		if r.Done() {
			t.Errorf("%s: done after %d of %d frames", c.name, c.frames-1, c.frames)
		}
		if r.Current() == c.to {
			t.Errorf("%s: at the target %v one frame early", c.name, c.to)
		}
		r.Process(buf[c.frames-1 : c.frames])
		if !r.Done() || r.Current() != c.to {
			t.Errorf("%s: after %d frames done=%v gain %v, want done at %v", c.name, c.frames, r.Done(), r.Current(), c.to)
		}
		r.Process(buf[c.frames:])
		prev := c.from
		step := math.Abs(c.to-c.from) / float64(c.frames)
		for i, f := range buf {
			g := f[0]
			if f[1] != -g {
				t.Fatalf("%s: frame %d channels differ: %v", c.name, i, f)
			}
			if i >= c.frames-1 && g != c.to {
				t.Fatalf("%s: frame %d gain %v, want the target %v exactly", c.name, i, g, c.to)
			}
			// Monotonic, in steps of (to-from)/frames.
			if d := math.Abs(g - prev); d > step*(1+1e-9) {
				t.Fatalf("%s: frame %d steps by %v, more than %v", c.name, i, d, step)
			}
			if (c.to-c.from)*(g-prev) < 0 {
				t.Fatalf("%s: frame %d goes back (%v after %v)", c.name, i, g, prev)
			}
			prev = g
		}
	}
}

// Retargeting in mid-ramp continues from where the gain is: no jump.
func TestRampRetargetIsContinuous(t *testing.T) {
	r := dsp.NewRamp(1)
	r.SetTarget(0, 1000)
	a := ones(400)
	r.Process(a)
	mid := r.Current()
	if want := 1 - 400.0/1000; math.Abs(mid-want) > 1e-12 {
		t.Fatalf("after 400 of 1000 frames gain %v, want %v", mid, want)
	}
	r.SetTarget(1, 100) // an alert ends: back up
	if r.Current() != mid || r.Done() {
		t.Fatalf("SetTarget moved the gain to %v (done %v), want still %v", r.Current(), r.Done(), mid)
	}
	b := ones(100)
	r.Process(b)
	if d := b[0][0] - mid; d <= 0 || d > (1-mid)/100*(1+1e-9) {
		t.Errorf("first frame after retarget %v, from %v: step %v", b[0][0], mid, d)
	}
	if b[99][0] != 1 || !r.Done() {
		t.Errorf("last frame %v done %v, want 1 and done", b[99][0], r.Done())
	}
}

// At gain 1 the ramp leaves the signal bit-exact; at 0 it is silence.
func TestRampHolds(t *testing.T) {
	in := sines(48000, 0.1, [][2]float64{{440, 0.7}}, [][2]float64{{1234.5, 0.3}})
	out := clone(in)
	r := dsp.NewRamp(1)
	r.Process(out)
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("gain 1: frame %d %v, want %v", i, out[i], in[i])
		}
	}
	r.SetTarget(0, 0) // a cut: immediate
	if r.Current() != 0 || !r.Done() {
		t.Fatalf("SetTarget(0, 0): gain %v done %v, want 0 at once", r.Current(), r.Done())
	}
	r.Process(out)
	for i := range out {
		if out[i][0] != 0 || out[i][1] != 0 {
			t.Fatalf("gain 0: frame %d %v, want silence", i, out[i])
		}
	}
}

func TestRampBadGains(t *testing.T) {
	for _, g := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		r := dsp.NewRamp(1)
		r.SetTarget(g, 10)
		r.Process(ones(10))
		if r.Current() != 0 {
			t.Errorf("SetTarget(%v): gain %v, want 0", g, r.Current())
		}
		if r := dsp.NewRamp(g); r.Current() != 0 {
			t.Errorf("NewRamp(%v): gain %v, want 0", g, r.Current())
		}
	}
}

// A ramped sine may step between samples by at most its own largest step
// times the larger gain, plus its amplitude times the gain step per frame;
// a cut would step by the whole amplitude.
func TestRampNoClick(t *testing.T) {
	const rate = 48000
	in := sines(rate, 0.2, [][2]float64{{60, 0.9}}, [][2]float64{{60, 0.9}})
	inJump := 0.0
	for i := 1; i < len(in); i++ {
		inJump = max(inJump, math.Abs(in[i][0]-in[i-1][0]))
	}
	out := clone(in)
	r := dsp.NewRamp(1)
	r.SetTarget(0, rate/50) // 20 ms
	r.Process(out)
	bound := inJump + 0.9/float64(rate/50)
	for i := 1; i < len(out); i++ {
		if j := math.Abs(out[i][0] - out[i-1][0]); j > bound {
			t.Fatalf("frame %d steps by %v, over %v", i, j, bound)
		}
	}
}

func TestGainConversions(t *testing.T) {
	for _, c := range []struct{ db, gain float64 }{
		{0, 1}, {-20, 0.1}, {20, 10}, {20 * math.Log10(0.5), 0.5}, {math.Inf(-1), 0},
	} {
		if g := dsp.DBToGain(c.db); math.Abs(g-c.gain) > 1e-12 {
			t.Errorf("DBToGain(%v) = %v, want %v", c.db, g, c.gain)
		}
		if db := dsp.GainToDB(c.gain); !(math.Abs(db-c.db) < 1e-9 || db == c.db) {
			t.Errorf("GainToDB(%v) = %v, want %v", c.gain, db, c.db)
		}
	}
	for _, g := range []float64{-1, math.NaN()} {
		if db := dsp.GainToDB(g); !math.IsInf(db, -1) {
			t.Errorf("GainToDB(%v) = %v, want -Inf", g, db)
		}
	}
}

func TestRampDoesNotAllocate(t *testing.T) {
	r := dsp.NewRamp(1)
	buf := ones(480)
	if n := testing.AllocsPerRun(50, func() { r.SetTarget(0.5, 1000); r.Process(buf) }); n != 0 {
		t.Errorf("Process allocates %v times per call", n)
	}
}
