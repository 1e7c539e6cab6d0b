package schedule

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dec1 is the instant overlap checks start from in these tests.
func dec1(t testing.TB) time.Time {
	return at(t, DefaultLocation(), "2026-12-01 00:00:00")
}

func TestOverlaps(t *testing.T) {
	const head = "programs:\n"
	tests := []struct {
		name string
		src  string
		want []string // empty: no overlap
	}{
		{"same minute every day", head +
			"  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3, b.mp3]\n" + // 05:30-05:45
			"  - id: b\n    cron: \"40 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:5: programs "a" (line 2) and "b" (line 5) overlap on 2026-12-01 05:40–05:45 (Asia/Ho_Chi_Minh)`}},
		{"back to back is allowed", head +
			"  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3, b.mp3]\n" + // 05:30-05:45
			"  - id: b\n    cron: \"45 5 * * *\"\n    items: [a.mp3]\n", nil},
		{"different priorities may overlap", head +
			"  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3, b.mp3]\n" +
			"  - id: b\n    cron: \"40 5 * * *\"\n    priority: urgent\n    items: [a.mp3]\n", nil},
		{"weekdays and weekends never meet", head +
			"  - id: a\n    cron: \"0 6 * * 1-5\"\n    items: [b.mp3]\n" +
			"  - id: b\n    cron: \"0 6 * * 6,0\"\n    items: [b.mp3]\n", nil},
		{"first clash months ahead", head +
			"  - id: a\n    cron: \"0 6 * * 1\"\n    items: [b.mp3]\n" + // Mondays
			"  - id: b\n    cron: \"5 6 1 * *\"\n    items: [b.mp3]\n", []string{ // the 1st; first Monday 1st is 2027-02-01
			`f.yaml:5: programs "a" (line 2) and "b" (line 5) overlap on 2027-02-01 06:05–06:10 (Asia/Ho_Chi_Minh)`}},
		{"duration caps the items", head +
			"  - id: a\n    cron: \"0 6 * * *\"\n    duration: 5m\n    items: [long.mp3]\n" +
			"  - id: b\n    cron: \"5 6 * * *\"\n    items: [a.mp3]\n", nil},
		{"relay lasts its duration", head +
			"  - id: a\n    cron: \"0 6 * * *\"\n    duration: 30m\n    relay: http://127.0.0.1:8000/vov.mp3\n" +
			"  - id: b\n    cron: \"29 6 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:6: programs "a" (line 2) and "b" (line 6) overlap on 2026-12-01 06:29–06:30 (Asia/Ho_Chi_Minh)`}},
		{"one-off against a daily program", head +
			"  - id: tet\n    date: 2027-02-06\n    at: \"06:55\"\n    items: [b.mp3]\n" +
			"  - id: daily\n    cron: \"0 7 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:6: programs "tet" (line 2) and "daily" (line 6) overlap on 2027-02-06 07:00–07:05 (Asia/Ho_Chi_Minh)`}},
		{"one-off in the past is not checked", head +
			"  - id: tet\n    date: 2026-02-06\n    at: \"06:55\"\n    items: [b.mp3]\n" +
			"  - id: daily\n    cron: \"0 7 * * *\"\n    items: [a.mp3]\n", nil},
		{"one-off beyond 366 days is not checked", head +
			"  - id: tet\n    date: 2028-02-06\n    at: \"06:55\"\n    items: [b.mp3]\n" +
			"  - id: daily\n    cron: \"0 7 * * *\"\n    items: [a.mp3]\n", nil},
		{"across midnight", head +
			"  - id: late\n    cron: \"50 23 * * *\"\n    items: [long.mp3]\n" +
			"  - id: early\n    cron: \"0 1 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:5: programs "late" (line 2) and "early" (line 5) overlap on 2026-12-01 01:00–01:05 (Asia/Ho_Chi_Minh)`}},
		{"clash across midnight", head +
			"  - id: late\n    cron: \"50 23 * * *\"\n    items: [long.mp3]\n" +
			"  - id: later\n    cron: \"55 23 * * *\"\n    items: [a.mp3, b.mp3]\n", []string{
			`f.yaml:5: programs "late" (line 2) and "later" (line 5) overlap on 2026-12-01 23:55–2026-12-02 00:10 (Asia/Ho_Chi_Minh)`}},
		{"a program longer than its period", head +
			"  - id: a\n    cron: \"*/10 * * * *\"\n    items: [long.mp3]\n", []string{
			`f.yaml:2: program "a" (line 2) overlaps its own next occurrence on 2026-12-01 00:00–01:50 (Asia/Ho_Chi_Minh)`}},
		{"every minute, each a minute long", head +
			"  - id: a\n    cron: \"* * * * *\"\n    duration: 1m\n    items: [a.mp3]\n", nil},
		{"clash ends with seconds", head +
			"  - id: a\n    cron: \"0 6 * * *\"\n    items: [chime.mp3]\n" +
			"  - id: b\n    cron: \"0 6 * * *\"\n    items: [chime.mp3]\n", []string{
			`f.yaml:5: programs "a" (line 2) and "b" (line 5) overlap on 2026-12-01 06:00–06:00:10 (Asia/Ho_Chi_Minh)`}},
		{"every pair once, each at the later line", head +
			"  - id: a\n    cron: \"0 6 * * *\"\n    items: [long.mp3]\n" + // 06:00-08:00
			"  - id: b\n    cron: \"0 7 * * *\"\n    items: [a.mp3]\n" +
			"  - id: c\n    cron: \"30 7 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:5: programs "a" (line 2) and "b" (line 5) overlap on 2026-12-01 07:00–07:05 (Asia/Ho_Chi_Minh)`,
			`f.yaml:8: programs "a" (line 2) and "c" (line 8) overlap on 2026-12-01 07:30–07:35 (Asia/Ho_Chi_Minh)`}},
		{"in the file's zone", "timezone: Europe/Berlin\n" + head +
			"  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3, b.mp3]\n" +
			"  - id: b\n    cron: \"40 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:6: programs "a" (line 3) and "b" (line 6) overlap on 2026-12-01 05:40–05:45 (Europe/Berlin)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustLoad(t, "f.yaml", tt.src, testMedia)
			err := f.CheckOverlaps(dec1(t))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			got := errorLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// In a DST zone, a daily layout that is fine on ordinary days clashes on the
// day the clocks go forward: 02:30 is shifted to 03:30 and meets the 03:15
// program.
func TestOverlapsOnDSTDay(t *testing.T) {
	src := "timezone: Europe/Berlin\nprograms:\n" +
		"  - id: night\n    cron: \"30 2 * * *\"\n    items: [a.mp3]\n" + // 02:30-02:35
		"  - id: early\n    cron: \"15 3 * * *\"\n    items: [long.mp3]\n" // 03:15-05:15
	f := mustLoad(t, "f.yaml", src, testMedia)
	got := errorLines(t, f.CheckOverlaps(dec1(t)))
	want := `f.yaml:6: programs "night" (line 3) and "early" (line 6) overlap on 2027-03-28 03:30–03:35 (Europe/Berlin)`
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestResolveErrors(t *testing.T) {
	src := "programs:\n" +
		"  - id: a\n    cron: \"0 6 * * *\"\n    chime: nhac-hieu.mp3\n    items:\n      - a.mp3\n      - missing.mp3\n" +
		"  - id: b\n    cron: \"0 7 * * *\"\n    duration: 30m\n    relay: http://127.0.0.1:8000/vov.mp3\n    fallback: [missing.mp3]\n"
	f, err := Parse("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := errorLines(t, f.Resolve(testMedia))
	want := []string{
		`f.yaml:4: media nhac-hieu.mp3: no such file`,
		`f.yaml:7: media missing.mp3: no such file`,
		`f.yaml:12: media missing.mp3: no such file`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := f.Resolve(testMedia); !errors.Is(err, errNoMedia) {
		t.Errorf("errors.Is(%v, errNoMedia) = false", err)
	}
	if a := f.Programs[0].Items[0]; a.Key != "sha256-a.mp3" || a.Duration != 5*time.Minute {
		t.Errorf("a.mp3 resolved to %+v", a)
	}
}

// A bad cron and two missing media are three errors, not the first one
// (the agent's `program load`, --check and render report the same three:
// agent.TestProgramLoadReportsEveryProblemOnEveryPath).
func TestLoadFileBadCronAndTwoMissingMedia(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	src := "programs:\n" +
		"  - id: sang\n    cron: \"0 25 * * *\"\n    items: [a.mp3]\n" +
		"  - id: trua\n    cron: \"0 11 * * *\"\n    items: [khong-co.mp3]\n" +
		"  - id: chieu\n    cron: \"0 17 * * *\"\n    items: [cung-khong-co.mp3]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path, testMedia, dec1(t))
	if f != nil {
		t.Error("LoadFile returned a file despite errors")
	}
	want := []string{
		path + `:3: bad cron "0 25 * * *": end of range (25) above maximum (23): 25`,
		path + `:7: media khong-co.mp3: no such file`,
		path + `:10: media cung-khong-co.mp3: no such file`,
	}
	if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// prefetchRecorder is a resolver that records what LoadFile prefetched.
type prefetchRecorder struct {
	mapResolver
	base string
	refs []string
	err  error
}

func (p *prefetchRecorder) Prefetch(base string, refs []string) error {
	p.base, p.refs = base, refs
	return p.err
}

// A resolver that can prefetch is given every distinct reference of the
// file at once, before any is resolved; its error stops the load.
func TestLoadFilePrefetches(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	src := "programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    chime: a.mp3\n    items: [b.mp3, a.mp3]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &prefetchRecorder{mapResolver: testMedia}
	f, err := LoadFile(path, r, dec1(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.base != dir || strings.Join(r.refs, ",") != "a.mp3,b.mp3" {
		t.Errorf("prefetched %q in %s, want a.mp3,b.mp3 in %s", r.refs, r.base, dir)
	}
	if string(f.Body) != src {
		t.Errorf("Body %q, want the file's text", f.Body)
	}
	stop := errors.New("interrupted")
	r.err = stop
	if f, err := LoadFile(path, r, dec1(t)); f != nil || err != stop {
		t.Errorf("LoadFile with a failing prefetch = %v, %v; want nil, its error", f, err)
	}
}

// LoadFile reports field errors, media errors and overlaps in one pass.
func TestLoadFileAllErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chuong-trinh.yaml")
	src := "programs:\n" +
		"  - id: a\n    cron: \"0 6 * * *\"\n    volume: 150\n    items: [a.mp3]\n" +
		"  - id: b\n    cron: \"0 7 * * *\"\n    items: [missing.mp3]\n" +
		"  - id: c\n    cron: \"0 8 * * *\"\n    items: [b.mp3]\n" +
		"  - id: d\n    cron: \"5 8 * * *\"\n    items: [b.mp3]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path, testMedia, dec1(t))
	if f != nil {
		t.Error("LoadFile returned a file despite errors")
	}
	want := []string{
		path + `:4: volume 150 is out of range 0 to 100`,
		path + `:8: media missing.mp3: no such file`,
		path + `:12: programs "c" (line 9) and "d" (line 12) overlap on 2026-12-01 08:05–08:10 (Asia/Ho_Chi_Minh)`,
	}
	got := errorLines(t, err)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A good file loads.
	good := "programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    items: [a.mp3]\n"
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err = LoadFile(path, testMedia, dec1(t))
	if err != nil || len(f.Programs) != 1 || f.Programs[0].Items[0].Duration != 5*time.Minute {
		t.Fatalf("LoadFile(good) = %v, %v", f, err)
	}

	// A file that is not there.
	_, err = LoadFile(filepath.Join(dir, "nope.yaml"), testMedia, dec1(t))
	got = errorLines(t, err)
	if len(got) != 1 || got[0] != filepath.Join(dir, "nope.yaml")+": cannot read: no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %q", got)
	}
}

// fileResolver is a stand-in for the audio package's prober: the file must
// exist, be readable and start like a WAV or MP3 file. It reads a WAV's
// duration from its header and gives an MP3 one minute.
type fileResolver struct{}

var errNotAudio = errors.New("not an audio file (no RIFF/WAVE, ID3 or MPEG frame header)")

func (fileResolver) Resolve(baseDir, ref string) (Media, error) {
	path := ref
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, ref)
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return Media{}, pe.Err
		}
		return Media{}, err
	}
	defer f.Close()
	var head [44]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return Media{}, pe.Err
		}
		return Media{}, err
	}
	h := head[:n]
	switch {
	case n >= 44 && bytes.Equal(h[0:4], []byte("RIFF")) && bytes.Equal(h[8:12], []byte("WAVE")):
		byteRate := binary.LittleEndian.Uint32(h[28:32])
		size := binary.LittleEndian.Uint32(h[40:44])
		if byteRate == 0 {
			return Media{}, errNotAudio
		}
		return Media{Key: "wav:" + ref, Duration: time.Duration(size) * time.Second / time.Duration(byteRate)}, nil
	case n >= 3 && bytes.Equal(h[0:3], []byte("ID3")), n >= 2 && h[0] == 0xFF && h[1]&0xE0 == 0xE0:
		return Media{Key: "mp3:" + ref, Duration: time.Minute}, nil
	}
	return Media{}, errNotAudio
}

// writeWAV writes d of 16-bit mono silence at 8 kHz.
func writeWAV(t *testing.T, path string, d time.Duration) {
	t.Helper()
	const rate = 8000
	data := int(d.Seconds() * rate * 2)
	var b bytes.Buffer
	b.WriteString("RIFF")
	le := binary.LittleEndian
	b.Write(le.AppendUint32(nil, uint32(36+data)))
	b.WriteString("WAVEfmt ")
	b.Write(le.AppendUint32(nil, 16))     // fmt chunk size
	b.Write(le.AppendUint16(nil, 1))      // PCM
	b.Write(le.AppendUint16(nil, 1))      // mono
	b.Write(le.AppendUint32(nil, rate))   // sample rate
	b.Write(le.AppendUint32(nil, rate*2)) // byte rate
	b.Write(le.AppendUint16(nil, 2))      // block align
	b.Write(le.AppendUint16(nil, 16))     // bits per sample
	b.WriteString("data")
	b.Write(le.AppendUint32(nil, uint32(data)))
	b.Write(make([]byte, data))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Media problems on real files: missing, unreadable, not audio.
func TestResolveRealFiles(t *testing.T) {
	dir := t.TempDir()
	media := filepath.Join(dir, "media")
	if err := os.Mkdir(media, 0o755); err != nil {
		t.Fatal(err)
	}
	writeWAV(t, filepath.Join(media, "ban-tin.wav"), 3*time.Second)
	writeWAV(t, filepath.Join(media, "khoa.wav"), time.Second)
	if err := os.WriteFile(filepath.Join(media, "ghi-chu.mp3"), []byte("Đây là văn bản, không phải âm thanh.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory where a file should be: it opens, but cannot be read.
	if err := os.Mkdir(filepath.Join(media, "thu-muc.wav"), 0o755); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(media, "khoa.wav")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o644) })
	// root reads files whatever their mode.
	unreadable := true
	if fh, err := os.Open(locked); err == nil {
		fh.Close()
		unreadable = false
	}

	path := filepath.Join(dir, "p.yaml")
	src := "programs:\n" +
		"  - id: a\n    cron: \"0 6 * * *\"\n    items:\n" +
		"      - media/ban-tin.wav\n" +
		"      - media/khong-co.wav\n" +
		"      - media/ghi-chu.mp3\n" +
		"      - media/khoa.wav\n" +
		"      - media/thu-muc.wav\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path, fileResolver{}, dec1(t))
	want := []string{
		path + ":6: media media/khong-co.wav: no such file or directory",
		path + ":7: media media/ghi-chu.mp3: not an audio file (no RIFF/WAVE, ID3 or MPEG frame header)",
	}
	if unreadable {
		want = append(want, path+":8: media media/khoa.wav: permission denied")
	}
	want = append(want, path+":9: media media/thu-muc.wav: is a directory")
	got := errorLines(t, err)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !unreadable {
		t.Log("running as root: the chmod 000 file is readable, its case is skipped")
	}

	// The good file's duration reaches the timeline.
	os.WriteFile(path, []byte("programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    items: [media/ban-tin.wav]\n"), 0o644)
	f, err := LoadFile(path, fileResolver{}, dec1(t))
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil, Source{Name: "local", File: f})
	tl := s.Timeline(mustDate(t, "2026-12-01"))
	if len(tl) != 1 || tl[0].End.Sub(tl[0].Start) != 3*time.Second {
		t.Errorf("timeline %s", describe(tl, s.Location()))
	}
}
