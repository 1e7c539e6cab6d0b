package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"loa/audio"
	"loa/audio/loudness"
)

// The decoding cost of issue 17: CPU-seconds per hour of audio, each side
// run as a whole process on the same hour-long files, so that start-up is a
// negligible part of every figure.
//
//	LOA_BENCH=1 go test ./bench -run DecodeCost -v -timeout 1h
//
// LOA_BENCH_RUNS (default 1) repeats every measurement and keeps the least
// CPU time of each (the machine is shared: other processes only ever add).
// The files are made once with ffmpeg (libmp3lame) and kept in
// $TMPDIR/loa-bench-decode; delete that folder to make them again.

// decodeCostFormats are the three kinds of file the issue names.
var decodeCostFormats = []struct {
	name     string
	rate     int
	channels int
	kbps     int
}{
	{"22.05 kHz MPEG-2 mono 32k", 22050, 1, 32},
	{"44.1 kHz mono 64k", 44100, 1, 64},
	{"44.1 kHz stereo 128k", 44100, 2, 128},
}

// decodeCostStation is the station rate ingest resamples to.
const decodeCostStation = 44100

// The child process: the test binary run again with LOA_DECODE_CHILD set
// does one job on one file and exits, so that its CPU time is all that job.
func init() {
	job := os.Getenv("LOA_DECODE_CHILD")
	if job == "" {
		return
	}
	if err := decodeChild(job, os.Getenv("LOA_DECODE_FILE")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// decodeChild is what loa does with an MP3: "decode" is audio.Open streamed
// to nothing (the decoder, at the file's rate, as float frames); "ingest"
// is the agent's ingest (agent/ingest.go decodeMedia): probe, decode,
// resample to the station rate, loudness and true peak on the same
// decode, and the 16-bit PCM cache written and synced.
func decodeChild(job, path string) error {
	switch job {
	case "decode":
		s, _, err := audio.Open(path)
		if err != nil {
			return err
		}
		defer s.Close()
		buf := make([][2]float64, 4096)
		n := 0
		for {
			k, ok := s.Stream(buf)
			n += k
			if !ok {
				break
			}
		}
		if err := s.Err(); err != nil {
			return err
		}
		fmt.Printf("frames %d\n", n)
		return nil
	case "ingest":
		info, err := audio.Probe(path)
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "loa-bench-ingest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		meter := loudness.NewMeter(decodeCostStation, info.Channels)
		prep, err := audio.PrepareContext(context.Background(), path, filepath.Join(dir, "cache.wav"), decodeCostStation, meter.Write)
		if err != nil {
			return err
		}
		fmt.Printf("frames %d\nI %.2f\nTP %.2f\n", prep.Frames, meter.Integrated(), meter.TruePeak())
		return nil
	}
	return fmt.Errorf("unknown job %q", job)
}

// decodeCostFile makes (or finds) an hour of pink noise, shaped in
// syllable-rate bursts like speech, encoded at the format's rate, channels
// and bit rate.
func decodeCostFile(t *testing.T, rate, channels, kbps int) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "loa-bench-decode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("hour-%d-%dch-%dk.mp3", rate, channels, kbps))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	src := func(seed int) string {
		return fmt.Sprintf("anoisesrc=color=pink:amplitude=0.4:seed=%d:sample_rate=%d:duration=3600,tremolo=f=4:d=0.7", seed, rate)
	}
	graph := src(1) + "[a]"
	if channels == 2 {
		graph = src(1) + "[l];" + src(2) + "[r];[l][r]amerge=inputs=2[a]"
	}
	tmp := fmt.Sprintf("%s.%d.tmp.mp3", path, os.Getpid()) // two runs at once each make their own
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-filter_complex", graph, "-map", "[a]",
		"-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels), "-c:a", "libmp3lame", "-b:a", fmt.Sprintf("%dk", kbps), tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", path, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// cpuRun runs a command as a whole process and returns its CPU time
// (user + system, from wait4's rusage) and its standard output and error.
func cpuRun(t *testing.T, env []string, name string, args ...string) (time.Duration, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), out.String()
}

func TestDecodeCost(t *testing.T) {
	long(t, "CPU-seconds per hour of audio: loa's decode and ingest next to mpg123 and ffmpeg")
	need(t, "ffmpeg", "mpg123")
	runs := 1
	if v, err := strconv.Atoi(os.Getenv("LOA_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type side struct {
		label string // what the side does
		env   []string
		name  string
		args  func(f string) []string
	}
	sides := []side{
		{"loa decode: audio.Open streamed to nothing (float frames at the file's rate)",
			[]string{"LOA_DECODE_CHILD=decode"}, self, nil},
		{"mpg123 -q -t: decode, no output",
			nil, "mpg123", func(f string) []string { return []string{"-q", "-t", f} }},
		{"mpg123 -q -s: decode to 16-bit PCM on stdout (to /dev/null)",
			nil, "sh", func(f string) []string { return []string{"-c", `exec mpg123 -q -s "$1" >/dev/null`, "sh", f} }},
		{"ffmpeg -i F -f null -: decode, one thread",
			nil, "ffmpeg", func(f string) []string {
				return []string{"-nostdin", "-loglevel", "error", "-threads", "1", "-i", f, "-f", "null", "-"}
			}},
		{fmt.Sprintf("loa ingest: probe, decode, resample to %d Hz, loudness + true peak, 16-bit PCM cache written and synced", decodeCostStation),
			[]string{"LOA_DECODE_CHILD=ingest"}, self, nil},
		{fmt.Sprintf("ffmpeg -i F -af aresample=%d,ebur128=peak=true -f null -: decode, resample, loudness + true peak, no file", decodeCostStation),
			nil, "ffmpeg", func(f string) []string {
				return []string{"-nostdin", "-loglevel", "info", "-nostats", "-threads", "1", "-i", f,
					"-af", fmt.Sprintf("aresample=%d,ebur128=peak=true", decodeCostStation), "-f", "null", "-"}
			}},
	}
	ffI := regexp.MustCompile(`(?s)Summary:.*?I:\s+(-?[\d.]+) LUFS.*?Peak:\s+(-?[\d.]+) dBFS`)
	t.Logf("CPU-seconds (user + system of the whole process) per hour of audio, least of %d run(s); the machine's other load only adds", runs)
	for _, fm := range decodeCostFormats {
		f := decodeCostFile(t, fm.rate, fm.channels, fm.kbps)
		info, err := audio.Probe(f)
		if err != nil {
			t.Fatal(err)
		}
		hours := info.Duration.Hours()
		cpu := make([]time.Duration, len(sides))
		outs := make([]string, len(sides))
		for r := 0; r < runs; r++ {
			for i, s := range sides {
				var args []string
				env := s.env
				if s.args != nil {
					args = s.args(f)
				} else {
					args = []string{"-test.run=^$"}
					env = append(append([]string(nil), env...), "LOA_DECODE_FILE="+f)
				}
				c, out := cpuRun(t, env, s.name, args...)
				if r == 0 || c < cpu[i] {
					cpu[i] = c
				}
				outs[i] = out
			}
		}
		per := func(i int) float64 { return cpu[i].Seconds() / hours }
		t.Logf("%s (%s, %.2f h):", fm.name, filepath.Base(f), hours)
		for i, s := range sides {
			t.Logf("  %7.2f CPU-s/h  %s", per(i), s.label)
		}
		t.Logf("  decode: loa / mpg123 -t %.2f×, loa / mpg123 -s %.2f×, loa / ffmpeg %.2f×", per(0)/per(1), per(0)/per(2), per(0)/per(3))
		t.Logf("  ingest: loa / ffmpeg aresample+ebur128 %.2f× (loa ingest minus its decode: %.2f CPU-s/h)", per(4)/per(5), per(4)-per(0))
		if m := ffI.FindStringSubmatch(outs[5]); m != nil {
			t.Logf("  loudness: loa %s; ffmpeg ebur128 I %s LUFS, true peak %s dBTP", strings.ReplaceAll(strings.TrimSpace(outs[4]), "\n", ", "), m[1], m[2])
		}
	}
}
