package library

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"loa/alert"
)

// ToolError is an outside program the configuration needs that is missing
// or cannot do its job. loa-city run refuses to start with it: a city that
// starts without espeak-ng looks healthy until its first text alert fails.
type ToolError struct {
	Key     string // the configuration key naming the program
	Program string
	Problem string // Vietnamese / English
	Fix     string
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("%s: %s: %s; %s", e.Key, e.Program, e.Problem, e.Fix)
}

// CheckTools checks every outside program cfg names: ffmpeg (ingest, the
// alert chime) can encode MP3 with libmp3lame, and espeak-ng (text alerts)
// runs and has the Vietnamese voices alerts may ask for. It returns every
// problem found, joined.
func CheckTools(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var errs []error
	ff := cfg.FFmpeg
	if out, err := runTool(ctx, ff, "-hide_banner", "-encoders"); err != nil {
		errs = append(errs, toolMissing("ingest.ffmpeg", ff, "ffmpeg", err))
	} else if !bytes.Contains(out, []byte(" libmp3lame ")) {
		errs = append(errs, &ToolError{Key: "ingest.ffmpeg", Program: ff,
			Problem: "không có bộ mã hoá MP3 libmp3lame, không chuyển mã được tệp tải lên / cannot encode MP3 (no libmp3lame): uploads cannot be transcoded",
			Fix:     "cài ffmpeg của Debian / install Debian's ffmpeg: apt install ffmpeg"})
	}
	es := cfg.Espeak
	if out, err := runTool(ctx, es, "--voices=vi"); err != nil {
		errs = append(errs, toolMissing("alerts.espeak", es, "espeak-ng", err))
	} else {
		have := map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			// "Pty Language Age/Gender VoiceName File Other": the language
			// is the voice name alerts use.
			if f := strings.Fields(line); len(f) > 1 {
				have[strings.ToLower(f[1])] = true
			}
		}
		var missing []string
		for _, v := range alert.Voices {
			if !have[v] {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, &ToolError{Key: "alerts.espeak", Program: es,
				Problem: "thiếu giọng đọc tiếng Việt " + strings.Join(missing, ", ") + ", không đọc được cảnh báo bằng văn bản / lacks the Vietnamese voices " + strings.Join(missing, ", ") + ": text alerts cannot be spoken",
				Fix:     "cài / install: apt install espeak-ng espeak-ng-data"})
		}
	}
	return errors.Join(errs...)
}

// runTool runs a program briefly and returns its standard output.
func runTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, err
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w%s", name, strings.Join(args, " "), err, tail(stderr.String()))
	}
	return out.Bytes(), nil
}

func toolMissing(key, program, pkg string, err error) *ToolError {
	uses := map[string]string{
		"ffmpeg":    "không chuyển mã được tệp tải lên / uploads cannot be transcoded",
		"espeak-ng": "không đọc được cảnh báo bằng văn bản / text alerts cannot be spoken",
	}[pkg]
	problem := "không tìm thấy chương trình / program not found"
	if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		problem = "chương trình không chạy được / program does not run (" + err.Error() + ")"
	}
	return &ToolError{Key: key, Program: program, Problem: problem + ": " + uses, Fix: "cài / install: apt install " + pkg}
}

// tail is a program's last words on standard error, for an error message.
func tail(stderr string) string {
	s := strings.TrimSpace(stderr)
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	if s == "" {
		return ""
	}
	return ": " + s
}
