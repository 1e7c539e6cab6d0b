package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"loa/audio"
	"loa/audio/dsp"
	"loa/audio/loudness"
	"loa/audio/stream"
)

// BenchmarkRelayProgramDuckMix measures a relay mixed live: a 128 kbps
// stereo MP3 stream (served over HTTP, decoded, resampled through the
// relay's jitter buffer) on the live bus ducking the program (a PCM cache)
// by 15 dB, through the limiter — per hour, against ffmpeg decoding the
// same two MP3 files and mixing them with the same ducking
// (volume + amix).
func BenchmarkRelayProgramDuckMix(b *testing.B) {
	need(b, "ffmpeg")
	const secs = 300
	dir := b.TempDir()
	relay, program := filepath.Join(dir, "relay.mp3"), filepath.Join(dir, "program.mp3")
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", musicLike, "-t", "300", "-ac", "2", "-ar", "44100",
		"-c:a", "libmp3lame", "-b:a", "128k", relay).CombinedOutput()
	if err != nil {
		b.Fatalf("%v %s", err, out)
	}
	makeMP3(b, program, speechLike, secs)
	m := loudness.NewMeter(44100, 1)
	cache := program + ".wav"
	if _, err := audio.Prepare(program, cache, 44100, m.Write); err != nil {
		b.Fatal(err)
	}
	gain := dsp.DBToGain(-16 - m.Integrated())
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	var loa time.Duration
	for b.Loop() {
		eng := audio.NewEngine(audio.EngineConfig{Rate: 44100, Limiter: dsp.NewLimiter(44100, -1, 2*time.Millisecond, 100*time.Millisecond)})
		var pulled atomic.Int64
		base := time.Now()
		now := func() time.Time { return base.Add(audio.FramesToDuration(pulled.Load(), 44100)) }
		src := stream.Open(context.Background(), stream.Config{URL: srv.URL + "/relay.mp3", Rate: 44100, Now: now})
		f, _ := audio.OpenPCM(cache)
		n := f.Frames()
		f.Close()
		open := func(p string) (audio.FrameReader, error) { return audio.OpenPCM(p) }
		eng.Play(audio.Clip{ID: 1, Bus: audio.BusProgram, Source: audio.NewSequence(open, []audio.Part{{Path: cache, Frames: n, Gain: gain}})})
		eng.Play(audio.Clip{ID: 2, Bus: audio.BusLive, Source: src, DuckDB: -15, DuckRamp: 22050})
		buf := make([][2]float64, 1024)
		// Let the relay connect and fill its buffer before the count starts.
		for src.Stats().BufferDepth < time.Second {
			time.Sleep(time.Millisecond)
		}
		cpu0 := cpuTime()
		for eng.Position() < secs*44100-44100 {
			eng.Mix(buf)
			pulled.Add(int64(len(buf)))
			for src.Stats().BufferDepth < 500*time.Millisecond && src.Stats().State != stream.Ended {
				time.Sleep(50 * time.Microsecond) // the decoder keeps up (CPU is counted, waiting is not)
			}
		}
		loa = cpuTime() - cpu0
		src.Close()
	}
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", relay, "-i", program, "-filter_complex",
		"[1]volume=0.178[p];[0][p]amix=inputs=2", "-f", "null", "-")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v %s", err, out)
	}
	ff := childCPU(cmd.ProcessState)
	perHour := float64(time.Hour) / float64(secs*time.Second)
	b.ReportMetric(loa.Seconds()*perHour, "loa-cpu-s/h")
	b.ReportMetric(ff.Seconds()*perHour, "ffmpeg-cpu-s/h")
	b.ReportMetric(loa.Seconds()/ff.Seconds(), "ratio")
}
