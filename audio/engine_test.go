package audio

import (
	"errors"
	"math"
	"sync"
	"testing"

	"loa/audio/dsp"
)

const testRate = 44100

// memPCM is an in-memory FrameReader: the PCM cache of a media file without
// the file, for engine tests.
type memPCM struct{ frames [][2]float64 }

func (m *memPCM) ReadFrames(at int64, dst [][2]float64) (int, error) {
	if at >= int64(len(m.frames)) {
		return 0, nil
	}
	return copy(dst, m.frames[at:]), nil
}
func (m *memPCM) Close() error { return nil }

// tone makes n frames of a sine at freq Hz and amplitude amp.
func tone(n int, freq, amp float64) [][2]float64 {
	f := make([][2]float64, n)
	for i := range f {
		v := amp * math.Sin(2*math.Pi*freq*float64(i)/testRate)
		f[i] = [2]float64{v, v}
	}
	return f
}

func dc(n int, v float64) [][2]float64 {
	f := make([][2]float64, n)
	for i := range f {
		f[i] = [2]float64{v, v}
	}
	return f
}

// sliceStreamer plays frames once.
type sliceStreamer struct {
	frames [][2]float64
	pos    int
}

func (s *sliceStreamer) Stream(dst [][2]float64) (int, bool) {
	if s.pos >= len(s.frames) {
		return 0, false
	}
	n := copy(dst, s.frames[s.pos:])
	s.pos += n
	return n, true
}
func (s *sliceStreamer) Err() error { return nil }

// render pulls total frames from e in blocks of block frames.
func render(e *Engine, total, block int) [][2]float64 {
	out := make([][2]float64, total)
	for at := 0; at < total; at += block {
		e.Mix(out[at:min(at+block, total)])
	}
	return out
}

func firstNonZero(f [][2]float64) int {
	for i := range f {
		if f[i][0] != 0 || f[i][1] != 0 {
			return i
		}
	}
	return -1
}

func events(e *Engine) []Event {
	var evs []Event
	for {
		select {
		case ev := <-e.Events():
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

// delayLimiter stands in for the output limiter: a pure delay, so that the
// compensation of its latency can be checked to the frame.
type delayLimiter struct {
	line [][2]float64
}

func (d *delayLimiter) Latency() int { return len(d.line) }
func (d *delayLimiter) Process(f [][2]float64) {
	for i := range f {
		out := d.line[0]
		copy(d.line, d.line[1:])
		d.line[len(d.line)-1] = f[i]
		f[i] = out
	}
}

func TestClipStartsOnItsFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limiter Limiter
		block   int
		start   int64
	}{
		{"no limiter, block 512", nil, 512, 30000},
		{"no limiter, start on a block edge", nil, 1000, 30000},
		{"delay 64 compensated", &delayLimiter{line: make([][2]float64, 64)}, 441, 12345},
		{"odd block sizes, start just after the limiter delay", &delayLimiter{line: make([][2]float64, 7)}, 333, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(EngineConfig{Rate: testRate, Limiter: tc.limiter})
			if err := e.Play(Clip{ID: 1, Start: tc.start, Source: &sliceStreamer{frames: dc(1000, 0.5)}}); err != nil {
				t.Fatal(err)
			}
			out := render(e, 50000, tc.block)
			if got := firstNonZero(out); got != int(tc.start) {
				t.Fatalf("first sample at frame %d, want %d", got, tc.start)
			}
			if got := out[tc.start+999][0]; got != 0.5 {
				t.Fatalf("last frame of the clip = %v, want 0.5", got)
			}
			if got := out[tc.start+1000][0]; got != 0 {
				t.Fatalf("frame after the clip = %v, want silence", got)
			}
			evs := events(e)
			if len(evs) != 2 || evs[0].Kind != ClipStarted || evs[0].Frame != tc.start || evs[1].Kind != ClipEnded || evs[1].Frame != tc.start+1000 || !evs[1].Completed {
				t.Fatalf("events = %+v", evs)
			}
		})
	}
}

func TestLateClipStartsAtOnce(t *testing.T) {
	e := NewEngine(EngineConfig{Rate: testRate})
	render(e, 1000, 100)
	e.Play(Clip{ID: 7, Start: 10, Source: &sliceStreamer{frames: dc(100, 0.25)}})
	out := render(e, 1000, 100)
	if got := firstNonZero(out); got != 0 {
		t.Fatalf("late clip first sample at block frame %d, want 0", got)
	}
	evs := events(e)
	if evs[0].Kind != ClipStarted || evs[0].Frame != 1000 {
		t.Fatalf("late clip started event %+v, want frame 1000", evs[0])
	}
}

// maxJump is the largest sample-to-sample difference in f: a click shows up
// as a jump far above what the signal itself does.
func maxJump(f [][2]float64) float64 {
	j := 0.0
	for i := 1; i < len(f); i++ {
		j = max(j, math.Abs(f[i][0]-f[i-1][0]))
	}
	return j
}

func TestEmergencyPreemptsAndProgramResumesByWallClock(t *testing.T) {
	const (
		alertAt  = 44100
		alertLen = 22050
		fade     = 882 // 20 ms
	)
	e := NewEngine(EngineConfig{Rate: testRate})
	program := tone(5*testRate, 440, 0.5)
	e.Play(Clip{ID: 1, Bus: BusProgram, Start: 0, Source: &sliceStreamer{frames: program}})
	e.Play(Clip{ID: 2, Bus: BusEmergency, Start: alertAt, Source: &sliceStreamer{frames: tone(alertLen, 1000, 0.5)}, Mute: true, DuckRamp: fade})
	out := render(e, 3*testRate, 512)

	// Before the alert: the program, untouched.
	for i := 0; i < alertAt; i++ {
		if out[i][0] != program[i][0] {
			t.Fatalf("frame %d = %v before the alert, want the program %v", i, out[i][0], program[i][0])
		}
	}
	// During the alert, once the fade is over: the alert alone.
	alert := tone(alertLen, 1000, 0.5)
	for i := alertAt + fade; i < alertAt+alertLen; i++ {
		if d := math.Abs(out[i][0] - alert[i-alertAt][0]); d > 1e-12 {
			t.Fatalf("frame %d: program still audible during the alert (diff %v)", i, d)
		}
	}
	// After the alert and its release ramp: the program where the wall
	// clock says, not where it was cut.
	for i := alertAt + alertLen + fade; i < 3*testRate; i++ {
		if d := math.Abs(out[i][0] - program[i][0]); d > 1e-12 {
			t.Fatalf("frame %d after the alert: %v, want the program at the same frame %v", i, out[i][0], program[i][0])
		}
	}
	// No clicks at the cut and the return: the steepest step stays within
	// what two full-scale tones at these frequencies can do in one frame.
	limit := 2*math.Pi*440/testRate*0.5 + 2*math.Pi*1000/testRate*0.5 + 0.5/fade
	if j := maxJump(out[alertAt-10 : alertAt+alertLen+fade+10]); j > limit {
		t.Fatalf("click: sample-to-sample jump %.4f > %.4f", j, limit)
	}
}

func TestDuckingDepthAndRamp(t *testing.T) {
	const (
		liveAt = 10000
		ramp   = 22050 // 0.5 s
		live   = 3 * testRate
	)
	e := NewEngine(EngineConfig{Rate: testRate})
	e.Play(Clip{ID: 1, Bus: BusProgram, Source: &sliceStreamer{frames: dc(6*testRate, 0.5)}})
	// The live voice is silent here so that the program's level is what the
	// output shows.
	e.Play(Clip{ID: 2, Bus: BusLive, Start: liveAt, Source: &sliceStreamer{frames: dc(live, 0)}, DuckDB: -15, DuckRamp: ramp})
	out := render(e, 5*testRate, 1024)

	ducked := 0.5 * dsp.DBToGain(-15)
	if got := out[liveAt-1][0]; got != 0.5 {
		t.Fatalf("before the live voice: %v, want 0.5", got)
	}
	// Halfway down the ramp, linear in amplitude.
	if got, want := out[liveAt+ramp/2][0], (0.5+ducked)/2; math.Abs(got-want) > 1e-4 {
		t.Fatalf("mid-ramp level %v, want %v", got, want)
	}
	if got := out[liveAt+ramp][0]; math.Abs(dsp.GainToDB(got/0.5)-(-15)) > 0.01 {
		t.Fatalf("after the ramp: %.3f dB, want -15 dB", dsp.GainToDB(got/0.5))
	}
	if got := out[liveAt+ramp-100][0]; got <= ducked {
		t.Fatalf("reached the ducked level before the ramp ended")
	}
	end := liveAt + live
	if got := out[end+ramp][0]; math.Abs(got-0.5) > 1e-9 {
		t.Fatalf("after the live voice and its release: %v, want 0.5", got)
	}
	if got := out[end+ramp/2][0]; math.Abs(got-(0.5+ducked)/2) > 1e-4 {
		t.Fatalf("mid-release level %v", got)
	}
}

func TestStopFadesOutWithoutClick(t *testing.T) {
	e := NewEngine(EngineConfig{Rate: testRate})
	e.Play(Clip{ID: 1, Source: &sliceStreamer{frames: tone(10*testRate, 440, 0.9)}})
	render(e, 4410, 441)
	if err := e.Stop(1, 10000, 882); err != nil {
		t.Fatal(err)
	}
	out := render(e, testRate, 441)
	// Output index i is output frame 4410+i.
	stop := 10000 - 4410
	for i := stop + 882; i < len(out); i++ {
		if out[i][0] != 0 {
			t.Fatalf("frame %d still sounds after the fade", 4410+i)
		}
	}
	if out[stop-1][0] == 0 && out[stop-2][0] == 0 {
		t.Fatal("silent before the stop")
	}
	if j := maxJump(out); j > 2*math.Pi*440/testRate*0.9+1e-3 {
		t.Fatalf("click at the stop: jump %v", j)
	}
	var ended *Event
	for _, ev := range events(e) {
		if ev.Kind == ClipEnded {
			ended = &ev
		}
	}
	if ended == nil || ended.Completed || ended.Frame != 10882 {
		t.Fatalf("ended event %+v, want not completed at frame 10882", ended)
	}
}

func TestSequencePartsAndFailure(t *testing.T) {
	files := map[string]*memPCM{
		"chime": {frames: dc(100, 0.1)},
		"item":  {frames: dc(300, 0.2)},
		"short": {frames: dc(50, 0.3)},
	}
	open := func(path string) (FrameReader, error) {
		if f, ok := files[path]; ok {
			return f, nil
		}
		return nil, errors.New("no such file")
	}
	seq := NewSequence(open, []Part{
		{Index: 0, Path: "chime", Frames: 100, Gain: 1},
		{Index: 1, Path: "missing", Frames: 200, Gain: 1},
		{Index: 2, Path: "item", Offset: 100, Frames: 200, Gain: 2},
		{Index: 3, Path: "short", Frames: 80, Gain: 1},
	})
	e := NewEngine(EngineConfig{Rate: testRate})
	e.Play(Clip{ID: 9, Start: 1000, Source: seq})
	out := render(e, 2000, 64)
	check := func(from, to int, want float64) {
		t.Helper()
		for i := from; i < to; i++ {
			if math.Abs(out[i][0]-want) > 1e-12 {
				t.Fatalf("frame %d = %v, want %v", i, out[i][0], want)
			}
		}
	}
	check(1000, 1100, 0.1)
	check(1100, 1300, 0)   // the missing file: silence in its place
	check(1300, 1500, 0.4) // gain 2, from frame 100 of the item
	check(1500, 1550, 0.3)
	check(1550, 1580, 0) // short file padded
	check(1580, 2000, 0)
	var got []string
	for _, ev := range events(e) {
		switch ev.Kind {
		case PartStarted:
			got = append(got, "start", string(rune('0'+ev.Part)), itoa(ev.Frame))
		case PartFailed:
			got = append(got, "fail", string(rune('0'+ev.Part)), itoa(ev.Frame))
		case ClipEnded:
			got = append(got, "end", itoa(ev.Frame))
		}
	}
	want := []string{"start", "0", "1000", "fail", "1", "1100", "start", "2", "1300", "start", "3", "1500", "end", "1580"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	s := ""
	for v > 0 {
		s = string(rune('0'+v%10)) + s
		v /= 10
	}
	return s
}

// TestCommandsFromOtherGoroutines runs the output loop in one goroutine and
// sends commands from others, as the daemon does; -race checks that the
// engine's state is only touched by the output goroutine.
func TestCommandsFromOtherGoroutines(t *testing.T) {
	e := NewEngine(EngineConfig{Rate: testRate})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([][2]float64, 256)
		for i := 0; i < 2000; i++ {
			e.Mix(buf)
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id := uint64(g*1000 + i)
				e.Play(Clip{ID: id, Bus: allBuses[i%4], Start: e.Position() + 100, Source: &sliceStreamer{frames: dc(500, 0.01)}})
				e.Stop(id, e.Position()+300, 50)
				e.SetMaster(1)
			}
		}(g)
	}
	go func() {
		for range e.Events() {
		}
	}()
	wg.Wait()
	<-done
}

// allBuses are the engine's buses, lowest first.
var allBuses = []Bus{BusProgram, BusLive, BusUrgent, BusEmergency}

// Every rung of the ladder mixes on its own bus, in the ladder's order; a
// level between rungs on the highest bus not above it.
func TestBusSlots(t *testing.T) {
	for i, b := range allBuses {
		if got := busSlot(b); got != i {
			t.Errorf("bus %v in slot %d, want %d", b, got, i)
		}
	}
	for _, c := range []struct {
		b    Bus
		want int
	}{{0, 0}, {49, 0}, {59, 0}, {70, 1}, {90, 2}, {120, 3}} {
		if got := busSlot(c.b); got != c.want {
			t.Errorf("level %d in slot %d, want %d", int(c.b), got, c.want)
		}
	}
}

// loopStreamer plays its frames forever.
type loopStreamer struct {
	frames [][2]float64
	pos    int
}

func (s *loopStreamer) Stream(dst [][2]float64) (int, bool) {
	for i := range dst {
		dst[i] = s.frames[s.pos]
		s.pos = (s.pos + 1) % len(s.frames)
	}
	return len(dst), true
}
func (s *loopStreamer) Err() error { return nil }

// BenchmarkMixFourBuses: one clip on every bus, each ducking the ones below;
// a 1024-frame block (23 ms at 44.1 kHz).
func BenchmarkMixFourBuses(b *testing.B) {
	e := NewEngine(EngineConfig{Rate: testRate})
	for _, bus := range allBuses {
		e.Play(Clip{ID: uint64(bus), Bus: bus, Source: &loopStreamer{frames: tone(4410, 441, 0.1)}, DuckDB: -6, DuckRamp: 1000})
	}
	buf := make([][2]float64, 1024)
	b.ReportAllocs()
	for b.Loop() {
		e.Mix(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/frame")
}
