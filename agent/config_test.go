package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsAndOverrides(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.conf")
	os.WriteFile(path, []byte("data: /srv/loa\naudio:\n  output: null\n  buffer: 200ms\namplifier:\n  on: pinctrl set 17 op dh\n"), 0o600)
	cfg, err := LoadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/srv/loa" || cfg.Audio.Output != "null" || cfg.Audio.Buffer.D() != 200*time.Millisecond ||
		cfg.Amplifier.On != "pinctrl set 17 op dh" || cfg.Amplifier.PreRoll.D() != 3*time.Second || cfg.HTTP.Listen != "127.0.0.1:8790" {
		t.Fatalf("config %+v", cfg)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.conf"), false); err != nil {
		t.Fatalf("a missing default config file is not an error: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.conf"), true); err == nil {
		t.Fatal("a missing explicit config file is accepted")
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		"audio:\n  bufer: 1s\n":        "field bufer not found",
		"audio:\n  buffer: soon\n":     `"soon" is not a duration`,
		"audio:\n  buffer: 10ms\n":     "audio.buffer: 10ms: too small",
		"clock: maybe\n":               `clock: "maybe"`,
		"audio:\n  channels: 6\n":      "audio.channels: 6",
		"log:\n  format: xml\n":        `log.format: "xml"`,
		"log:\n  level: loud\n":        `log.level: "loud": không phải debug, info, warn hay error / is not debug, info, warn or error`,
		"audio:\n  master_volume: 101": "audio.master_volume: 101",
	} {
		path := filepath.Join(dir, "c.conf")
		os.WriteFile(path, []byte(body), 0o600)
		_, err := LoadConfig(path, true)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: error %v, want it to name %s and say %q", body, err, path, want)
		}
	}
}

// A bad log.level stops the agent before it runs (exit status 2, the field
// named), as the city does: it used to be read as info without a word.
func TestRunRefusesBadLogLevel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.conf")
	os.WriteFile(path, []byte("data: "+dir+"\nlog:\n  level: verbose\n"), 0o600)
	var stdout, stderr strings.Builder
	cli := &CLI{Stdout: &stdout, Stderr: &stderr}
	if code := cli.Main(context.Background(), []string{"run", "--config", path}); code != ExitInput {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitInput, stderr.String())
	}
	if got := stderr.String(); !strings.Contains(got, path) || !strings.Contains(got, `log.level: "verbose"`) || !strings.Contains(got, "is not debug, info, warn or error") {
		t.Fatalf("stderr %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the refused run changed the data folder: %v", entries)
	}
}
