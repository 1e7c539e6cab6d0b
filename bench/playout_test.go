package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/audio"
	"loa/audio/dsp"
	"loa/audio/loudness"
)

// makeMP3 encodes secs seconds of an ffmpeg lavfi source as the city's
// canonical format (MPEG-1 Layer III, 44.1 kHz, mono, 64 kbps).
func makeMP3(t testing.TB, path, source string, secs int) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", fmt.Sprint(secs),
		"-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// speech and music stand-ins: what matters for the cost is the codec, the
// rate and the length.
const (
	speechLike = "aevalsrc=0.3*sin(2*PI*180*t)*(0.6+0.4*sin(2*PI*4*t))+0.05*random(0):s=44100"
	musicLike  = "aevalsrc=0.15*sin(2*PI*261.6*t)+0.15*sin(2*PI*329.6*t)+0.15*sin(2*PI*392*t):s=44100"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func childCPU(ps *os.ProcessState) time.Duration { return ps.UserTime() + ps.SystemTime() }

// BenchmarkPlayoutTwoMP3 measures the CPU of playing two MP3 streams at
// once — decode, loudness normalisation, a ducking mix and the output
// limiter — per hour of programme, against ffmpeg mixing the same two files
// with amix in the same run.
//
// loa decodes each file once, when it enters the station (the ingest cost,
// reported separately), and plays its PCM cache; so playout is reading
// 16-bit samples, gains, the mix and the limiter.
func BenchmarkPlayoutTwoMP3(b *testing.B) {
	need(b, "ffmpeg")
	const secs = 600
	dir := b.TempDir()
	a, c := filepath.Join(dir, "speech.mp3"), filepath.Join(dir, "music.mp3")
	makeMP3(b, a, speechLike, secs)
	makeMP3(b, c, musicLike, secs)

	// Ingest: decode once to the cache, measuring loudness on the way.
	cpu0 := cpuTime()
	caches := map[string]float64{}
	var cacheBytes int64
	for _, src := range []string{a, c} {
		m := loudness.NewMeter(44100, 1)
		dst := src + ".wav"
		if _, err := audio.Prepare(src, dst, 44100, m.Write); err != nil {
			b.Fatal(err)
		}
		caches[dst] = m.Integrated()
		fi, _ := os.Stat(dst)
		cacheBytes += fi.Size()
	}
	ingest := cpuTime() - cpu0

	var playout time.Duration
	for b.Loop() {
		eng := audio.NewEngine(audio.EngineConfig{Rate: 44100, Limiter: dsp.NewLimiter(44100, -1, 2*time.Millisecond, 100*time.Millisecond)})
		open := func(p string) (audio.FrameReader, error) { return audio.OpenPCM(p) }
		bus := audio.BusProgram
		for path, lufs := range caches {
			f, err := audio.OpenPCM(path)
			if err != nil {
				b.Fatal(err)
			}
			n := f.Frames()
			f.Close()
			seq := audio.NewSequence(open, []audio.Part{{Path: path, Frames: n, Gain: dsp.DBToGain(-16 - lufs)}})
			eng.Play(audio.Clip{ID: uint64(bus + 1), Bus: bus, Source: seq, DuckDB: -15, DuckRamp: 22050})
			bus = audio.BusLive
		}
		buf := make([][2]float64, 1024)
		cpu0 := cpuTime()
		for eng.Position() < secs*44100 {
			eng.Mix(buf)
		}
		playout = cpuTime() - cpu0
	}

	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", a, "-i", c, "-filter_complex", "amix=inputs=2", "-f", "null", "-")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg amix: %v\n%s", err, out)
	}
	ffmpeg := childCPU(cmd.ProcessState)

	perHour := float64(time.Hour) / float64(secs*time.Second)
	b.ReportMetric(playout.Seconds()*perHour, "loa-cpu-s/h")
	b.ReportMetric(ffmpeg.Seconds()*perHour, "ffmpeg-amix-cpu-s/h")
	b.ReportMetric(playout.Seconds()/ffmpeg.Seconds(), "ratio")
	b.ReportMetric(ingest.Seconds()*perHour/2, "ingest-cpu-s/media-h")
	b.ReportMetric(float64(cacheBytes)/2*perHour/1e6, "cache-MB/media-h")
}

// BenchmarkRenderHour renders one hour of a day (twelve 5-minute MP3
// items back to back) with `loa-agent render`, media decoded beforehand
// (the cache is kept), and reports the seconds it takes.
func BenchmarkRenderHour(b *testing.B) {
	need(b, "ffmpeg")
	agent := agentBin(b)
	dir := b.TempDir()
	var items []string
	for i := 0; i < 12; i++ {
		p := filepath.Join(dir, fmt.Sprintf("item%02d.mp3", i))
		makeMP3(b, p, strings.Replace(speechLike, "180", fmt.Sprint(150+10*i), 1), 300)
		items = append(items, filepath.Base(p))
	}
	prog := filepath.Join(dir, "p.yaml")
	os.WriteFile(prog, []byte("programs:\n  - id: gio\n    cron: \"0 6 * * *\"\n    items: ["+strings.Join(items, ", ")+"]\n"), 0o644)
	args := []string{"render", "--program", prog, "--from", "2026-11-26 06:00:00", "--duration", "1h", "--out", filepath.Join(dir, "out.wav"), "--cache", filepath.Join(dir, "cache")}
	// First run decodes the media into the cache.
	if out, err := exec.Command(agent, args...).CombinedOutput(); err != nil {
		b.Fatalf("render: %v\n%s", err, out)
	}
	var wall, cpu time.Duration
	var rss int64
	for b.Loop() {
		cmd := exec.Command(agent, args...)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("render: %v\n%s", err, out)
		}
		wall, cpu = time.Since(t0), childCPU(cmd.ProcessState)
		rss = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	}
	b.ReportMetric(wall.Seconds(), "s-per-hour-rendered")
	b.ReportMetric(cpu.Seconds(), "cpu-s-per-hour-rendered")
	b.ReportMetric(float64(rss)/1024, "peak-rss-MB")
}

// BenchmarkLoad200Programs500Media validates and loads a program file of
// 200 programs using 500 distinct MP3 items (5 s each), as a fresh load
// (every item decoded and measured) and as a reload (nothing new), with
// `loa-agent program load`: time and peak memory of the process.
func BenchmarkLoad200Programs500Media(b *testing.B) {
	need(b, "ffmpeg")
	agent := agentBin(b)
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "media"), 0o755)
	// One long file cut into 500 distinct 5 s items (fast to make).
	long := filepath.Join(dir, "long.wav")
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", speechLike, "-t", "2500", "-ac", "1", "-ar", "44100", long).CombinedOutput()
	if err != nil {
		b.Fatalf("%v %s", err, out)
	}
	out, err = exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", long, "-f", "segment", "-segment_time", "5", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k",
		filepath.Join(dir, "media", "m%03d.mp3")).CombinedOutput()
	if err != nil {
		b.Fatalf("%v %s", err, out)
	}
	var y strings.Builder
	y.WriteString("programs:\n")
	for p := 0; p < 200; p++ {
		// 200 programs 7 minutes apart over the day, 2–3 items each.
		minute := p * 7
		y.WriteString(fmt.Sprintf("  - id: p%03d\n    cron: \"%d %d * * *\"\n    items: [", p, minute%60, minute/60))
		n := 2 + p%2
		for k := 0; k < n; k++ {
			if k > 0 {
				y.WriteString(", ")
			}
			y.WriteString(fmt.Sprintf("media/m%03d.mp3", (p*5+k)%500))
		}
		y.WriteString("]\n")
	}
	// Every item is referenced at least once.
	y.WriteString("  - id: all-items\n    date: 2027-01-01\n    at: \"23:59\"\n    items: [")
	for i := 0; i < 500; i++ {
		if i > 0 {
			y.WriteString(", ")
		}
		y.WriteString(fmt.Sprintf("media/m%03d.mp3", i))
	}
	y.WriteString("]\n    priority: urgent\n")
	prog := filepath.Join(dir, "p.yaml")
	os.WriteFile(prog, []byte(y.String()), 0o644)

	load := func(data string) (time.Duration, int64) {
		cmd := exec.Command(agent, "program", "load", prog, "--data", data)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("load: %v\n%s", err, out)
		}
		return time.Since(t0), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	}
	var fresh, reload time.Duration
	var freshRSS, reloadRSS int64
	i := 0
	for b.Loop() {
		data := filepath.Join(dir, fmt.Sprintf("data%d", i))
		i++
		fresh, freshRSS = load(data)
		reload, reloadRSS = load(data)
	}
	b.ReportMetric(fresh.Seconds(), "fresh-load-s")
	b.ReportMetric(float64(freshRSS)/1024, "fresh-peak-rss-MB")
	b.ReportMetric(reload.Seconds(), "reload-s")
	b.ReportMetric(float64(reloadRSS)/1024, "reload-peak-rss-MB")
}
