package loactl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"loa/city/api"
	"loa/city/citytest"
	"loa/loactl"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env map[string]string, tty bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := loactl.Main(context.Background(), args, &out, &errb, loactl.Env{
		Getenv:    func(k string) string { return env[k] },
		StderrTTY: tty,
	})
	return result{code, out.String(), errb.String()}
}

func setup(t *testing.T) (*citytest.City, map[string]string, string) {
	c := citytest.New(t)
	c.Now = func() time.Time { return time.Date(2026, 5, 1, 10, 0, 0, 0, c.Location()) }
	c.AddWard(t, "phuong-1", "quan-1")
	c.AddWard(t, "phuong-2")
	dir := t.TempDir()
	return c, map[string]string{"LOA_CITY": c.URL, "LOA_TOKEN": c.Operator, "HOME": dir}, dir
}

func TestMediaUploadAndList(t *testing.T) {
	c, env, dir := setup(t)
	tone := citytest.Tone(t, dir, "ban-tin.wav", 2, 440)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("hello\n"), 0o644)

	r := run(t, env, true, "media", "upload", tone, notes)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (one file is not audio): %+v", r.code, r)
	}
	if !strings.HasPrefix(r.stdout, tone+"\t") || !strings.Contains(r.stdout, "\t0:02\t") || !strings.Contains(r.stdout, "LUFS\tnew\n") {
		t.Errorf("stdout %q", r.stdout)
	}
	// The file named, why in both languages, and that nothing was stored.
	if !strings.Contains(r.stderr, notes+": notes.txt: ffmpeg không đọc được tệp này, không lưu gì / ffmpeg cannot read this file, nothing was stored: not an audio file") ||
		!strings.Contains(r.stderr, "HTTP 422") {
		t.Errorf("stderr %q", r.stderr)
	}
	if !strings.Contains(r.stderr, "ban-tin.wav [##############################] 100%") {
		t.Errorf("no progress bar on a terminal: %q", r.stderr)
	}
	// Not a terminal: no bar. Same file again: already there.
	r = run(t, env, false, "media", "upload", "--json", tone)
	var got []api.Media
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || len(got) != 1 || got[0].Created {
		t.Fatalf("upload --json: %+v %v", r, err)
	}
	if r.stderr != "" {
		t.Errorf("stderr without a terminal: %q", r.stderr)
	}

	r = run(t, env, false, "media", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "ban-tin.wav  ban-tin  0:02") || !strings.Contains(r.stdout, got[0].SHA256[:12]) {
		t.Errorf("media list: %+v", r)
	}
	r = run(t, env, false, "media", "list", "--json")
	var list []api.Media
	if json.Unmarshal([]byte(r.stdout), &list); len(list) != 1 || list[0].SHA256 != got[0].SHA256 {
		t.Errorf("media list --json: %s", r.stdout)
	}
	if r := run(t, env, false, "media", "upload", filepath.Join(dir, "missing.wav")); r.code != 2 {
		t.Errorf("missing file: %+v", r)
	}
	_ = c
}

func TestUploadResumes(t *testing.T) {
	c, env, dir := setup(t)
	tone := citytest.Tone(t, dir, "dai.wav", 10, 440)
	// A proxy that breaks the first PATCH halfway through its body.
	var broke atomic.Bool
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := io.Reader(r.Body)
		cut := r.Method == "PATCH" && !broke.Swap(true)
		if cut {
			pr, pw := io.Pipe()
			go func() {
				io.CopyN(pw, r.Body, 200_000)
				pw.CloseWithError(io.ErrUnexpectedEOF)
			}()
			body = pr
		}
		req, _ := http.NewRequest(r.Method, c.URL+r.URL.RequestURI(), body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			defer resp.Body.Close()
		}
		if cut || err != nil {
			panic(http.ErrAbortHandler)
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer p.Close()
	env["LOA_CITY"] = p.URL
	r := run(t, env, false, "media", "upload", "--json", tone)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	var got []api.Media
	json.Unmarshal([]byte(r.stdout), &got)
	env["LOA_CITY"] = c.URL
	r = run(t, env, false, "media", "upload", "--json", tone)
	var direct []api.Media
	json.Unmarshal([]byte(r.stdout), &direct)
	if !broke.Load() || len(got) != 1 || len(direct) != 1 || got[0].SHA256 != direct[0].SHA256 || direct[0].Created {
		t.Errorf("resumed upload %+v, direct %+v", got, direct)
	}
}

func TestProgramLoadAndShow(t *testing.T) {
	c, env, dir := setup(t)
	c.Upload(t, citytest.Tone(t, dir, "ban-tin.wav", 2, 440), "ban-tin.wav")
	bad := filepath.Join(dir, "lich.yaml")
	os.WriteFile(bad, []byte("programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [media/ban-tin.wav, media/thieu.mp3]\n  - id: trua\n    cron: \"0 11 * * 8\"\n    items: [ban-tin.wav]\n"), 0o644)
	r := run(t, env, false, "program", "load", bad, "--group", "quan-1")
	want := bad + ":4: media media/thieu.mp3: not in the city's media library (upload it first: loactl media upload thieu.mp3)\n" +
		bad + ":6: bad cron \"0 11 * * 8\": end of range (8) above maximum (6): 8\n"
	if r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Fatalf("got %+v\nwant stderr %q", r, want)
	}
	good := filepath.Join(dir, "lich-dung.yaml")
	os.WriteFile(good, []byte("programs:\n  - id: sang\n    title: Bản tin sáng\n    cron: \"30 5 * * *\"\n    items: [media/ban-tin.wav]\n"), 0o644)
	r = run(t, env, false, "program", "load", "--check", good, "--group", "quan-1")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing changed") {
		t.Errorf("--check: %+v", r)
	}
	r = run(t, env, false, "program", "load", good, "--group", "quan-1")
	if r.code != 0 || r.stdout != good+": 1 programs loaded for group:quan-1; 1 of 1 wards get a new schedule\n" {
		t.Errorf("load: %+v", r)
	}
	r = run(t, env, false, "program", "show", "--ward", "phuong-1", "--date", "2026-05-02")
	if r.code != 0 || r.stdout != "phuong-1  2026-05-02 (Asia/Ho_Chi_Minh)\n05:30–05:30:02  sang  Bản tin sáng  group:quan-1  \n" {
		t.Errorf("show: %q", r.stdout)
	}
	r = run(t, env, false, "program", "show", "--ward", "phuong-2", "--date", "2026-05-02", "--json")
	var tl api.Timeline
	if err := json.Unmarshal([]byte(r.stdout), &tl); err != nil || r.code != 0 || tl.Ward != "phuong-2" || len(tl.Occurrences) != 0 {
		t.Errorf("show --json: %+v %v", r, err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"program", "load", good}, 2, "want exactly one of"},
		{[]string{"program", "load", good, "--all", "--ward", "phuong-1"}, 2, "want exactly one of"},
		{[]string{"program", "load", filepath.Join(dir, "none.yaml"), "--all"}, 2, "cannot read"},
		{[]string{"program", "load", good, "--ward", "khong-co"}, 2, "no such ward"},
		{[]string{"program", "show"}, 2, "--ward is required"},
		{[]string{"program", "show", "--ward", "phuong-1", "--date", "mai"}, 2, "not a date"},
	} {
		r := run(t, env, false, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %+v, want %d with %q", tc.args, r, tc.code, tc.want)
		}
	}
}

func TestWardsAndAccess(t *testing.T) {
	c, env, dir := setup(t)
	r := run(t, env, false, "wards")
	if r.code != 0 || !strings.Contains(r.stdout, "phuong-1  Mất kết nối / offline  never") || !strings.Contains(r.stdout, "2 wards, 2 with problems") {
		t.Errorf("wards: %q", r.stdout)
	}
	r = run(t, env, false, "--json", "wards")
	var ws []api.Ward
	if json.Unmarshal([]byte(r.stdout), &ws); len(ws) != 2 {
		t.Errorf("wards --json: %s", r.stdout)
	}
	// Config file instead of the environment.
	cfgDir := filepath.Join(dir, ".config", "loa")
	os.MkdirAll(cfgDir, 0o700)
	os.WriteFile(filepath.Join(cfgDir, "loactl.yaml"), []byte("city: "+c.URL+"\ntoken: "+c.Technician+"\n"), 0o600)
	fileEnv := map[string]string{"HOME": dir}
	if r := run(t, fileEnv, false, "wards"); r.code != 0 {
		t.Errorf("token from the config file: %+v", r)
	}
	// The technician may not upload: 403 is bad input.
	tone := citytest.Tone(t, dir, "a.wav", 1, 440)
	if r := run(t, fileEnv, false, "media", "upload", tone); r.code != 2 || !strings.Contains(r.stderr, "HTTP 403") {
		t.Errorf("technician upload: %+v", r)
	}
	// Flags win over the environment.
	if r := run(t, env, false, "wards", "--token", "loau_wrong"); r.code != 2 || !strings.Contains(r.stderr, "unknown token (HTTP 401)") {
		t.Errorf("bad token: %+v", r)
	}
	if r := run(t, map[string]string{"HOME": t.TempDir()}, false, "wards"); r.code != 2 || !strings.Contains(r.stderr, "no city") {
		t.Errorf("no configuration: %+v", r)
	}
	// A city that is down is a failure (1), not bad input.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if r := run(t, env, false, "wards", "--city", "http://"+addr); r.code != 1 {
		t.Errorf("city down: %+v", r)
	}
	for _, args := range [][]string{{"--help"}, {"help"}, {"media", "upload", "--help"}, {"media", "list", "-h"}, {"program", "load", "--help"},
		{"program", "show", "--help"}, {"wards", "--help"}, {"media", "--help"}} {
		if r := run(t, env, false, args...); r.code != 0 || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	for _, args := range [][]string{{}, {"frob"}, {"media"}, {"media", "delete"}, {"wards", "--bogus"}} {
		if r := run(t, env, false, args...); r.code != 2 {
			t.Errorf("%v: exit %d", args, r.code)
		}
	}
}

// TestMediaUploadDamaged: loactl shows the city's refusal of a damaged
// file (the file and the reason, in both languages) and exits 2, while
// the good file in the same command is uploaded.
func TestMediaUploadDamaged(t *testing.T) {
	_, env, dir := setup(t)
	damaged := citytest.DamagedMedia(t, dir)
	good := citytest.Tone(t, dir, "ban-tin.wav", 2, 440)
	args := []string{"media", "upload", good}
	for _, d := range damaged {
		args = append(args, d.Path)
	}
	r := run(t, env, false, args...)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (bad input): %+v", r.code, r)
	}
	if !strings.HasPrefix(r.stdout, good+"\t") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout %q: want the good file only", r.stdout)
	}
	for _, d := range damaged {
		line := "loactl media upload: " + d.Path + ": "
		i := strings.Index(r.stderr, line)
		if i < 0 {
			t.Errorf("stderr has no line for %s: %q", d.Name, r.stderr)
			continue
		}
		msg, _, _ := strings.Cut(r.stderr[i:], "\n")
		for _, want := range []string{"HTTP 422", d.Name + ": tệp âm thanh hỏng", "the wards would refuse", d.Want} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q lacks %q", d.Name, msg, want)
			}
		}
	}
	r = run(t, env, false, "media", "list", "--json")
	var list []api.Media
	if json.Unmarshal([]byte(r.stdout), &list); len(list) != 1 {
		t.Errorf("library: %s", r.stdout)
	}
}
