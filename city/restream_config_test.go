package city

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The restream: keys: their defaults, and bad values refused naming the
// field, with nothing else read.
func TestRestreamConfig(t *testing.T) {
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Restream; len(r.Sources) != 0 || r.Bitrate != 64 || time.Duration(r.Linger) != 10*time.Second || r.ListenerQueue != 256 {
		t.Fatalf("defaults: %+v", r)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"restream:\n  sources:\n    - {name: vov1, url: \"https://stream-cdn.vov.vn/live/vov1-audio_only.m3u8\"}\n", ""},
		{"restream:\n  sources:\n    - {name: VOV1, url: \"http://a/b\"}\n", "restream.sources: restream[0].name: \"VOV1\""},
		{"restream:\n  sources:\n    - {name: vov1, url: \"vov1.m3u8\"}\n", "restream[0].url"},
		{"restream:\n  bitrate: 8\n", "bitrate 8"},
		{"restream:\n  listener_queue: 2\n", "listener_queue 2"},
		{"restream:\n  source: []\n", "field source not found"},
	} {
		path := filepath.Join(t.TempDir(), "city.yaml")
		os.WriteFile(path, []byte(tc.yaml), 0o600)
		_, err := LoadConfig(path)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
