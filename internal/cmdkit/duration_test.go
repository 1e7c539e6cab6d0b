package cmdkit

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDurationYAML(t *testing.T) {
	type cfg struct {
		Wait Duration `yaml:"wait"`
	}
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"wait: 30s\n", 30 * time.Second, ""},
		{"wait: 5m\n", 5 * time.Minute, ""},
		{"wait: 150ms\n", 150 * time.Millisecond, ""},
		{"wait: 1h30m\n", 90 * time.Minute, ""},
		{"wait: 0s\n", 0, ""},
		{"wait: soon\n", 0, `line 1: "soon" is not a duration (like 150ms, 30s, 10m)`},
		{"\nwait: 30\n", 0, `line 2: "30" is not a duration`},
	} {
		var c cfg
		err := yaml.Unmarshal([]byte(tc.in), &c)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.Wait.D() != tc.want {
			t.Errorf("%q: %v %v, want %v", tc.in, c.Wait.D(), err, tc.want)
		}
	}
	out, err := yaml.Marshal(cfg{Wait: Duration(90 * time.Second)})
	if err != nil || string(out) != "wait: 1m30s\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestDefaults(t *testing.T) {
	if DefaultMaxWait != time.Minute || DefaultTargetLUFS != -16 || DefaultDuckDB != -15 {
		t.Fatalf("defaults changed: %v %v %v (DESIGN.md, docs and example configs say 60s, -16 LUFS, -15 dB)", DefaultMaxWait, DefaultTargetLUFS, DefaultDuckDB)
	}
}
