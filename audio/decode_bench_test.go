package audio

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	beepmp3 "github.com/gopxl/beep/v2/mp3"
)

// bench60sMP3 makes a 60 s 44.1 kHz mono 64 kbps MP3 (a typical bulletin).
func bench60sMP3(b *testing.B) string {
	b.Helper()
	needTools(b, "lame")
	dir := b.TempDir()
	src := filepath.Join(dir, "src.wav")
	sig := testSignal(44100, 1, 2)
	long := make([][2]float64, 0, 60*44100)
	for len(long) < 60*44100 {
		long = append(long, sig[:min(len(sig), 60*44100-len(long))]...)
	}
	writeWAV16(b, src, 44100, 1, long)
	mp3 := filepath.Join(dir, "bulletin.mp3")
	run(b, "lame", "--quiet", "-m", "m", "-b", "64", src, mp3)
	return mp3
}

// BenchmarkPrepareMP3 prepares a 60 s MP3 for a 44.1 kHz station.
func BenchmarkPrepareMP3(b *testing.B) {
	mp3 := bench60sMP3(b)
	dst := filepath.Join(b.TempDir(), "out.wav")
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		if _, err := Prepare(mp3, dst, 44100, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(((cpuTime()-cpu0)/time.Duration(b.N)).Microseconds())/1000, "cpu-ms")
	b.ReportMetric(60/(b.Elapsed().Seconds()/float64(b.N)), "x-realtime")
}

// BenchmarkPrepareMP3Resample prepares the same file for a 48 kHz station
// (decode plus sinc resampling).
func BenchmarkPrepareMP3Resample(b *testing.B) {
	mp3 := bench60sMP3(b)
	dst := filepath.Join(b.TempDir(), "out.wav")
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		if _, err := Prepare(mp3, dst, 48000, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(((cpuTime()-cpu0)/time.Duration(b.N)).Microseconds())/1000, "cpu-ms")
	b.ReportMetric(60/(b.Elapsed().Seconds()/float64(b.N)), "x-realtime")
}

// ffmpegDecodeCPU returns the CPU time (user+system) ffmpeg takes to decode
// path to nothing, single-threaded, best of three.
func ffmpegDecodeCPU(b *testing.B, path string) time.Duration {
	needTools(b, "ffmpeg")
	best := time.Duration(1 << 62)
	for range 3 {
		cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-threads", "1", "-i", path, "-f", "null", "-")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		best = min(best, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	return best
}

// cpuTime returns this process's CPU time (user+system) so far: unlike
// wall time it does not grow when other processes share the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeMP3 decodes the 60 s MP3 with beep's mp3 package (beep +
// the go-mp3 fork) and with Open, and reports the ratio to ffmpeg's CPU
// time on the same file. ffmpeg's includes its start-up, most of its time
// on a 60 s file, so the ratio flatters loa: the cost per hour of audio is
// bench.TestDecodeCost's, on hour-long files.
func BenchmarkDecodeMP3(b *testing.B) {
	mp3 := bench60sMP3(b)
	ff := ffmpegDecodeCPU(b, mp3)
	buf := make([][2]float64, 4096)
	var cpu0 time.Duration
	report := func(b *testing.B) {
		per := (cpuTime() - cpu0) / time.Duration(b.N)
		b.ReportMetric(float64(per.Microseconds())/1000, "cpu-ms")
		b.ReportMetric(float64(ff.Microseconds())/1000, "ffmpeg-cpu-ms")
		b.ReportMetric(float64(per)/float64(ff), "x-ffmpeg-cpu")
		b.ReportMetric(60/per.Seconds(), "x-realtime-cpu")
	}
	b.Run("beep-mp3", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = cpuTime()
		for range b.N {
			f, err := os.Open(mp3)
			if err != nil {
				b.Fatal(err)
			}
			s, _, err := beepmp3.Decode(f)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, ok := s.Stream(buf); !ok {
					break
				}
			}
			s.Close()
		}
		report(b)
	})
	b.Run("audio.Open", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = cpuTime()
		for range b.N {
			s, _, err := Open(mp3)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, ok := s.Stream(buf); !ok {
					break
				}
			}
			s.Close()
		}
		report(b)
	})
}

// BenchmarkResample upsamples 10 s of 22.05 kHz mono to 44.1 kHz (the
// bulletin case of Prepare) and 44.1 kHz stereo to 48 kHz.
func BenchmarkResample(b *testing.B) {
	for _, c := range []struct {
		name     string
		from, to int
		mono     bool
	}{{"22050-44100-mono", 22050, 44100, true}, {"44100-48000-stereo", 44100, 48000, false}} {
		b.Run(c.name, func(b *testing.B) {
			in := sine(c.from, 440, 0.5, 10)
			out := make([][2]float64, 4096)
			frames := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				r := newResampler(&sliceStreamer{frames: in}, c.from, c.to, c.mono)
				for {
					n, ok := r.Stream(out)
					frames += n
					if !ok {
						break
					}
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(frames), "cpu-ns/frame")
		})
	}
}
