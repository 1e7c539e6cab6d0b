package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"loa/sqlite"
)

var day = time.Date(2026, 11, 26, 4, 0, 0, 0, time.FixedZone("ICT", 7*3600))

func TestProgramLoadAndShow(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/nhac-hieu.wav"), 44100, 660, 0.3, 1)
	writeTone(t, filepath.Join(dir, "media/ban-tin.wav"), 22050, 440, 0.5, 3)
	writeFile(t, filepath.Join(dir, "p.yaml"), `
programs:
  - id: ban-tin-sang
    title: Bản tin sáng
    cron: "30 5 * * *"
    chime: media/nhac-hieu.wav
    items: [media/ban-tin.wav]
  - id: thong-bao
    title: Thông báo
    date: 2026-11-26
    at: "17:00"
    items: [media/ban-tin.wav]
`)
	code, out, stderr := runCLI(t, day, "program", "load", filepath.Join(dir, "p.yaml"), "--data", data)
	if code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "2 chương trình") {
		t.Fatalf("load output: %s", out)
	}
	code, out, _ = runCLI(t, day, "program", "show", "--data", data)
	if code != 0 {
		t.Fatal(out)
	}
	for _, want := range []string{"Lịch phát sóng 26/11/2026", "05:30:00", "05:30:04", "ban-tin-sang", "Bản tin sáng", "17:00:00", "thong-bao"} {
		if !strings.Contains(out, want) {
			t.Fatalf("program show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, day, "program", "show", "--data", data, "--date", "2026-11-27", "--json")
	var js struct {
		Date     string          `json:"date"`
		Programs []TimelineEntry `json:"programs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil {
		t.Fatalf("show --json: %d %s", code, out)
	}
	if js.Date != "2026-11-27" || len(js.Programs) != 1 || js.Programs[0].ID != "ban-tin-sang" ||
		js.Programs[0].End.Sub(js.Programs[0].Start) != 4*time.Second || len(js.Programs[0].Items) != 2 {
		t.Fatalf("timeline of the 27th: %+v", js)
	}
	// The loaded program no longer needs its files.
	os.RemoveAll(filepath.Join(dir, "media"))
	code, out, _ = runCLI(t, day, "program", "show", "--data", data)
	if code != 0 || !strings.Contains(out, "ban-tin-sang") {
		t.Fatalf("after removing the media folder: %d %s", code, out)
	}
}

// snapshot is what a load must not change when it fails: the stored
// programs, the media rows and the files of the store.
func snapshot(t *testing.T, data string) string {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenAgent(ctx, filepath.Join(data, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srcs, _ := db.ProgramSources(ctx)
	media, _ := db.AllMedia(ctx)
	var b strings.Builder
	for _, s := range srcs {
		b.WriteString(s.Name + s.Path + string(s.Body) + s.Version + "\n")
	}
	for _, m := range media {
		b.WriteString(m.SHA256 + "\n")
	}
	var files []string
	filepath.Walk(filepath.Join(data, "media"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			body, _ := os.ReadFile(p)
			sum := sha256.Sum256(body)
			files = append(files, p+" "+hex.EncodeToString(sum[:]))
		}
		return nil
	})
	filepath.Walk(filepath.Join(data, "cache"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	b.WriteString(strings.Join(files, "\n"))
	return b.String()
}

func TestFailedLoadChangesNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/a.wav"), 44100, 440, 0.5, 2)
	writeTone(t, filepath.Join(dir, "media/b.wav"), 44100, 550, 0.5, 1)
	writeFile(t, filepath.Join(dir, "good.yaml"), `
programs:
  - id: a
    cron: "0 6 * * *"
    items: [media/a.wav]
`)
	if code, _, stderr := runCLI(t, day, "program", "load", filepath.Join(dir, "good.yaml"), "--data", data); code != 0 {
		t.Fatal(stderr)
	}
	before := snapshot(t, data)
	// New media (b.wav) that would be stored, and an overlap: b at 06:05
	// lasts 81 s (b.wav, then the stored a.wav 40 times: a long program
	// without a long new file to decode), c at 06:06 clashes with it.
	writeFile(t, filepath.Join(dir, "bad.yaml"), `
programs:
  - id: b
    cron: "5 6 * * *"
    items: [media/b.wav`+strings.Repeat(", media/a.wav", 40)+`]
  - id: c
    cron: "6 6 * * *"
    items: [media/a.wav]
`)
	code, _, stderr := runCLI(t, day, "program", "load", filepath.Join(dir, "bad.yaml"), "--data", data)
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	want := filepath.Join(dir, "bad.yaml") + `:5: programs "b" (line 2) and "c" (line 5) overlap on 2026-11-26 06:06–06:06:02 (Asia/Ho_Chi_Minh)`
	if strings.TrimSpace(stderr) != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if after := snapshot(t, data); after != before {
		t.Fatalf("a failed load changed the station:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// --check of a good file changes nothing either.
	writeFile(t, filepath.Join(dir, "other.yaml"), "programs:\n  - id: z\n    cron: \"0 9 * * *\"\n    items: [media/b.wav]\n")
	if code, out, _ := runCLI(t, day, "program", "load", "--check", filepath.Join(dir, "other.yaml"), "--data", data); code != 0 || !strings.Contains(out, "hợp lệ") {
		t.Fatalf("--check: %d %s", code, out)
	}
	if after := snapshot(t, data); after != before {
		t.Fatal("--check changed the station")
	}
	tmp, _ := os.ReadDir(filepath.Join(data, "tmp"))
	if len(tmp) != 0 {
		t.Fatalf("staging left behind: %v", tmp)
	}
}

// Every kind of broken media is refused at load with the file, line and a
// reason; nothing crashes.
func TestLoadRejectsCorruptMedia(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "media/good.wav"), 44100, 440, 0.5, 2)
	// A WAV whose data chunk claims far more than the file holds.
	good, _ := os.ReadFile(filepath.Join(dir, "media/good.wav"))
	lying := append([]byte{}, good[:2000]...)
	os.WriteFile(filepath.Join(dir, "media/lying.wav"), lying, 0o644)
	os.WriteFile(filepath.Join(dir, "media/zero.mp3"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "media/garbage.mp3"), []byte(strings.Repeat("this is not audio ", 5000)), 0o644)
	// An MP3 cut short (without a tag saying its length) is not here: it
	// loads with a warning (TestLoadTruncatedMP3Warns).
	cases := []string{"lying.wav", "zero.mp3", "garbage.mp3", "missing.mp3"}
	var yaml strings.Builder
	yaml.WriteString("programs:\n")
	for i, c := range cases {
		yaml.WriteString("  - id: p" + string(rune('a'+i)) + "\n    cron: \"" + string(rune('0'+i)) + " 6 * * *\"\n    items: [media/" + c + "]\n")
	}
	path := filepath.Join(dir, "p.yaml")
	writeFile(t, path, yaml.String())
	code, _, stderr := runCLI(t, day, "program", "load", path, "--data", filepath.Join(dir, "data"))
	if code != 2 {
		t.Fatalf("exit %d, want 2:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d errors for %d broken files:\n%s", len(lines), len(cases), stderr)
	}
	reasons := map[string]string{
		"lying.wav":   "WAV data chunk says",
		"zero.mp3":    "empty",
		"garbage.mp3": "not an audio file",
		"missing.mp3": "no such file",
	}
	for i, c := range cases {
		prefix := path + ":" + strconv.Itoa(4+3*i) + ": media media/" + c + ": "
		if !strings.HasPrefix(lines[i], prefix) {
			t.Fatalf("error %d = %q, want prefix %q", i, lines[i], prefix)
		}
		if r := reasons[c]; r != "" && !strings.Contains(lines[i], r) {
			t.Errorf("%s: %q does not say %q", c, lines[i], r)
		}
	}
}

// An MP3 cut inside its last frame (a phone recording stopped, an editor's
// export interrupted) loads: every complete frame plays, and program load
// prints a warning naming the file.
func TestLoadTruncatedMP3Warns(t *testing.T) {
	if _, err := exec.LookPath("lame"); err != nil {
		t.Skip("lame is not installed")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/tone.wav"), 48000, 440, 0.5, 2)
	mp3 := filepath.Join(dir, "media/whole.mp3")
	// 48 kHz 128 kbps without a tag frame: every frame is 384 bytes.
	if out, err := exec.Command("lame", "--quiet", "-t", "-b", "128", filepath.Join(dir, "media/tone.wav"), mp3).CombinedOutput(); err != nil {
		t.Fatalf("lame: %v %s", err, out)
	}
	b, _ := os.ReadFile(mp3)
	cut := filepath.Join(dir, "media/cut.mp3")
	os.WriteFile(cut, b[:40*384+50], 0o644)
	writeFile(t, filepath.Join(dir, "p.yaml"), "programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    items: [media/cut.mp3]\n")
	code, out, stderr := runCLI(t, day, "program", "load", filepath.Join(dir, "p.yaml"), "--data", data)
	if code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "đã nạp / loaded") {
		t.Errorf("load output: %s", out)
	}
	want := cut + ": cảnh báo / warning: MP3 bị cắt cụt: khung cuối, ở byte 15360, cần 384 byte nhưng tệp chỉ còn 50"
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "MP3 is truncated: the last frame, at byte 15360") {
		t.Errorf("stderr %q; want the warning %q…", stderr, want)
	}
}

// A program file is loaded one way (schedule.LoadFile), which reports
// every problem at once: a bad cron and two missing media are three errors
// through `program load`, its --check and render alike, and nothing is
// loaded.
func TestProgramLoadReportsEveryProblemOnEveryPath(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/co.wav"), 44100, 440, 0.5, 1)
	path := filepath.Join(dir, "p.yaml")
	writeFile(t, path, `
programs:
  - id: sang
    cron: "0 25 * * *"
    items: [media/co.wav]
  - id: trua
    cron: "0 11 * * *"
    items: [media/khong-co.wav]
  - id: chieu
    cron: "0 17 * * *"
    items: [media/cung-khong-co.wav]
`)
	var first []string
	for _, args := range [][]string{
		{"program", "load", path, "--data", data},
		{"program", "load", path, "--check", "--data", data},
		{"render", "--program", path, "--from", "2026-11-26 06:00:00", "--duration", "1s", "--out", filepath.Join(dir, "out.wav")},
	} {
		code, _, stderr := runCLI(t, day, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		t.Logf("%s: exit %d\n%s", strings.Join(args[:2], " "), code, stderr)
		if code != ExitInput || len(lines) != 3 {
			t.Fatalf("%s: exit %d, %d lines, want exit %d and the 3 problems:\n%s", strings.Join(args, " "), code, len(lines), ExitInput, stderr)
		}
		for i, want := range []string{
			path + `:3: bad cron "0 25 * * *": end of range (25) above maximum (23): 25`,
			path + ":7: media media/khong-co.wav: no such file",
			path + ":10: media media/cung-khong-co.wav: no such file",
		} {
			if lines[i] != want {
				t.Errorf("%s: line %d %q, want %q", args[0], i+1, lines[i], want)
			}
		}
		if first == nil {
			first = lines
		} else if strings.Join(lines, "\n") != strings.Join(first, "\n") {
			t.Errorf("%s reports\n%s\nwhere program load reports\n%s", strings.Join(args, " "), strings.Join(lines, "\n"), strings.Join(first, "\n"))
		}
	}
	if _, err := os.Stat(filepath.Join(data, "loa.db")); err == nil {
		db, err := sqlite.OpenAgent(context.Background(), filepath.Join(data, "loa.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if srcs, err := db.ProgramSources(context.Background()); err != nil || len(srcs) != 0 {
			t.Fatalf("program sources after a refused load: %+v, %v", srcs, err)
		}
	}
}
