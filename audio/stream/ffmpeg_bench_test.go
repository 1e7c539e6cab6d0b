package stream

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkFFmpegRelay measures what the ffmpeg decoder of a relay costs on
// this machine: a real relay, pulled in real time for 30 s, of an HLS
// stream (AAC 128 kbps in TS and fMP4 segments, ffmpeg reading the
// playlist itself) and of an AAC (ADTS) stream over HTTP (piped to
// ffmpeg). It reports the ffmpeg child's CPU time (user+system) as
// seconds per hour of relay, and its peak resident memory. The Go side
// (resampler, jitter buffer) is the same as for MP3; its cost, and that of
// the pure-Go MP3 decoder, is BenchmarkDecodeResample's.
//
//	go test -run XXX -bench FFmpegRelay -benchtime 1x ./audio/stream/
func BenchmarkFFmpegRelay(b *testing.B) {
	const measure = 30 * time.Second
	for _, c := range []string{"hls-ts", "hls-fmp4", "http-aac"} {
		b.Run(c, func(b *testing.B) {
			var url string
			switch c {
			case "hls-ts", "hls-fmp4":
				url = newHLSServer(b, c == "hls-fmp4").url()
			case "http-aac":
				data, err := os.ReadFile(fixture(b, "tone60.aac", "-f", "lavfi", "-i", "sine=f=1000:duration=60:sample_rate=44100",
					"-ac", "2", "-c:a", "aac", "-b:a", "128k", "-f", "adts"))
				if err != nil {
					b.Fatal(err)
				}
				url = pacedServer(b, data, 60*time.Second, "audio/aac").URL + "/live.aac"
			}
			var cpu, hwm float64
			for b.Loop() {
				src := Open(context.Background(), Config{URL: url, Log: discardLog()})
				startPuller(b, src, 44100)
				waitStats(b, src, 15*time.Second, "playing", func(s Stats) bool { return s.State == Playing })
				pid := int(src.child.Load())
				t0, err := procCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				time.Sleep(measure) // a real-time measurement: the relay's own pace
				t1, err := procCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				if hwm, err = procHWM(pid); err != nil {
					b.Fatal(err)
				}
				cpu = (t1 - t0) / measure.Seconds() * 3600
				if st := src.Stats(); st.State != Playing || st.Reconnects != 0 {
					b.Errorf("stats %+v", st)
				}
				src.Close()
			}
			b.ReportMetric(cpu, "ffmpeg-cpu-s/h")
			b.ReportMetric(hwm/1024, "ffmpeg-rss-MB")
		})
	}
}

// procCPU is a process's user+system CPU time in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// procHWM is a process's peak resident set in kB.
func procHWM(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
