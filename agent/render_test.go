package agent

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/audio"
)

const rate = 44100

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func render(t *testing.T, dir string, args ...string) ([][2]float64, []map[string]string) {
	t.Helper()
	out := filepath.Join(dir, "out.wav")
	csvPath := filepath.Join(dir, "asrun.csv")
	args = append([]string{"render", "--out", out, "--asrun", csvPath, "--cache", filepath.Join(dir, "cache")}, args...)
	code, _, stderr := runCLI(t, time.Time{}, args...)
	if code != 0 {
		t.Fatalf("render exit %d: %s", code, stderr)
	}
	return readWAV(t, out), readCSV(t, csvPath)
}

// A tone scheduled at 05:30:00 starts on exactly the frame (05:30:00 −
// from) × rate. The cache is at the output rate, so there is no resampler
// delay: ±0 frames.
func TestRenderStartsOnItsSample(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/tone.wav"), rate, 1000, 0.5, 2)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: tone
    cron: "30 5 * * *"
    items: [media/tone.wav]
`)
	for _, from := range []string{"05:29:58", "05:29:59.5"} {
		t.Run(from, func(t *testing.T) {
			if strings.Contains(from, ".") {
				t.Skip("--from takes whole seconds")
			}
			got, rows := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 "+from, "--duration", "5s")
			want := 2 * rate
			// sin(0) = 0: the first sounding frame is the tone's second.
			if first := firstSounding(got, 0, 0); first != want+1 {
				t.Fatalf("first sounding frame %d, want %d (the tone's first frame, sin 0 = 0, is at %d)", first, want+1, want)
			}
			if got[want-1][0] != 0 {
				t.Fatal("sound before the start")
			}
			if len(rows) != 1 || rows[0]["result"] != "completed" || rows[0]["planned"] != rows[0]["actual"] {
				t.Fatalf("as-run %v", rows)
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/a.wav"), 48000, 440, 0.9, 3)
	writeTone(t, filepath.Join(dir, "media/b.wav"), 22050, 700, 0.2, 2)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: a
    cron: "0 6 * * *"
    chime: media/b.wav
    volume: 80
    items: [media/a.wav, media/b.wav]
`)
	args := []string{"--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 05:59:59", "--duration", "10s"}
	render(t, dir, args...)
	first, _ := os.ReadFile(filepath.Join(dir, "out.wav"))
	os.RemoveAll(filepath.Join(dir, "cache"))
	render(t, dir, args...)
	second, _ := os.ReadFile(filepath.Join(dir, "out.wav"))
	if !bytes.Equal(first, second) {
		t.Fatal("two renders of the same inputs differ")
	}
}

// An emergency alert cuts the program with a short fade, plays chime,
// content, gap, content, and then the program is back where the wall clock
// says — sample for sample what it would have been without the alert.
func TestRenderEmergencyPreemptsAndProgramResumesByWallClock(t *testing.T) {
	dir := t.TempDir()
	// The program outlasts the 30 s rendered, no more.
	writeTone(t, filepath.Join(dir, "media/program.wav"), rate, 440, 0.5, 32)
	writeTone(t, filepath.Join(dir, "media/alert.wav"), rate, 1000, 0.5, 3)
	writeTone(t, filepath.Join(dir, "media/chime.wav"), rate, 660, 0.5, 1)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: music
    cron: "0 6 * * *"
    items: [media/program.wav]
`)
	writeFile(t, filepath.Join(dir, "alert.yaml"), `
priority: emergency
media: media/alert.wav
chime_media: media/chime.wav
repeat: 2
gap: 1s
`)
	args := []string{"--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:00", "--duration", "30s"}
	ref, _ := render(t, dir, args...)
	got, rows := render(t, dir, append(args, "--alert", filepath.Join(dir, "alert.yaml")+"@+00:10")...)

	at := 10 * rate
	// Untouched before the alert.
	for i := 0; i < at; i++ {
		if got[i] != ref[i] {
			t.Fatalf("frame %d differs before the alert", i)
		}
	}
	// chime 1 s, alert 3 s, gap 1 s, alert 3 s: 8 s in all.
	check := func(name string, from, to float64, want float64) {
		t.Helper()
		seg := got[at+int(from*rate) : at+int(to*rate)]
		f := dominantFreq(seg, rate)
		if want == 0 {
			if p := peak(seg); p > 1e-4 {
				t.Fatalf("%s: peak %v, want silence", name, p)
			}
			return
		}
		if math.Abs(f-want) > 5 {
			t.Fatalf("%s: %.1f Hz, want %.0f Hz", name, f, want)
		}
	}
	check("chime", 0.05, 0.95, 660)
	check("alert 1", 1.05, 3.95, 1000)
	check("gap", 4.05, 4.95, 0)
	check("alert 2", 5.05, 7.95, 1000)
	// After the alert and the 20 ms return: the program exactly where it
	// would have been.
	resume := at + 8*rate + rate/50 + 10
	for i := resume; i < len(got); i++ {
		if got[i] != ref[i] {
			t.Fatalf("frame %d after the alert: %v, want the program's %v", i, got[i], ref[i])
		}
	}
	var item, alert map[string]string
	for _, r := range rows {
		switch r["kind"] {
		case "program":
			item = r
		case "alert":
			alert = r
		}
	}
	if item == nil || item["result"] != "interrupted" {
		t.Fatalf("program item in the as-run log: %v", item)
	}
	if missed := item["missed_s"]; !strings.HasPrefix(missed, "8.0") {
		t.Fatalf("program item missed %s s, want about 8", missed)
	}
	if alert == nil || alert["result"] != "completed" || alert["actual"] != "2026-11-26 06:00:10.000" {
		t.Fatalf("alert in the as-run log: %v", alert)
	}
}

// `duration` cuts a program in its item with a fade that ends on the
// planned instant.
func TestRenderDurationCutsWithFade(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/long.wav"), rate, 440, 0.5, 8)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: capped
    cron: "0 6 * * *"
    duration: 5s
    items: [media/long.wav]
`)
	got, rows := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:00", "--duration", "8s")
	end := 5 * rate
	if p := peak(got[end:]); p != 0 {
		t.Fatalf("sound after the duration: peak %v", p)
	}
	before := peak(got[end-rate : end-rate/2])
	lastBit := peak(got[end-rate/20 : end])
	if lastBit > before/5 {
		t.Fatalf("no fade-out: last 50 ms peak %v vs %v a second before", lastBit, before)
	}
	if len(rows) != 1 || rows[0]["result"] != "cut" {
		t.Fatalf("as-run %v, want one cut item", rows)
	}
}

// An urgent alert waits for the item on air to end.
func TestRenderUrgentWaitsForItemEnd(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/a.wav"), rate, 440, 0.5, 6)
	writeTone(t, filepath.Join(dir, "media/b.wav"), rate, 550, 0.5, 6)
	writeTone(t, filepath.Join(dir, "media/alert.wav"), rate, 1000, 0.5, 2)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: two
    cron: "0 6 * * *"
    items: [media/a.wav, media/b.wav]
`)
	writeFile(t, filepath.Join(dir, "alert.yaml"), "priority: urgent\nmedia: media/alert.wav\n")
	got, rows := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:00", "--duration", "12s",
		"--alert", filepath.Join(dir, "alert.yaml")+"@+00:02")
	// Item a runs to 6 s untouched; the alert follows at 6 s.
	if f := dominantFreq(got[3*rate:6*rate-rate/10], rate); math.Abs(f-440) > 5 {
		t.Fatalf("item a was cut: %.0f Hz between 3 and 6 s", f)
	}
	if f := dominantFreq(got[6*rate+rate/10:8*rate-rate/10], rate); math.Abs(f-1000) > 5 {
		t.Fatalf("urgent alert not at 6 s: %.0f Hz", f)
	}
	if f := dominantFreq(got[8*rate+rate/10:12*rate], rate); math.Abs(f-550) > 5 {
		t.Fatalf("program not back after the alert: %.0f Hz", f)
	}
	for _, r := range rows {
		if r["kind"] == "alert" && r["actual"] != "2026-11-26 06:00:06.000" {
			t.Fatalf("urgent alert started %s, want 06:00:06", r["actual"])
		}
	}
}

// The limiter holds the sum under the ceiling (−1 dBTP by default) even
// for a full-scale item over which an emergency alert plays.
func TestRenderLimiterCeiling(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/loud.wav"), rate, 3000, 1.0, 5)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: loud
    cron: "0 6 * * *"
    items: [media/loud.wav]
`)
	got, _ := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:00", "--duration", "5s", "--target-lufs", "0")
	ceiling := math.Pow(10, -1.0/20)
	if p := peak(got); p > ceiling+1.0/32768 {
		t.Fatalf("peak %.4f over the −1 dBTP ceiling %.4f", p, ceiling)
	}
}

// A PCM cache file lost while the station runs: the item is reported
// failed and silence stands in for it; the next item still plays on time.
func TestRenderItemFailureDoesNotBlockTheNext(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/a.wav"), rate, 440, 0.5, 2)
	writeTone(t, filepath.Join(dir, "media/b.wav"), rate, 1000, 0.5, 2)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: two
    cron: "0 6 * * *"
    items: [media/a.wav, media/b.wav]
`)
	args := []string{"--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:00", "--duration", "5s"}
	render(t, dir, args...)
	// Break the decoded cache of a.wav (the render keeps --cache).
	caches, _ := filepath.Glob(filepath.Join(dir, "cache/cache/*/*.wav"))
	if len(caches) != 2 {
		t.Fatalf("%d cache files, want 2", len(caches))
	}
	os.WriteFile(caches[0], []byte("garbage"), 0o640)
	got, rows := render(t, dir, args...)
	failed, completed := 0, 0
	for _, r := range rows {
		if strings.HasPrefix(r["result"], "failed: ") {
			failed++
		}
		if r["result"] == "completed" {
			completed++
		}
	}
	if failed != 1 || completed != 1 {
		t.Fatalf("as-run %v: want one failed and one completed item", rows)
	}
	// Whichever item failed, the other is on air at its planned time.
	a, b := peak(got[rate/2:rate]), peak(got[2*rate+rate/2:3*rate])
	if (a == 0) == (b == 0) {
		t.Fatalf("peaks %v and %v: want exactly one silent item", a, b)
	}
}

// A station that starts inside a program's window (after a power cut)
// follows the program's `late` policy: join where the clock says, restart
// from the beginning, or skip it.
func TestRenderLatePolicies(t *testing.T) {
	dir := t.TempDir()
	// A rising tone, so that the offset can be read from the frequency:
	// 200 Hz + 100 Hz per second.
	writeSweep(t, filepath.Join(dir, "media/sweep.wav"), rate, 10)
	for _, tc := range []struct {
		late     string
		freqAt1s float64 // what sounds 1.25–1.75 s into the render (started 5 s late)
		result   string
	}{
		{"join", 200 + 100*6.5, "completed"},
		{"restart", 200 + 100*1.5, "completed"},
		{"skip", 0, "skipped"},
	} {
		t.Run(tc.late, func(t *testing.T) {
			writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: late
    cron: "0 6 * * *"
    late: `+tc.late+`
    items: [media/sweep.wav]
`)
			got, rows := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:05", "--duration", "12s")
			seg := got[rate+rate/4 : rate+rate*3/4] // around 1 s
			if tc.freqAt1s == 0 {
				if p := peak(got); p != 0 {
					t.Fatalf("skip: sound with peak %v", p)
				}
			} else if f := dominantFreq(seg, rate); math.Abs(f-tc.freqAt1s) > 30 {
				t.Fatalf("%.0f Hz one second in, want about %.0f Hz", f, tc.freqAt1s)
			}
			if len(rows) == 0 || rows[len(rows)-1]["result"] != tc.result {
				t.Fatalf("as-run %v, want %s", rows, tc.result)
			}
		})
	}
}

// writeSweep writes a tone rising 100 Hz per second from 200 Hz.
// It is written at sampling rate sr.
func writeSweep(t *testing.T, path string, sr int, secs float64) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	w, err := audio.CreateWAV(path, sr, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := int(secs * float64(sr))
	buf := make([][2]float64, n)
	phase := 0.0
	for i := range buf {
		f := 200 + 100*float64(i)/float64(sr)
		phase += 2 * math.Pi * f / float64(sr)
		v := 0.5 * math.Sin(phase)
		buf[i] = [2]float64{v, v}
	}
	w.Write(buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// An urgent program cuts a normal one; the normal program then resumes
// where the wall clock says, and the as-run log says it was interrupted.
func TestRenderUrgentProgramCutsNormalAndResumes(t *testing.T) {
	dir := t.TempDir()
	// The media at the 8 kHz rendered (as in TestRenderStartsOnItsSample,
	// no resampling: what is proved here is where the program resumes).
	// 200 Hz + 100 Hz/s… for 95 s: past the last instant compared.
	writeSweep(t, filepath.Join(dir, "media/long.wav"), 8000, 95)
	writeTone(t, filepath.Join(dir, "media/urgent.wav"), 8000, 1000, 0.5, 20)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: normal
    cron: "0 6 * * *"
    items: [media/long.wav]
  - id: khan
    cron: "1 6 * * *"
    priority: urgent
    items: [media/urgent.wav]
`)
	ref, _ := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:00", "--duration", "90s", "--rate", "8000")
	got, rows := render(t, dir, "--program", filepath.Join(dir, "p.yaml"), "--from", "2026-11-26 06:00:50", "--duration", "40s", "--rate", "8000")
	const r = 8000
	// 06:01:00–06:01:20 (10–30 s in): the urgent program alone.
	if f := dominantFreq(got[11*r:29*r], r); math.Abs(f-1000) > 5 {
		t.Fatalf("urgent program not on air: %.0f Hz", f)
	}
	// From 06:01:20 the normal program is back at its wall-clock position:
	// 80 s into the sweep (the sweep is 200 Hz + 100 Hz/s; at 8 kHz it folds,
	// so compare with the reference render of the same instant instead).
	for i := 31 * r; i < 39*r; i++ {
		if got[i] != ref[i+50*r] {
			t.Fatalf("frame %d after the urgent program differs from the normal program at the same instant", i)
		}
	}
	var normal []string
	for _, row := range rows {
		if row["program"] == "normal" {
			normal = append(normal, row["result"])
		}
	}
	if len(normal) < 1 || normal[0] != "interrupted" {
		t.Fatalf("normal program in the as-run log: %v", rows)
	}
}
