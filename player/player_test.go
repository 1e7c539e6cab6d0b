package player

import (
	"math"
	"strings"
	"testing"
	"time"

	"loa/audio/dsp"
)

// A clock that jumps back must not play an occurrence twice; a clock that
// jumps forward must not lose the occurrence now on air. (Was a real-time
// daemon test, TestDaemonClockJumpsNeitherMissNorDouble; here every
// position is checked to the sample.)
func TestClockJumpsNeitherMissNorDouble(t *testing.T) {
	from := wallTime(t, "2026-11-26 05:59:58")
	r := newRig(t, Config{}, from, map[string]time.Duration{"a": 3 * time.Second, "b": 3 * time.Second, "c": 3 * time.Second}, `
programs:
  - id: a
    cron: "0 6 * * *"
    items: [a]
  - id: b
    cron: "1 6 * * *"
    items: [b]
  - id: c
    cron: "2 6 * * *"
    items: [c]
`)
	item := r.frames(3 * time.Second)
	fade := r.frames(20*time.Millisecond) - 1 // JoinFade: a ramp of n frames reaches its target on its n-th frame

	// 06:00:01, a on air: the clock steps back 10 s. a plays on to its end
	// and does not start again when 06:00:00 comes round.
	r.runUntil(wallTime(t, "2026-11-26 06:00:01"))
	if p := r.pl.Status().Program; p == nil || p.ID != "a" {
		t.Fatalf("at 06:00:01: on air %+v, want a", p)
	}
	aStart := r.frames(2 * time.Second)
	r.jump(-10 * time.Second)
	r.run(12 * time.Second) // past 06:00:00 again, and past a's end
	// 06:00:0x: the clock steps forward to 06:01:01: b is joined 1 s in.
	r.jump(wallTime(t, "2026-11-26 06:01:01").Sub(r.now()))
	bJoin := r.pos()
	r.run(200 * time.Millisecond) // queued at one step, seen started at the next
	if p := r.pl.Status().Program; p == nil || p.ID != "b" {
		t.Fatalf("after the jump to 06:01:01: on air %+v, want b", p)
	}
	r.run(3 * time.Second)
	r.jump(wallTime(t, "2026-11-26 06:01:58").Sub(r.now()))
	cStart := r.frameOf(wallTime(t, "2026-11-26 06:02:00"))
	r.run(6 * time.Second)
	r.finish()
	t.Logf("stretches: %v", r.stretches())
	r.logAsRun()

	// The output: a whole, once, on its frame; silence until the jump;
	// b from 1 s in (after the join fade) to its end; c whole on its frame.
	r.expectSilent(0, aStart)
	r.expectPlays("a", aStart, 0, item)
	r.expectSilent(aStart+item, bJoin)
	// b joins at the first frame the player can still change, heard at
	// 06:01:01 plus the output's lead.
	bIdx := r.frames(time.Second + outputLead)
	r.expectPlays("b", bJoin+fade, bIdx+fade, item-bIdx-fade)
	r.expectSilent(bJoin+item-bIdx, cStart)
	r.expectPlays("c", cStart, 0, item)
	r.expectSilent(cStart+item, r.pos())
	for name, want := range map[string]int64{"a": item, "b": item - bIdx - fade, "c": item} {
		if got := r.heard(name); got != want {
			t.Errorf("%s heard for %d frames, want %d (neither missed nor doubled)", name, got, want)
		}
	}

	// The as-run log: each occurrence exactly once; a and c on time, b
	// joined 1 s in.
	count := map[string]int{}
	for _, e := range r.asrun.rows {
		if e.Actual.IsZero() {
			t.Errorf("%s never went on air: %s", e.Program, e.Result)
			continue
		}
		count[e.Program]++
		switch e.Program {
		case "a", "c":
			if e.Result != "completed" || !e.Actual.Equal(e.Planned) {
				t.Errorf("%s: %s, started %s after the plan", e.Program, e.Result, e.Actual.Sub(e.Planned))
			}
		case "b":
			if !strings.Contains(e.Note, "joined at 00:01") {
				t.Errorf("b was not joined 1 s in: note %q", e.Note)
			}
		}
	}
	if count["a"] != 1 || count["b"] != 1 || count["c"] != 1 {
		t.Fatalf("occurrences on air: %v, want each exactly once", count)
	}
}

// A station that comes up in the middle of a program joins it where the
// wall clock says, to the sample, and logs the join.
func TestJoinsAProgramLate(t *testing.T) {
	start := wallTime(t, "2026-11-26 06:00:04")
	r := newRig(t, Config{}, start, map[string]time.Duration{"bulletin": 10 * time.Second},
		"programs:\n  - id: news\n    cron: \"0 6 * * *\"\n    items: [bulletin]\n")
	fade := r.frames(20*time.Millisecond) - 1 // JoinFade: a ramp of n frames reaches its target on its n-th frame
	item := r.frames(10 * time.Second)
	r.run(200 * time.Millisecond) // queued at one step, seen started at the next
	p := r.pl.Status().Program
	if p == nil || p.ID != "news" || !p.Joined {
		t.Fatalf("on air %+v, want news, joined", p)
	}
	r.run(7 * time.Second)
	r.finish()
	// Frame 0 is heard at 06:00:04: the bulletin's frame 4 s, faded in
	// over the join fade, then unaltered to its end, then silence.
	join := r.frames(4 * time.Second)
	if g := r.gainAt(0, "bulletin", join); g < 0 || g > 0.01 {
		t.Errorf("first frame at gain %.3f, want the start of the join fade", g)
	}
	r.expectPlays("bulletin", fade, join+fade, item-join-fade)
	r.expectSilent(item-join, r.pos())
	rows := r.rows("news")
	if len(rows) != 1 || rows[0].Result != "completed" || rows[0].Note != "joined at 00:04" || !rows[0].Actual.Equal(start) {
		r.logAsRun()
		t.Fatalf("as-run %+v, want one completed row, joined at 00:04, on air at %s", rows, start)
	}
}

// playAt hands the alert to the player a block before its instant, as if
// it had just arrived (the renderer does the same), so that it starts on
// its exact frame.
func (r *rig) playAt(a Alert) {
	prev := r.before
	done := false
	r.before = func(now time.Time) {
		if prev != nil {
			prev(now)
		}
		if !done && now.Add(outputLead+2*time.Second/10).After(a.At) {
			done = true
			r.pl.PlayAlert(a)
		}
	}
}

// An emergency alert cuts the program at its instant, to the sample; the
// program comes back where the wall clock says when the alert ends (it ran
// on, muted), not where it was cut.
func TestEmergencyPreemptsAndProgramResumesToTheSample(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 05:59:59"),
		map[string]time.Duration{"prog": 10 * time.Second, "siren": 2 * time.Second},
		"programs:\n  - id: prog\n    cron: \"0 6 * * *\"\n    items: [prog]\n")
	var reports []string
	r.playAt(Alert{ID: "bao", Priority: Emergency, Content: "siren", At: wallTime(t, "2026-11-26 06:00:03"),
		Report: func(o AlertOutcome) {
			reports = append(reports, o.State.String()+" "+o.At.In(ict).Format("15:04:05.000"))
		}})
	r.run(13 * time.Second)
	r.finish()
	t.Logf("stretches: %v", r.stretches())
	r.logAsRun()

	// The program's mute ramp (CutFade, 20 ms): a ramp of n frames reaches
	// its target on its n-th frame.
	ramp := r.frames(20*time.Millisecond) - 1
	progStart := r.frames(time.Second)
	alertStart := r.frameOf(wallTime(t, "2026-11-26 06:00:03"))
	alertEnd := alertStart + r.frames(2*time.Second)
	// The program unaltered up to the alert; the siren from its exact
	// frame, alone once the program's mute ramp is down; the program back
	// at 06:00:05's own frame (5 s in) once its ramp is up, to its end.
	r.expectPlays("prog", progStart, 0, alertStart-progStart)
	r.expectPlays("siren", alertStart+ramp, ramp, alertEnd-alertStart-ramp)
	back := alertEnd + ramp
	r.expectPlays("prog", back, back-progStart, progStart+r.frames(10*time.Second)-back)
	r.expectSilent(progStart+r.frames(10*time.Second), r.pos())

	alert := r.rows("bao")
	if len(alert) != 1 || alert[0].Result != "completed" || !alert[0].Actual.Equal(wallTime(t, "2026-11-26 06:00:03")) ||
		!alert[0].End.Equal(wallTime(t, "2026-11-26 06:00:05")) {
		t.Errorf("alert as-run %+v, want completed 06:00:03–06:00:05", alert)
	}
	prog := r.rows("prog")
	if len(prog) != 1 || prog[0].Result != "interrupted" || (prog[0].Missed-2*time.Second).Abs() > 30*time.Millisecond {
		t.Errorf("program as-run %+v, want interrupted, 2 s missed", prog)
	}
	if strings.Join(reports, ",") != "started 06:00:03.000,finished 06:00:05.000" {
		t.Errorf("alert reports %q", reports)
	}
}

// An urgent alert waits for the end of the item on air, but no longer
// than max_wait after it arrived: then it cuts.
func TestUrgentWaitsForTheItemUpToMaxWait(t *testing.T) {
	r := newRig(t, Config{MaxWait: 3 * time.Second}, wallTime(t, "2026-11-26 05:59:59"),
		map[string]time.Duration{"one": 4 * time.Second, "two": 10 * time.Second, "u1": time.Second, "u2": time.Second},
		"programs:\n  - id: prog\n    cron: \"0 6 * * *\"\n    items: [one, two]\n")
	// u1 arrives at 06:00:02, 2 s before item one ends: it waits for it.
	r.playAt(Alert{ID: "u1", Priority: Urgent, Content: "u1", At: wallTime(t, "2026-11-26 06:00:02")})
	// u2 arrives at 06:00:06; item two ends at 06:00:14, past max_wait:
	// u2 cuts in at 06:00:09.
	r.playAt(Alert{ID: "u2", Priority: Urgent, Content: "u2", At: wallTime(t, "2026-11-26 06:00:06")})
	r.run(17 * time.Second)
	r.finish()
	t.Logf("stretches: %v", r.stretches())
	r.logAsRun()

	sec := r.frames(time.Second)
	ramp := r.frames(20*time.Millisecond) - 1 // the mute ramp, to its target frame
	progStart := sec
	u1 := r.frameOf(wallTime(t, "2026-11-26 06:00:04"))
	u2 := r.frameOf(wallTime(t, "2026-11-26 06:00:09"))
	r.expectPlays("one", progStart, 0, 4*sec) // whole: u1 waited
	r.expectPlays("u1", u1+ramp, ramp, sec-ramp)
	// Item two, from its frame 1 s (where the wall clock is when u1 ends),
	// up to u2.
	r.expectPlays("two", u1+sec+ramp, sec+ramp, u2-u1-2*sec)
	r.expectPlays("u2", u2+ramp, ramp, sec-ramp)
	r.expectPlays("two", u2+sec+ramp, 6*sec+ramp, 4*sec-ramp)
	for _, id := range []string{"u1", "u2"} {
		if heard := r.heard(id); heard != sec-ramp {
			t.Errorf("%s heard for %d frames, want %d (once)", id, heard, sec-ramp)
		}
	}
	want := map[string]time.Time{"u1": wallTime(t, "2026-11-26 06:00:04"), "u2": wallTime(t, "2026-11-26 06:00:09")}
	for id, at := range want {
		rows := r.rows(id)
		if len(rows) != 1 || rows[0].Result != "completed" || !rows[0].Actual.Equal(at) {
			t.Errorf("%s as-run %+v, want completed at %s", id, rows, at.In(ict).Format("15:04:05"))
		}
	}
}

// A live voice in duck mode lowers the program by the asked dB, with the
// asked ramp, and the program comes back to its level when it ends. (Was
// measured in real time through the daemon, TestDaemonLiveDuck, to ±1 dB
// and a ramp of 350–600 ms; here to the sample.)
func TestLiveDucksTheProgram(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 05:59:59"), map[string]time.Duration{"nhac": 20 * time.Second},
		"programs:\n  - id: nhac\n    cron: \"0 6 * * *\"\n    items: [nhac]\n")
	voice := &silentLive{}
	var reports []string
	on, off := wallTime(t, "2026-11-26 06:00:03"), wallTime(t, "2026-11-26 06:00:08")
	started, stopped := false, false
	var liveOn, liveOff int64 // the first frame the player could still change then
	r.before = func(now time.Time) {
		if !started && !now.Before(on) {
			started, liveOn = true, r.pos()
			r.pl.StartLive(Live{ID: "loa-xa", Source: voice, DuckDB: -12,
				Report: func(id, state string, at time.Time) { reports = append(reports, state) }})
		}
		if !stopped && !now.Before(off) {
			stopped, liveOff = true, r.pos()
			r.pl.StopLive("")
		}
	}
	r.run(15 * time.Second)
	r.finish()
	r.logAsRun()

	progStart := r.frames(time.Second)
	rampN := r.frames(500 * time.Millisecond)
	ducked := dsp.DBToGain(-12)
	gain := func(f int64) float64 { return r.gainAt(f, "nhac", f-progStart) }

	// Unaltered before the voice.
	r.expectPlays("nhac", progStart, 0, liveOn-progStart)
	// Down over the ramp, never below the ducked level, then held at it.
	rampEnd := int64(-1)
	for f := liveOn; f < liveOff; f++ {
		g := gain(f)
		if g < ducked-1e-9 || g > 1+1e-9 {
			t.Fatalf("frame %d: gain %.6f, outside [%.6f, 1]", f, g, ducked)
		}
		if rampEnd < 0 && math.Abs(g-ducked) < 1e-9 {
			rampEnd = f
		}
		if rampEnd >= 0 && math.Abs(g-ducked) > 1e-9 {
			t.Fatalf("frame %d: gain %.6f after the ramp, want the ducked %.6f", f, g, ducked)
		}
	}
	// A ramp of n frames reaches its target on its n-th frame.
	ramp := rampEnd - liveOn + 1
	t.Logf("duck ramp: %d frames (asked %d)", ramp, rampN)
	if ramp != rampN {
		t.Errorf("ramp of %d frames, want %d (500 ms)", ramp, rampN)
	}
	if d := 20 * math.Log10(gain(liveOff-1)); math.Abs(d-(-12)) > 0.01 {
		t.Errorf("ducked by %.3f dB, want -12", d)
	}
	// The voice fades out over the ramp, then the program comes back up
	// over the ramp, then plays unaltered to the end of the run.
	back := liveOff + 2*rampN - 1
	r.expectPlays("nhac", back, back-progStart, r.pos()-back)
	for f := liveOff; f < back; f++ {
		if g := gain(f); g < ducked-1e-9 || g > 1+1e-9 {
			t.Fatalf("frame %d: gain %.6f on the way back, outside [%.6f, 1]", f, g, ducked)
		}
	}

	live := r.rows("loa-xa")
	if len(live) != 1 || live[0].Kind != "live" || live[0].Result != "completed" || live[0].Note != "duck -12 dB" || !live[0].Actual.Equal(r.tm.TimeAt(liveOn)) {
		t.Errorf("live as-run %+v", live)
	}
	if !voice.closed {
		t.Error("the live source was not closed")
	}
	if strings.Join(reports, ",") != "started,finished" {
		t.Errorf("live reports %q", reports)
	}
}

// A live voice whose source fails (the city or the official's phone gone)
// ends after LiveDeadAfter, with a failed as-run row, and the program comes
// back at its level instead of staying muted under silence until the
// announcement expires.
func TestLiveEndsWhenItsSourceFails(t *testing.T) {
	r := newRig(t, Config{}, wallTime(t, "2026-11-26 05:59:59"), map[string]time.Duration{"nhac": 40 * time.Second},
		"programs:\n  - id: nhac\n    cron: \"0 6 * * *\"\n    items: [nhac]\n")
	voice := &failingLive{failAt: r.frames(2 * time.Second)}
	on := wallTime(t, "2026-11-26 06:00:03")
	started := false
	var liveOn int64
	r.before = func(now time.Time) {
		if !started && !now.Before(on) {
			started, liveOn = true, r.pos()
			r.pl.StartLive(Live{ID: "loa-xa", Source: voice, Exclusive: true})
		}
	}
	r.run(30 * time.Second)
	r.finish()
	r.logAsRun()

	live := r.rows("loa-xa")
	if len(live) != 1 || live[0].Result != "failed" || !strings.Contains(live[0].Note, "source failed for 15s") {
		t.Fatalf("live as-run %+v, want one failed row", live)
	}
	// It ends LiveDeadAfter after the source began to fail, give or take
	// the engine's read-ahead of the source (a few blocks).
	end := r.frameOf(live[0].End)
	want := liveOn + r.frames(2*time.Second) + r.frames(LiveDeadAfter)
	if d := end - want; d < -r.frames(200*time.Millisecond) || d > r.frames(200*time.Millisecond) {
		t.Errorf("live ended at frame %d, want %d ± 200 ms", end, want)
	}
	// The program, muted under it, plays again at its level after the
	// ramp, to the end of the run.
	progStart := r.frames(time.Second)
	back := end + r.frames(time.Second)
	r.expectPlays("nhac", back, back-progStart, r.pos()-back)
	if !voice.closed {
		t.Error("the failed source was not closed")
	}
}
