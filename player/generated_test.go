package player

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// toneAt asks for a test tone of d at dbfs when the wall clock reaches at,
// and returns where its outcome will be.
func (r *rig) toneAt(at time.Time, id string, dbfs float64, d time.Duration) (asked *int64, out *[]GeneratedOutcome) {
	var frame int64 = -1
	var outs []GeneratedOutcome
	prev := r.before
	done := false
	r.before = func(now time.Time) {
		if prev != nil {
			prev(now)
		}
		if !done && !now.Before(at) {
			done, frame = true, r.pos()
			r.pl.PlayGenerated(Generated{ID: id, Kind: "test_tone", Title: "Âm thử / test tone", At: now, Note: "1000 Hz",
				Source: Tone(testRate, 1000, dbfs, r.frames(d)), Frames: r.frames(d),
				Report: func(o GeneratedOutcome) { outs = append(outs, o) }})
		}
	}
	return &frame, &outs
}

// peakDB is the sample peak of output frames [from, to), in dBFS.
func (r *rig) peakDB(from, to int64) float64 {
	pk := 0.0
	for f := from; f < to; f++ {
		pk = max(pk, math.Abs(r.out[f][0]))
	}
	return 20 * math.Log10(pk)
}

// A test tone mutes the program, sounds at the asked level for the asked
// time, is measured by the output meter, and the program comes back where
// the wall clock says; both as-run rows say so.
func TestGeneratedToneMutesTheProgramAndIsMeasured(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 05:59:59"), map[string]time.Duration{"nhac": 20 * time.Second},
		"programs:\n  - id: nhac\n    cron: \"0 6 * * *\"\n    items: [nhac]\n")
	asked, outs := r.toneAt(wallTime(t, "2026-11-26 06:00:03"), "cmd-1", -12, 3*time.Second)
	r.run(15 * time.Second)
	r.finish()
	r.logAsRun()

	if len(*outs) != 1 {
		t.Fatalf("outcomes %+v, want one", *outs)
	}
	o := (*outs)[0]
	if !o.Completed || o.Err != nil || !o.Measured || math.Abs(o.LevelDBFS-(-12)) > 0.05 {
		t.Fatalf("outcome %+v, want completed, measured −12 dBFS", o)
	}
	start := r.frameOf(o.Started)
	if start < *asked || start > *asked+r.frames(200*time.Millisecond) {
		t.Errorf("tone started at frame %d, asked at %d", start, *asked)
	}
	if got := o.Ended.Sub(o.Started); got != 3*time.Second {
		t.Errorf("tone lasted %s, want 3s", got)
	}
	// The tone alone once the program's mute ramp is down, at its level,
	// and a 1 kHz sine: 8 samples a period at 8 kHz.
	ramp := r.frames(20 * time.Millisecond)
	end := start + r.frames(3*time.Second)
	if pk := r.peakDB(start+ramp+r.frames(10*time.Millisecond), end-r.frames(10*time.Millisecond)); math.Abs(pk-(-12)) > 0.01 {
		t.Errorf("tone peak %.3f dBFS, want −12", pk)
	}
	for f := start + r.frames(time.Second); f < start+r.frames(time.Second)+64; f++ {
		if d := r.out[f][0] - r.out[f+8][0]; math.Abs(d) > 1e-9 {
			t.Fatalf("frame %d: not a 1 kHz period (%.6f vs %.6f)", f, r.out[f][0], r.out[f+8][0])
		}
	}
	progStart := r.frames(time.Second)
	r.expectPlays("nhac", progStart, 0, start-progStart)
	back := end + ramp
	r.expectPlays("nhac", back, back-progStart, r.pos()-back)

	tone := r.rows("cmd-1")
	if len(tone) != 1 || tone[0].Kind != "test_tone" || tone[0].Result != "completed" || !tone[0].Actual.Equal(o.Started) ||
		!strings.Contains(tone[0].Note, "-12.0 dBFS") {
		t.Errorf("tone as-run %+v", tone)
	}
	prog := r.rows("nhac")
	if len(prog) != 1 || prog[0].Result != "interrupted" || (prog[0].Missed-3*time.Second).Abs() > 30*time.Millisecond {
		t.Errorf("program as-run %+v, want interrupted, 3 s missed", prog)
	}
}

// An emergency alert that arrives during a test tone cuts it at the
// alert's own instant; the alert plays whole and the tone does not come
// back after it.
func TestAlertCutsTheTone(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 06:00:00"), map[string]time.Duration{"siren": 2 * time.Second}, "")
	_, outs := r.toneAt(wallTime(t, "2026-11-26 06:00:01"), "cmd-2", -12, 10*time.Second)
	r.playAt(Alert{ID: "bao", Priority: Emergency, Content: "siren", At: wallTime(t, "2026-11-26 06:00:04")})
	r.run(14 * time.Second)
	r.finish()
	r.logAsRun()

	if len(*outs) != 1 {
		t.Fatalf("outcomes %+v, want one", *outs)
	}
	o := (*outs)[0]
	alertAt := wallTime(t, "2026-11-26 06:00:04")
	if o.Completed || !strings.Contains(o.CutBy, "bao") || !o.Ended.Equal(alertAt) {
		t.Fatalf("outcome %+v, want cut by bao at 06:00:04", o)
	}
	af := r.frameOf(alertAt)
	ramp := r.frames(20*time.Millisecond) - 1
	r.expectPlays("siren", af+ramp, ramp, r.frames(2*time.Second)-ramp)
	// Nothing after the alert: the tone is over, not resumed.
	r.expectSilent(af+r.frames(2*time.Second), r.pos())
	if rows := r.rows("cmd-2"); len(rows) != 1 || rows[0].Result != "cut" || !strings.Contains(rows[0].Note, "bao") {
		t.Errorf("tone as-run %+v, want cut by bao", rows)
	}
	if rows := r.rows("bao"); len(rows) != 1 || rows[0].Result != "completed" {
		t.Errorf("alert as-run %+v", rows)
	}
}

// A live announcement that starts during a tone cuts it too.
func TestLiveCutsTheTone(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 06:00:00"), nil, "")
	_, outs := r.toneAt(wallTime(t, "2026-11-26 06:00:01"), "cmd-3", -12, 10*time.Second)
	prev := r.before
	started := false
	r.before = func(now time.Time) {
		prev(now)
		if !started && !now.Before(wallTime(t, "2026-11-26 06:00:03")) {
			started = true
			r.pl.StartLive(Live{ID: "loa-xa", Source: &silentLive{}, Exclusive: true})
		}
	}
	r.run(6 * time.Second)
	r.finish()
	if len(*outs) != 1 || (*outs)[0].Completed || !strings.Contains((*outs)[0].CutBy, "loa-xa") {
		t.Fatalf("outcomes %+v, want cut by the live announcement", *outs)
	}
	// The voice is digital silence: once the cut fade is over, nothing.
	cut := r.frameOf((*outs)[0].Ended)
	r.expectSilent(cut, r.pos())
}

// A tone asked while an alert is on air is refused at once (and logged):
// a test never waits in line in front of, nor covers, a warning.
func TestToneRefusedWhileAnAlertPlays(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 06:00:00"), map[string]time.Duration{"siren": 5 * time.Second}, "")
	r.playAt(Alert{ID: "bao", Priority: Emergency, Content: "siren", At: wallTime(t, "2026-11-26 06:00:01")})
	_, outs := r.toneAt(wallTime(t, "2026-11-26 06:00:02"), "cmd-4", -12, 2*time.Second)
	r.run(7 * time.Second)
	r.finish()
	if len(*outs) != 1 || !errors.Is((*outs)[0].Err, ErrOutputBusy) {
		t.Fatalf("outcomes %+v, want ErrOutputBusy", *outs)
	}
	if rows := r.rows("cmd-4"); len(rows) != 1 || !strings.HasPrefix(rows[0].Result, "failed: ") {
		t.Errorf("tone as-run %+v", rows)
	}
	if r.heard("siren") < r.frames(5*time.Second)-r.frames(20*time.Millisecond) {
		t.Errorf("siren heard %d frames, want it whole", r.heard("siren"))
	}
}

// An urgent alert cuts a test tone as it arrives, though the alert itself
// waits for the end of the program's item (muted under the tone until
// then, the program comes back for the rest of the item).
func TestUrgentCutsTheToneOnArrival(t *testing.T) {
	r := newRig(t, Config{MaxWait: 10 * time.Second}, wallTime(t, "2026-11-26 05:59:59"),
		map[string]time.Duration{"one": 6 * time.Second, "two": 6 * time.Second, "u": time.Second},
		"programs:\n  - id: prog\n    cron: \"0 6 * * *\"\n    items: [one, two]\n")
	_, outs := r.toneAt(wallTime(t, "2026-11-26 06:00:01"), "cmd-5", -12, 20*time.Second)
	r.playAt(Alert{ID: "u1", Priority: Urgent, Content: "u", At: wallTime(t, "2026-11-26 06:00:03")})
	r.run(10 * time.Second)
	r.finish()
	r.logAsRun()
	if len(*outs) != 1 || (*outs)[0].Completed || !strings.Contains((*outs)[0].CutBy, "u1") ||
		!(*outs)[0].Ended.Equal(wallTime(t, "2026-11-26 06:00:03")) {
		t.Fatalf("outcomes %+v, want cut by u1 at 06:00:03", *outs)
	}
	// Item one back from 06:00:03 (after the cut fade and its ramp) to its
	// end at 06:00:06, then the urgent alert.
	ramp := r.frames(20 * time.Millisecond)
	back := r.frameOf(wallTime(t, "2026-11-26 06:00:03")) + ramp
	progStart := r.frames(time.Second)
	r.expectPlays("one", back, back-progStart, r.frameOf(wallTime(t, "2026-11-26 06:00:06"))-back)
	if rows := r.rows("u1"); len(rows) != 1 || rows[0].Result != "completed" || !rows[0].Actual.Equal(wallTime(t, "2026-11-26 06:00:06")) {
		t.Errorf("urgent as-run %+v, want completed from 06:00:06", rows)
	}
}
