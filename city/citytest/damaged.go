package citytest

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Damaged is one file that ffmpeg transcodes without complaint but that
// a ward refuses, and the words the refusal must contain.
type Damaged struct {
	Name, Path string
	Want       string
}

// DamagedMedia writes, in dir, the damaged uploads of issue 12, made with
// ffmpeg at test time:
//   - cut.mp3: a 30 s MP3 (Xing header) cut after 6 KB, which ffmpeg
//     turns into 0.4 s;
//   - (not returned) cut-noxing.mp3: the same without a Xing header, cut
//     in a frame: nothing claims a length, so it is a shorter MP3 whose
//     last frame is cut, which the wards play with a warning (every
//     complete frame), and so the city takes it;
//   - cut.m4a: a 30 s AAC in MP4 (index first) cut after 60 KB: only
//     ffprobe reads its claim;
//   - data-lie.wav: a 1 s WAV whose data chunk says 100 MB;
//   - rate-lie.wav: an 88 KB WAV whose header gives 8 Hz, so that ffmpeg
//     makes 1:31:52 of it.
func DamagedMedia(t testing.TB, dir string) []Damaged {
	t.Helper()
	ff := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	cut := func(src, dst string, n int) string {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil || len(b) < n {
			t.Fatalf("cut %s: %v (%d bytes)", src, err, len(b))
		}
		dst = filepath.Join(dir, dst)
		if err := os.WriteFile(dst, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	tone := "sine=frequency=440:duration=30:sample_rate=44100"
	full := filepath.Join(dir, "full-30s.mp3")
	ff("-f", "lavfi", "-i", tone, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k", full)
	noXing := filepath.Join(dir, "full-30s-noxing.mp3")
	ff("-f", "lavfi", "-i", tone, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0", noXing)
	m4a := filepath.Join(dir, "full-30s.m4a")
	ff("-f", "lavfi", "-i", tone, "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", m4a)

	wav := filepath.Join(dir, "tone-1s.wav")
	ff("-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=44100", "-ac", "1", wav)
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Index(b, []byte("data"))
	fmtc := bytes.Index(b, []byte("fmt "))
	if data < 0 || fmtc < 0 {
		t.Fatalf("%s: no fmt or data chunk", wav)
	}
	lie := bytes.Clone(b)
	binary.LittleEndian.PutUint32(lie[data+4:], 100_000_000)
	dataLie := filepath.Join(dir, "data-lie.wav")
	os.WriteFile(dataLie, lie, 0o644)
	// 44100 16-bit samples at 8 Hz: 5512.5 s.
	lie = bytes.Clone(b)
	binary.LittleEndian.PutUint32(lie[fmtc+8+4:], 8)
	binary.LittleEndian.PutUint32(lie[fmtc+8+8:], 16)
	rateLie := filepath.Join(dir, "rate-lie.wav")
	os.WriteFile(rateLie, lie, 0o644)

	cut(noXing, "cut-noxing.mp3", 100_000)
	return []Damaged{
		{"cut.mp3", cut(full, "cut.mp3", 6000), "MP3 is truncated"},
		{"cut.m4a", cut(m4a, "cut.m4a", 60_000), "but its header says 30.00 s"},
		{"data-lie.wav", dataLie, "WAV data chunk says"},
		{"rate-lie.wav", rateLie, "into 1:31:53 of audio (16 bytes a second"},
	}
}
