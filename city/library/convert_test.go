package library

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"loa/audio"
)

// encode runs ffmpeg with args (inputs, codec, format) writing out, or to
// stdout into out when pipe: a muxer writing to a pipe cannot go back to
// write the duration and cues, as MediaRecorder does not.
func encode(t *testing.T, out string, pipe bool, args ...string) {
	t.Helper()
	args = append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	if pipe {
		args = append(args, "pipe:1")
	} else {
		args = append(args, out)
	}
	cmd := exec.Command("ffmpeg", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v %s", args, err, stderr.Bytes())
	}
	if pipe {
		if err := os.WriteFile(out, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIngestBrowserRecordings: what browsers record (WebM/Opus without
// duration or cues, the same cut inside its last cluster, Ogg/Opus,
// MP4/AAC) becomes a library item of the recording's length, through the
// ingest's one path; among them recordings whose bytes the wards' MPEG
// probe reads as a cut MP3 (the "damaged or truncated" refusals of
// recordings made in the console).
func TestIngestBrowserRecordings(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	tone := []string{"-f", "lavfi", "-i", "sine=f=1000:d=3,volume=0.5"}
	webm := filepath.Join(dir, "ghi-am.webm")
	encode(t, webm, true, append(tone, "-c:a", "libopus", "-b:a", "48k", "-f", "webm")...)
	whole, _ := os.ReadFile(webm)
	cut := filepath.Join(dir, "ghi-am-cut.webm")
	os.WriteFile(cut, whole[:len(whole)*2/3], 0o644)
	ogg := filepath.Join(dir, "ghi-am.ogg")
	encode(t, ogg, true, append(tone, "-c:a", "libopus", "-b:a", "32k", "-f", "ogg")...)
	m4a := filepath.Join(dir, "ghi-am.m4a")
	encode(t, m4a, false, append(tone, "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-f", "mp4")...)
	files := []struct {
		path     string
		min, max float64
	}{{webm, 2.95, 3.05}, {cut, 1, 2.9}, {ogg, 2.95, 3.05}, {m4a, 2.95, 3.1}}
	// Tone and noise recordings: seeds 2, 8 and 17 hold what the MPEG
	// probe takes for a cut MP3 frame.
	fooled := 0
	for _, seed := range []int{2, 8, 17} {
		p := filepath.Join(dir, fmt.Sprintf("noise-%d.webm", seed))
		encode(t, p, false, "-f", "lavfi", "-i", "sine=f=1000:d=3,volume=0.5",
			"-f", "lavfi", "-i", fmt.Sprintf("anoisesrc=d=3:a=0.0%d:seed=%d", seed, seed),
			"-filter_complex", "amix", "-c:a", "libopus", "-b:a", "48k", "-f", "webm")
		if _, err := audio.Probe(p); errors.Is(err, audio.ErrCorrupt) {
			fooled++
		}
		files = append(files, struct {
			path     string
			min, max float64
		}{p, 2.95, 3.05})
	}
	t.Logf("%d of 3 noisy recordings read as a cut MP3 by the MPEG probe", fooled)
	if fooled == 0 {
		t.Log("no recording here fools the MPEG probe (an ffmpeg or libopus change?); the containers are still tested")
	}
	for _, tc := range files {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			fh, err := os.Open(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			m, created, err := f.Ingest(t.Context(), fh, UploadInfo{Name: filepath.Base(tc.path), By: "an"})
			if err != nil {
				t.Fatal(err)
			}
			if d := m.Duration().Seconds(); !created || d < tc.min || d > tc.max {
				t.Errorf("item of %.3f s (created %v), want %g..%g s", d, created, tc.min, tc.max)
			}
			if m.OriginalName != filepath.Base(tc.path) || m.OriginalSize != fileSize(t, tc.path) {
				t.Errorf("original %q %d bytes", m.OriginalName, m.OriginalSize)
			}
			info, err := audio.Probe(f.files.Path(m.SHA256))
			if err != nil || info.Codec != "mp3" || info.Rate != CanonicalRate || info.Channels != 1 {
				t.Errorf("canonical file: %+v %v", info, err)
			}
			// The tone is at -24 dBFS peak: -27.5 LUFS, less with the
			// noise mixed in (amix halves each input).
			if !m.HasLoudness || m.LoudnessLUFS < -35 || m.LoudnessLUFS > -26 {
				t.Errorf("loudness %.1f LUFS (%v), want the tone's -27.5 (to -34 with noise)", m.LoudnessLUFS, m.HasLoudness)
			}
		})
	}
	if tmp := f.tmp(t); len(tmp) != 0 {
		t.Errorf("conversions left %v", tmp)
	}
}

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestIngestUnreadableRecording: a recording ffmpeg cannot read is refused
// with a reason naming the file in Vietnamese and English, and nothing is
// stored or left behind.
func TestIngestUnreadableRecording(t *testing.T) {
	f := newFixture(t)
	for name, body := range map[string][]byte{
		"hong.webm": append([]byte{0x1a, 0x45, 0xdf, 0xa3}, bytes.Repeat([]byte("loa loa "), 500)...),
		"hong.ogg":  append([]byte("OggS"), bytes.Repeat([]byte{0}, 2000)...),
		"hong.m4a":  append([]byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'M', '4', 'A', ' '}, bytes.Repeat([]byte{7}, 2000)...),
	} {
		_, _, err := f.Ingest(t.Context(), bytes.NewReader(body), UploadInfo{Name: name})
		var notAudio *NotAudioError
		if !errors.As(err, &notAudio) {
			t.Fatalf("%s: %v, want a NotAudioError", name, err)
		}
		for _, want := range []string{name + ": ", "ffmpeg không đọc được", "ffmpeg cannot read", "nothing was stored"} {
			if !strings.Contains(notAudio.Reason, want) {
				t.Errorf("%s: %q lacks %q", name, notAudio.Reason, want)
			}
		}
		if strings.Contains(notAudio.Reason, f.files.Dir) {
			t.Errorf("%s: the reason shows a server path: %s", name, notAudio.Reason)
		}
	}
	if tmp := f.tmp(t); len(tmp) != 0 || len(f.db.media) != 0 {
		t.Errorf("refused recordings left files %v, rows %d", tmp, len(f.db.media))
	}
}

// isoStream returns the path of an ISO/IEC 11172-4 compliance stream in
// ../shared/mp3-compliance beside the repository (or beside the folder
// of worktrees it is in), or skips.
func isoStream(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{"../../../shared/mp3-compliance", "../../../../shared/mp3-compliance"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no compliance bitstreams: shared/mp3-compliance is not beside the repository")
	return ""
}

// TestIngestFreeFormat: free-format MPEG audio, which the wards' decoder
// plays and ffmpeg refuses, is decoded by the wards' decoder and
// transcoded: the ISO free-format streams become items of their
// reference decode's length, with the tone-like content kept (loudness).
func TestIngestFreeFormat(t *testing.T) {
	f := newFixture(t)
	f.Config.MaxUploadMB = 4
	var logged bytes.Buffer
	f.Log = slog.New(slog.NewTextHandler(&logged, nil))
	for _, name := range []string{"l3-he_free", "l2-nonstandard-free_format"} {
		t.Run(name, func(t *testing.T) {
			p := isoStream(t, name+".bit")
			if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", p, "-f", "null", "-").CombinedOutput(); err == nil {
				t.Logf("ffmpeg reads %s now (%s): the ingest takes it either way", name, out)
			}
			info, err := audio.Probe(p)
			if err != nil {
				t.Fatal(err)
			}
			ref := fileSize(t, strings.TrimSuffix(p, ".bit")+".pcm")
			want := float64(ref/int64(2*info.Channels)) / float64(info.Rate)
			fh, _ := os.Open(p)
			defer fh.Close()
			m, _, err := f.Ingest(t.Context(), fh, UploadInfo{Name: name + ".mp3"})
			if err != nil {
				t.Fatal(err)
			}
			if d := m.Duration().Seconds(); math.Abs(d-want) > 0.05 {
				t.Errorf("item of %.3f s, the reference decode is %.3f s", d, want)
			}
			if _, err := audio.Verify(f.files.Path(m.SHA256), nil); err != nil {
				t.Errorf("the canonical file does not play: %v", err)
			}
			// The log says how it was converted.
			if !strings.Contains(logged.String(), "name="+name+".mp3") || !strings.Contains(logged.String(), `converted_by="loa MPEG decoder"`) {
				t.Errorf("log: %s", logged.String())
			}
		})
	}
	if tmp := f.tmp(t); len(tmp) != 0 {
		t.Errorf("conversions left %v", tmp)
	}
}
