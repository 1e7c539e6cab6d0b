package city

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The cap: section: a good one loads with its values; each mistake is
// refused naming the key.
func TestCAPConfig(t *testing.T) {
	dir := t.TempDir()
	load := func(body string) (Config, error) {
		p := filepath.Join(dir, "city.yaml")
		os.WriteFile(p, []byte("data: "+dir+"\n"+body), 0o600)
		return LoadConfig(p)
	}
	cfg, err := load(`cap:
  trusted_senders: [canhbao@kttv.gov.vn]
  trusted_certs: [` + strings.Repeat("ab", 32) + `]
  areas:
    - geocode: "VN-XA=26734"
      to: group:xa-a
    - area_desc: Thành phố Huế
      to: all
  feeds:
    - url: https://canhbao.example/cap.atom
      every: 2m
  public_feed: true
`)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.CAP; len(c.Areas) != 2 || c.Areas[0].To != "group:xa-a" || time.Duration(c.Feeds[0].Every) != 2*time.Minute || !c.PublicFeed || c.AcceptUnsigned {
		t.Fatalf("%+v", c)
	}
	for _, c := range []struct{ body, want string }{
		{"cap:\n  trusted_certs: [abc]\n", "cap.trusted_certs"},
		{"cap:\n  areas:\n    - to: all\n", "cap.areas[0]: give geocode"},
		{"cap:\n  areas:\n    - geocode: SAME\n      to: all\n", "VALUENAME=VALUE"},
		{"cap:\n  areas:\n    - geocode: A=1\n      to: Phường 1\n", "cap.areas[0].to"},
		{"cap:\n  feeds:\n    - url: ftp://x\n", "cap.feeds[0].url"},
		{"cap:\n  feeds:\n    - url: http://x\n      every: 1s\n", "at least 10s"},
		{"cap:\n  trusted: [x]\n", "field trusted not found"},
	} {
		if _, err := load(c.body); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
}
