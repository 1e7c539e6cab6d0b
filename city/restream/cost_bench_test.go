package restream

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"loa/internal/testwait"
)

// BenchmarkRestreamCost is the city's cost of re-streaming one station:
// whole-process CPU (from /proc) of the city side — this test process,
// which runs the Service and its HTTP server and nothing else — and of
// its ffmpeg transcoder, while N wards listen, against ffmpeg alone
// doing the same transcode of the same stream. The station is a separate
// ffmpeg (-re, its own HTTP server) and the wards are curl processes, so
// neither is counted. Each case runs LOA_RESTREAM_SECONDS (default 20) of
// real time; figures are per hour of stream.
//
//	go test ./city/restream -run XXX -bench RestreamCost -benchtime 1x -v
func BenchmarkRestreamCost(b *testing.B) {
	for _, tool := range []string{"ffmpeg", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed", tool)
		}
	}
	secs := 20
	if s, err := strconv.Atoi(os.Getenv("LOA_RESTREAM_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	window := time.Duration(secs) * time.Second
	for _, format := range []struct{ name, codec, ctype string }{
		{"aac128k", "-c:a aac -b:a 128k -f adts", "audio/aac"},
		{"mp3-128k", "-c:a libmp3lame -b:a 128k -f mp3", "audio/mpeg"},
	} {
		b.Run(format.name+"/ffmpeg-alone", func(b *testing.B) {
			url := station(b, format.codec, format.ctype)
			out := b.TempDir() + "/out.mp3"
			args := []string{"-vn", "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k"}
			if format.ctype == "audio/mpeg" {
				args = []string{"-c:a", "copy"} // an MP3 stream passed through
			}
			cmd := exec.Command("ffmpeg", append(append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-i", url}, args...),
				"-flush_packets", "1", "-f", "mp3", "-y", out)...)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			// Measured like the city: from the moment audio flows.
			testwait.For(b, "ffmpeg alone writing", 30*time.Second, func() bool {
				st, err := os.Stat(out)
				return err == nil && st.Size() > 8<<10
			})
			c0 := procCPU(b, cmd.Process.Pid)
			start := time.Now()
			measure(window)
			c1 := procCPU(b, cmd.Process.Pid)
			b.ReportMetric((c1-c0).Seconds()*3600/time.Since(start).Seconds(), "ffmpeg-CPU-s/h")
			b.ReportMetric(procKB(b, cmd.Process.Pid, "VmHWM")/1024, "ffmpeg-peak-RSS-MB")
		})
		for _, wards := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("%s/wards=%d", format.name, wards), func(b *testing.B) {
				url := station(b, format.codec, format.ctype)
				s := New(Config{Sources: []Source{{Name: "tinh", URL: url}}})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.Serve(w, r, "tinh") }))
				defer srv.Close()
				defer s.Close()
				var curls []*exec.Cmd
				for i := 0; i < wards; i++ {
					c := exec.Command("curl", "-s", "-o", "/dev/null", "-A", "loa-agent relay", srv.URL)
					if err := c.Start(); err != nil {
						b.Fatal(err)
					}
					curls = append(curls, c)
				}
				defer func() {
					for _, c := range curls {
						c.Process.Kill()
						c.Wait()
					}
				}()
				m := s.mounts["tinh"]
				testwait.For(b, "every ward listening and audio flowing", 30*time.Second, func() bool {
					l := s.List()[0]
					m.mu.Lock()
					p := m.pull
					m.mu.Unlock()
					return l.Listeners == wards && p != nil && p.out.Frames() > 40
				})
				m.mu.Lock()
				p := m.pull
				m.mu.Unlock()
				pid := int(p.pid.Load())
				self0, child0 := procCPU(b, os.Getpid()), procCPU(b, pid)
				start := time.Now()
				measure(window)
				self1, child1 := procCPU(b, os.Getpid()), procCPU(b, pid)
				el := time.Since(start)
				if l := s.List()[0]; l.Listeners != wards || l.Pulls != 1 {
					b.Fatalf("during the window: %+v (a ward dropped, or the pull restarted)", l)
				}
				scale := 3600 / el.Seconds()
				b.ReportMetric((self1-self0).Seconds()*scale, "city-CPU-s/h")
				if pid != 0 {
					b.ReportMetric((child1-child0).Seconds()*scale, "transcoder-CPU-s/h")
					b.ReportMetric(procKB(b, pid, "VmHWM")/1024, "transcoder-peak-RSS-MB")
				}
				b.ReportMetric(procKB(b, os.Getpid(), "VmRSS")/1024, "city-RSS-MB")
			})
		}
	}
}

// station starts an outside station: ffmpeg playing a tone in real time
// and serving it over its own HTTP server (one listener).
func station(b *testing.B, codec, ctype string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr + "/tinh"
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "sine=f=1000:sample_rate=44100",
		"-ac", "2"}, strings.Fields(codec)...)
	args = append(args, "-content_type", ctype, "-listen", "1", url)
	cmd := exec.Command("ffmpeg", args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testwait.For(b, "the station listening", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	// The probe above was the station's one listener: start it again.
	cmd.Process.Kill()
	cmd.Wait()
	cmd = exec.Command("ffmpeg", args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testwait.For(b, "the station listening again", 10*time.Second, func() bool {
		out, _ := os.ReadFile("/proc/net/tcp")
		port, _ := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
		return strings.Contains(string(out), fmt.Sprintf(":%04X 00000000:0000 0A", port))
	})
	return url
}

// procCPU is a process's user+system CPU time from /proc/PID/stat (0 for
// pid 0 or a process gone).
func procCPU(b *testing.B, pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// procKB is a /proc/PID/status field in kB.
func procKB(b *testing.B, pid int, field string) float64 {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return n
		}
	}
	return 0
}

// measure is the measured window: a fixed length of real time (the stream
// is real-time), waited without polling, which would count in the city's
// CPU.
func measure(window time.Duration) {
	t := time.NewTimer(window)
	defer t.Stop()
	<-t.C
}
