package library

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an executable shell script called name in dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckTools: every missing or unfit program is reported, each with
// the configuration key, what fails without it (Vietnamese and English)
// and how to install it; the real ffmpeg and espeak-ng pass.
func TestCheckTools(t *testing.T) {
	if err := CheckTools(t.Context(), Config{FFmpeg: "ffmpeg", Espeak: "espeak-ng"}); err != nil {
		t.Fatalf("the installed programs: %v", err)
	}
	dir := t.TempDir()
	noLame := script(t, dir, "ffmpeg-nolame", `echo " A....D aac  AAC (Advanced Audio Coding)"`)
	fewVoices := script(t, dir, "espeak-few", `echo "Pty Language Age/Gender VoiceName File Other Languages"; echo " 5  vi  --/M  Vietnamese_(Northern) aav/vi"`)
	broken := script(t, dir, "broken", `echo "cannot load library" >&2; exit 1`)
	missing := filepath.Join(dir, "not-there")

	type want struct{ key, program, problem, fix string }
	cases := []struct {
		name   string
		cfg    Config
		want   []want
		noWant string
	}{
		{"no libmp3lame", Config{FFmpeg: noLame, Espeak: "espeak-ng"},
			[]want{{"ingest.ffmpeg", noLame, "không có bộ mã hoá MP3 libmp3lame, không chuyển mã được tệp tải lên / cannot encode MP3 (no libmp3lame): uploads cannot be transcoded", "apt install ffmpeg"}}, ""},
		{"missing voices", Config{FFmpeg: "ffmpeg", Espeak: fewVoices},
			[]want{{"alerts.espeak", fewVoices, "thiếu giọng đọc tiếng Việt vi-vn-x-central, vi-vn-x-south, không đọc được cảnh báo bằng văn bản / lacks the Vietnamese voices vi-vn-x-central, vi-vn-x-south: text alerts cannot be spoken", "apt install espeak-ng espeak-ng-data"}}, ""},
		{"both missing", Config{FFmpeg: missing, Espeak: missing + "-es"},
			[]want{
				{"ingest.ffmpeg", missing, "không tìm thấy chương trình / program not found: không chuyển mã được tệp tải lên / uploads cannot be transcoded", "cài / install: apt install ffmpeg"},
				{"alerts.espeak", missing + "-es", "không tìm thấy chương trình / program not found: không đọc được cảnh báo bằng văn bản / text alerts cannot be spoken", "cài / install: apt install espeak-ng"},
			}, ""},
		{"does not run", Config{FFmpeg: broken, Espeak: "espeak-ng"},
			[]want{{"ingest.ffmpeg", broken, "chương trình không chạy được / program does not run (" + broken + " -hide_banner -encoders: exit status 1: cannot load library): không chuyển mã được tệp tải lên / uploads cannot be transcoded", "apt install ffmpeg"}}, "alerts.espeak"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckTools(t.Context(), c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			var got []*ToolError
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var te *ToolError
				if !errors.As(e, &te) {
					t.Fatalf("not a ToolError: %v", e)
				}
				got = append(got, te)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%d problems, want %d: %v", len(got), len(c.want), err)
			}
			for i, w := range c.want {
				g := got[i]
				if g.Key != w.key || g.Program != w.program || g.Problem != w.problem || !strings.Contains(g.Fix, w.fix) {
					t.Errorf("problem %d:\n got %+v\nwant %+v", i, *g, w)
				}
				if !strings.HasPrefix(g.Error(), w.key+": "+w.program+": ") {
					t.Errorf("message %q does not start with the key and the program", g.Error())
				}
			}
			if c.noWant != "" && strings.Contains(err.Error(), c.noWant) {
				t.Errorf("reports %s too: %v", c.noWant, err)
			}
		})
	}
}
