package agent

import (
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
