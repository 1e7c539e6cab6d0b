package city_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"loa/audio"
	"loa/city/api"
	"loa/city/citytest"
)

// storeState lists what is in the media store and its tmp folder.
func storeState(t *testing.T, c *citytest.City) (keys []string, tmp []string) {
	t.Helper()
	keys, err := c.Store.Keys()
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(c.Store.Dir, "tmp"))
	for _, e := range entries {
		tmp = append(tmp, e.Name())
	}
	return keys, tmp
}

func TestUploadCanonicalFormat(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	// A 48 kHz FLAC upload: a 997 Hz sine of amplitude 0.1, 10 s.
	src := filepath.Join(dir, "ban-tin.flac")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*997*t):s=48000:d=10",
		src).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	m := c.Upload(t, src, "ban-tin.flac")
	if !m.Created || m.Title != "ban-tin" || m.OriginalName != "ban-tin.flac" || len(m.Names) != 1 || m.Names[0] != "ban-tin.flac" {
		t.Errorf("item %+v", m)
	}
	path := c.Store.Path(m.SHA256)
	info, err := audio.Probe(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "mp3" || info.Rate != 44100 || info.Channels != 1 {
		t.Errorf("canonical file is %+v", info)
	}
	if math.Abs(m.DurationSeconds-10) > 0.01 {
		t.Errorf("duration %.3f s, want 10", m.DurationSeconds)
	}
	// 64 kbps CBR: 8000 bytes a second, plus the Info frame.
	if want := 10 * 8000; m.Size < int64(want) || m.Size > int64(want)+2000 {
		t.Errorf("size %d, want about %d (64 kbps)", m.Size, want)
	}
	// Every frame header says MPEG-1 Layer III, 64 kbps, mono (0xFFFB 0x50 0xC0..).
	data, _ := os.ReadFile(path)
	if data[0] != 0xff || data[1] != 0xfb || data[2]>>4 != 0x5 || data[3]>>6 != 3 {
		t.Errorf("first frame header % x: want MPEG-1 Layer III 64 kbps mono", data[:4])
	}
	// Loudness is measured on the canonical file, as the wards play it.
	// The source reads -23.01 LUFS (BS.1770: a 0 dBFS 997 Hz sine in one
	// channel reads -3.01); LAME takes about 0.45 dB off (at any bitrate).
	// ffmpeg's ebur128 filter on the canonical file is the reference.
	want := ebur128(t, path)
	if m.LoudnessLUFS == nil {
		t.Error("no loudness")
	} else if math.Abs(*m.LoudnessLUFS-want) > 0.1 || math.Abs(*m.LoudnessLUFS+23.01) > 0.6 {
		t.Errorf("loudness %.2f LUFS, ffmpeg says %.1f (source -23.01)", *m.LoudnessLUFS, want)
	}
	if math.Abs(m.TruePeakDBTP+20) > 0.6 {
		t.Errorf("true peak %.2f dBTP, want about -20", m.TruePeakDBTP)
	}

	// The wards' decoder plays the canonical file sample-aligned with
	// mpg123 (the reference audio/decode_test.go uses), to the same length,
	// with its differences below -66 dBFS.
	s, _, err := audio.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ours []float64
	buf := make([][2]float64, 4096)
	for {
		n, ok := s.Stream(buf)
		for _, f := range buf[:n] {
			ours = append(ours, f[0])
		}
		if !ok {
			break
		}
	}
	if _, err := exec.LookPath("mpg123"); err != nil {
		t.Skip("mpg123 not installed")
	}
	raw, err := exec.Command("mpg123", "-q", "-s", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	ref := make([]int16, len(raw)/2)
	binary.Read(bytes.NewReader(raw), binary.LittleEndian, ref)
	if len(ref) != len(ours) {
		t.Fatalf("decoded %d frames, mpg123 %d", len(ours), len(ref))
	}
	var noise float64
	for i := range ours {
		d := ours[i] - float64(ref[i])/32768
		noise += d * d
	}
	if db := 10 * math.Log10(noise/float64(len(ours))); db > -66 {
		t.Errorf("our decode differs from mpg123's by %.1f dBFS rms, want below -66", db)
	}
}

// ebur128 returns ffmpeg's integrated loudness of a file.
func ebur128(t *testing.T, path string) float64 {
	out, err := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", path, "-af", "ebur128", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v", err)
	}
	m := regexp.MustCompile(`(?s)Integrated loudness:\s+I:\s+(-?[0-9.]+) LUFS`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no loudness in ffmpeg's output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestUploadSameContent(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	wav := citytest.Tone(t, dir, "a.wav", 2, 440)
	first := c.Upload(t, wav, "a.wav")
	again := c.Upload(t, wav, "a.wav")
	if again.Created || again.SHA256 != first.SHA256 {
		t.Errorf("second upload: created %v, %s vs %s", again.Created, again.SHA256, first.SHA256)
	}
	// The same file under another name: the same item, with both names.
	renamed := c.Upload(t, wav, "thong-bao.wav")
	if renamed.Created || renamed.SHA256 != first.SHA256 || strings.Join(renamed.Names, ",") != "a.wav,thong-bao.wav" {
		t.Errorf("renamed upload: %+v", renamed)
	}
	// The same audio in another container transcodes to the same bytes.
	flac := filepath.Join(dir, "a.flac")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", wav, flac).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	fromFlac := c.Upload(t, flac, "a.flac")
	if fromFlac.Created || fromFlac.SHA256 != first.SHA256 {
		t.Errorf("FLAC of the same audio: created %v, %s vs %s", fromFlac.Created, fromFlac.SHA256, first.SHA256)
	}
	keys, _ := storeState(t, c)
	if len(keys) != 1 {
		t.Errorf("%d files in the store, want 1", len(keys))
	}
}

func TestUploadNameTaken(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	old := c.Upload(t, citytest.Tone(t, dir, "a.wav", 1, 440), "ban-tin.wav")
	f, _ := os.Open(citytest.Tone(t, dir, "b.wav", 1, 660))
	status, body, _ := c.Do(t, "POST", "/api/v1/media?name=ban-tin.wav", c.Operator, f)
	f.Close()
	if status != http.StatusConflict || !strings.Contains(string(body), old.SHA256) {
		t.Fatalf("%d %s, want 409 naming %s", status, body, old.SHA256)
	}
	keys, _ := storeState(t, c)
	if len(keys) != 1 {
		t.Errorf("refused upload left %d files in the store", len(keys))
	}
	f, _ = os.Open(filepath.Join(dir, "b.wav"))
	status, body, _ = c.Do(t, "POST", "/api/v1/media?name=ban-tin.wav&replace=true", c.Operator, f)
	f.Close()
	var m api.Media
	json.Unmarshal(body, &m)
	if status != 201 || m.SHA256 == old.SHA256 {
		t.Fatalf("replace: %d %s", status, body)
	}
	status, body, _ = c.Do(t, "GET", "/api/v1/media", c.Operator, nil)
	var all []api.Media
	json.Unmarshal(body, &all)
	if len(all) != 2 {
		t.Fatalf("%d items", len(all))
	}
	for _, it := range all {
		if it.SHA256 == old.SHA256 && len(it.Names) != 0 || it.SHA256 == m.SHA256 && strings.Join(it.Names, ",") != "ban-tin.wav" {
			t.Errorf("after replace: %s has names %v", it.SHA256, it.Names)
		}
	}
}

func TestUploadNotAudio(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	png := filepath.Join(dir, "red.png")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=red:s=16x16", "-frames:v", "1", png).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	video := filepath.Join(dir, "silent-video.mp4")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=red:s=16x16:d=1", video).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	playlist := filepath.Join(dir, "evil.m3u8")
	os.WriteFile(playlist, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"), 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("Thông báo: họp tổ dân phố lúc 19:00.\n"), 0o644)
	empty := filepath.Join(dir, "empty.mp3")
	os.WriteFile(empty, nil, 0o644)
	truncated := filepath.Join(dir, "cut.wav")
	wav, _ := os.ReadFile(citytest.Tone(t, dir, "whole.wav", 1, 440))
	os.WriteFile(truncated, wav[:40], 0o644) // the header only

	for _, tc := range []struct{ file, want string }{
		{text, "not an audio file"},
		{png, "not an audio file"},
		{video, "no audio stream"},
		{playlist, "not an audio file"},
		{empty, "empty"},
		{truncated, "audio"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			f, _ := os.Open(tc.file)
			defer f.Close()
			status, body, _ := c.Do(t, "POST", "/api/v1/media?name="+filepath.Base(tc.file), c.Operator, f)
			var e api.Error
			json.Unmarshal(body, &e)
			if status != http.StatusUnprocessableEntity || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("%d %s, want 422 containing %q", status, body, tc.want)
			}
			if strings.Contains(e.Error, c.Store.Dir) {
				t.Errorf("the reason shows a server path: %s", e.Error)
			}
		})
	}
	keys, tmp := storeState(t, c)
	if len(keys) != 0 || len(tmp) != 0 {
		t.Errorf("refused uploads left files: store %v, tmp %v", keys, tmp)
	}
	status, body, _ := c.Do(t, "GET", "/api/v1/media", c.Operator, nil)
	if status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("library after refused uploads: %s", body)
	}
}

func TestUploadBadNames(t *testing.T) {
	c := citytest.New(t)
	for _, name := range []string{"", "..", "a/b.wav", strings.Repeat("a", 64), "x%00y"} {
		status, body, _ := c.Do(t, "POST", "/api/v1/media?name="+name, c.Operator, strings.NewReader("x"))
		if status != 400 {
			t.Errorf("name %q: %d %s, want 400", name, status, body)
		}
	}
}

func TestResumableUpload(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	data, _ := os.ReadFile(citytest.Tone(t, dir, "long.wav", 5, 440))
	size := len(data)
	status, body, h := c.Do(t, "POST", "/api/v1/uploads?name=long.wav&size="+strconv.Itoa(size), c.Operator, nil)
	var up api.Upload
	json.Unmarshal(body, &up)
	if status != 201 || up.ID == "" || h.Get("Location") != "/api/v1/uploads/"+up.ID {
		t.Fatalf("%d %s", status, body)
	}
	path := "/api/v1/uploads/" + up.ID
	half := size / 2
	status, body, _ = c.Do(t, "PATCH", path, c.Operator, bytes.NewReader(data[:half]), "Upload-Offset", "0")
	if status != 200 {
		t.Fatalf("first half: %d %s", status, body)
	}
	// Another user cannot touch it.
	if status, _, _ := c.Do(t, "GET", path, c.Admin, nil); status != 200 {
		t.Errorf("admin reads an upload: %d", status)
	}
	other, _ := c.AddUser(t.Context(), "other", "operator")
	if status, _, _ := c.Do(t, "PATCH", path, other, bytes.NewReader(data[half:]), "Upload-Offset", strconv.Itoa(half)); status != 403 {
		t.Errorf("another operator appends: %d", status)
	}
	// The client lost track: it asks where to resume.
	status, body, _ = c.Do(t, "GET", path, c.Operator, nil)
	json.Unmarshal(body, &up)
	if status != 200 || up.Offset != int64(half) {
		t.Fatalf("offset: %d %s", status, body)
	}
	status, body, h = c.Do(t, "PATCH", path, c.Operator, bytes.NewReader(data[10:]), "Upload-Offset", "10")
	if status != http.StatusConflict || h.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Errorf("wrong offset: %d %s", status, body)
	}
	status, body, _ = c.Do(t, "PATCH", path, c.Operator, bytes.NewReader(data[half:]), "Upload-Offset", strconv.Itoa(half))
	var m api.Media
	json.Unmarshal(body, &m)
	if status != 201 || !m.Created || math.Abs(m.DurationSeconds-5) > 0.01 {
		t.Fatalf("completing PATCH: %d %s", status, body)
	}
	// Same bytes in one request: the same item.
	direct := c.Upload(t, filepath.Join(dir, "long.wav"), "long.wav")
	if direct.SHA256 != m.SHA256 {
		t.Errorf("resumed upload %s, direct %s", m.SHA256, direct.SHA256)
	}
	if status, _, _ := c.Do(t, "GET", path, c.Operator, nil); status != 404 {
		t.Errorf("finished upload still there: %d", status)
	}
	_, tmp := storeState(t, c)
	if len(tmp) != 0 {
		t.Errorf("tmp after upload: %v", tmp)
	}
	// A forgotten upload expires.
	status, body, _ = c.Do(t, "POST", "/api/v1/uploads?name=y.wav&size=100", c.Operator, nil)
	json.Unmarshal(body, &up)
	c.Do(t, "PATCH", "/api/v1/uploads/"+up.ID, c.Operator, strings.NewReader("abc"), "Upload-Offset", "0")
	now := time.Now().Add(25 * time.Hour)
	c.Now = func() time.Time { return now }
	if err := c.Library.ExpireUploads(t.Context()); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/uploads/"+up.ID, c.Operator, nil); status != 404 {
		t.Errorf("expired upload: %d", status)
	}
	// An abandoned upload.
	status, body, _ = c.Do(t, "POST", "/api/v1/uploads?name=x.wav&size=100", c.Operator, nil)
	json.Unmarshal(body, &up)
	if status, _, _ := c.Do(t, "DELETE", "/api/v1/uploads/"+up.ID, c.Operator, nil); status != 204 {
		t.Errorf("DELETE upload: %d", status)
	}
	if _, tmp := storeState(t, c); len(tmp) != 0 {
		t.Errorf("tmp after DELETE: %v", tmp)
	}
	for _, bad := range []string{"size=0", "size=x", "size=" + fmt.Sprint(int64(1)<<50)} {
		if status, _, _ := c.Do(t, "POST", "/api/v1/uploads?name=a.wav&"+bad, c.Operator, nil); status != 400 && status != 413 {
			t.Errorf("%s: %d", bad, status)
		}
	}
}

// TestUploadDamaged: files ffmpeg transcodes without complaint but the
// wards refuse (issue 12: a truncated MP3 became a 0.34 s item, a lying
// 88 KB WAV a 1:31:52 item of 44 MB) are refused with a 422 that names
// the file and the reason, in Vietnamese and English, and nothing is
// stored.
func TestUploadDamaged(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	for _, d := range citytest.DamagedMedia(t, dir) {
		t.Run(d.Name, func(t *testing.T) {
			f, err := os.Open(d.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			status, body, _ := c.Do(t, "POST", "/api/v1/media?name="+d.Name, c.Operator, f)
			var e api.Error
			json.Unmarshal(body, &e)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s, want 422", status, body)
			}
			t.Logf("422: %s", e.Error)
			for _, want := range []string{d.Name + ": ", "tệp âm thanh hỏng", "the wards would refuse", d.Want} {
				if !strings.Contains(e.Error, want) {
					t.Errorf("error %q: want %q in it", e.Error, want)
				}
			}
			if strings.Contains(e.Error, c.Store.Dir) {
				t.Errorf("the reason shows a server path: %s", e.Error)
			}
		})
	}
	keys, tmp := storeState(t, c)
	if len(keys) != 0 || len(tmp) != 0 {
		t.Errorf("refused uploads left files: store %v, tmp %v", keys, tmp)
	}
	status, body, _ := c.Do(t, "GET", "/api/v1/media", c.Operator, nil)
	if status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("library after refused uploads: %s", body)
	}
	// An MP3 cut inside a frame with no header claiming a length is a
	// shorter MP3 whose last frame is cut: the wards play every complete
	// frame (with a warning), so the city takes it too.
	if m := c.Upload(t, filepath.Join(dir, "cut-noxing.mp3"), "cut-noxing.mp3"); m.DurationSeconds < 6 || m.DurationSeconds > 6.5 {
		t.Errorf("cut-noxing.mp3: %.3f s, want the 6.2 s of its complete frames", m.DurationSeconds)
	}
	// The whole files they were cut from are fine.
	for _, name := range []string{"full-30s.mp3", "full-30s-noxing.mp3", "full-30s.m4a", "tone-1s.wav"} {
		m := c.Upload(t, filepath.Join(dir, name), name)
		want := 30.0
		if name == "tone-1s.wav" {
			want = 1
		}
		if math.Abs(m.DurationSeconds-want) > 0.1 {
			t.Errorf("%s: %.3f s, want %.0f", name, m.DurationSeconds, want)
		}
	}
}

// TestUploadMPEGLayersAndAwkwardMP3 uploads what the wards do not decode
// themselves, MPEG Layer II (MP2, common in broadcast archives) and
// Layer I, and awkward Layer III streams of the ISO compliance set
// (intensity stereo and a mode switch, a cut last frame, free format):
// the city transcodes each to the canonical MP3. Free-format streams,
// which ffmpeg cannot read, are decoded by the wards' own decoder first
// (library/convert.go).
func TestUploadMPEGLayersAndAwkwardMP3(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	mp2 := filepath.Join(dir, "luu-tru.mp2")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*997*t):s=48000:d=3",
		"-c:a", "mp2", "-b:a", "192k", "-f", "mp2", mp2).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	files := []struct {
		path    string
		seconds float64
	}{{mp2, 3}}
	// The ISO/IEC 11172-4 streams, in ../shared beside the repository
	// (or beside the folder of worktrees it is in).
	for _, iso := range []string{"../../shared/mp3-compliance", "../../../shared/mp3-compliance"} {
		if _, err := os.Stat(iso); err == nil {
			for _, n := range []string{"l1-fl1", "l2-fl10", "l3-he_mode", "l3-compl", "l3-he_free", "l2-nonstandard-free_format"} {
				files = append(files, struct {
					path    string
					seconds float64
				}{filepath.Join(iso, n+".bit"), 0})
			}
			break
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			m := c.Upload(t, f.path, filepath.Base(f.path))
			info, err := audio.Probe(c.Store.Path(m.SHA256))
			if err != nil {
				t.Fatal(err)
			}
			if info.Codec != "mp3" || info.Rate != 44100 || info.Channels != 1 || len(info.Warnings) != 0 {
				t.Errorf("canonical file is %+v", info)
			}
			if m.DurationSeconds < 0.5 || f.seconds > 0 && math.Abs(m.DurationSeconds-f.seconds) > 0.05 {
				t.Errorf("duration %.3f s, want %g", m.DurationSeconds, f.seconds)
			}
		})
	}
}
