package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// toolsPath is a PATH folder holding the given programs: symbolic links to
// the real ones, or scripts.
func toolsPath(t *testing.T, links []string, scripts map[string]string) string {
	dir := t.TempDir()
	for _, name := range links {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it)", name)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A city without espeak-ng used to start, look healthy, and fail its first
// text alert with HTTP 500. It now refuses to start, says why in
// Vietnamese and English, and leaves nothing behind.
func TestCityRefusesToStartWithoutItsPrograms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  string
		wants []string
	}{
		{"no espeak-ng", toolsPath(t, []string{"ffmpeg"}, nil),
			[]string{"alerts.espeak: espeak-ng: không tìm thấy chương trình / program not found",
				"không đọc được cảnh báo bằng văn bản / text alerts cannot be spoken", "apt install espeak-ng"}},
		{"no Vietnamese voices", toolsPath(t, []string{"ffmpeg"}, map[string]string{"espeak-ng": "echo 'Pty Language       Age/Gender VoiceName          File                 Other Languages'\necho ' 5  vi              --/M      Vietnamese_(Northern) aav/vi'\n"}),
			[]string{"thiếu giọng đọc tiếng Việt vi-vn-x-central, vi-vn-x-south", "lacks the Vietnamese voices vi-vn-x-central, vi-vn-x-south"}},
		{"no ffmpeg", toolsPath(t, []string{"espeak-ng"}, nil),
			[]string{"ingest.ffmpeg: ffmpeg: không tìm thấy chương trình / program not found", "uploads cannot be transcoded", "apt install ffmpeg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "city.conf")
			os.WriteFile(conf, []byte("data: "+dir+"/data\nlisten: "+freePort(t)+"\n"), 0o600)
			cmd := exec.Command(filepath.Join(bin, "loa-city"), "run", "--config", conf)
			cmd.Env = append(os.Environ(), "PATH="+tc.path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if code := cmd.ProcessState.ExitCode(); code != 2 {
					t.Errorf("exit %d (%v), want 2", code, err)
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("loa-city started without its programs:\n%s", stderr.String())
			}
			out := stderr.String()
			for _, want := range append(tc.wants, "không khởi động", "not starting") {
				if !strings.Contains(out, want) {
					t.Errorf("stderr lacks %q:\n%s", want, out)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Error("the refused start made the data folder")
			}
		})
	}
}
