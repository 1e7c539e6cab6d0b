package playlist_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"loa/city"
	"loa/city/api"
	"loa/city/citytest"
	"loa/internal/testwait"
	"loa/loactl"
	"loa/playlist"
	"loa/playlist/playlisttest"
	"loa/signing"
)

// TestEndToEnd runs the city side as operators do, through the commands:
// loa-city key / ward add / user add / run, loactl media upload / program
// load / program show, and a ward's Syncer converging on what they did.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "loa-city.yaml")
	os.WriteFile(cfg, []byte("data: "+filepath.Join(dir, "city")+"\nlisten: 127.0.0.1:0\nnats:\n  listen: 127.0.0.1:0\nlog:\n  level: info\n"), 0o644)
	cityCmd := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := city.Main(t.Context(), append(args, "--config", cfg), &out, &errb); code != 0 {
			t.Fatalf("loa-city %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	keyText := regexp.MustCompile(`public key: (\S+)`).FindStringSubmatch(cityCmd("key"))[1]
	pub, err := signing.ParsePublicKey(keyText)
	if err != nil {
		t.Fatal(err)
	}
	wardToken := regexp.MustCompile(`loaw_\S+`).FindString(cityCmd("ward", "add", "phuong-1", "--group", "quan-1"))
	cityCmd("ward", "add", "phuong-2")
	opToken := regexp.MustCompile(`loau_\S+`).FindString(cityCmd("user", "add", "lan", "--role", "operator"))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &citytest.LogBuffer{}
	stopped := make(chan int, 1)
	go func() { stopped <- city.Main(ctx, []string{"run", "--config", cfg}, io.Discard, logs) }()
	var url string
	testwait.Poll(10*time.Second, func() bool {
		if m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(logs.String()); m != nil {
			url = "http://" + m[1]
		}
		return url != ""
	})
	if url == "" {
		t.Fatalf("city did not start: %s", logs)
	}

	env := map[string]string{"LOA_CITY": url, "LOA_TOKEN": opToken}
	ctl := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := loactl.Main(t.Context(), args, &out, &errb, loactl.Env{Getenv: func(k string) string { return env[k] }}); code != 0 {
			t.Fatalf("loactl %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	media := filepath.Join(dir, "media")
	os.Mkdir(media, 0o755)
	tone(t, media, "nhac-hieu.wav", 2, 440)
	citytest.Tone(t, media, "ban-tin-sang.mp3", 5, 550, "-b:a", "32k", "-ar", "22050")
	ctl("media", "upload", filepath.Join(media, "nhac-hieu.wav"), filepath.Join(media, "ban-tin-sang.mp3"))
	prog := filepath.Join(dir, "quan-1.yaml")
	os.WriteFile(prog, []byte(`programs:
  - id: ban-tin-sang
    title: Bản tin sáng
    cron: "30 5 * * *"
    chime: media/nhac-hieu.wav
    items: [media/ban-tin-sang.mp3]
`), 0o644)
	ctl("program", "load", prog, "--group", "quan-1")

	st, err := playlisttest.New(filepath.Join(dir, "ward"))
	if err != nil {
		t.Fatal(err)
	}
	s := playlist.NewSyncer(playlist.Config{CityURL: url, Token: wardToken, PublicKeys: []ed25519.PublicKey{pub}, Ward: "phuong-1"}, st)
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied := st.Applied()
	if len(applied) != 1 {
		t.Fatalf("applied %d manifests", len(applied))
	}
	f, err := applied[0].File("")
	if err != nil || len(f.Programs) != 1 || f.Programs[0].ID != "ban-tin-sang" {
		t.Fatalf("programs %v %+v", err, f)
	}
	for _, md := range applied[0].Media {
		if err := st.Store.Verify(md.SHA256); err != nil {
			t.Errorf("%s: %v", md.Name, err)
		}
	}
	show := ctl("program", "show", "--ward", "phuong-1", "--date", "2027-01-01")
	if !strings.Contains(show, "05:30–05:30:07  ban-tin-sang  Bản tin sáng  group:quan-1") {
		t.Errorf("program show: %q", show)
	}

	// The operator changes the program; the ward follows.
	os.WriteFile(prog, []byte(`programs:
  - id: ban-tin-sang
    title: Bản tin sáng
    cron: "0 6 * * *"
    items: [media/ban-tin-sang.mp3, nhac-hieu.wav]
`), 0o644)
	ctl("program", "load", prog, "--group", "quan-1")
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied = st.Applied()
	if len(applied) != 2 || applied[1].Version <= applied[0].Version || !strings.Contains(applied[1].Programs, `cron: 0 6 * * *`) {
		t.Fatalf("second manifest %+v", applied[len(applied)-1])
	}
	if n := len(st.Added()); n != 2 {
		t.Errorf("%d media downloaded, want 2 (nothing new the second time)", n)
	}
	// The city learns the version in effect at the ward's next poll.
	if err := s.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	var wards []api.Ward
	if err := json.Unmarshal([]byte(ctl("wards", "--json")), &wards); err != nil {
		t.Fatal(err)
	}
	insync := map[string]bool{}
	for _, w := range wards {
		insync[w.ID] = w.InSync && w.SeenVersion == w.ManifestVersion && w.SeenVersion > 0
	}
	if !insync["phuong-1"] {
		t.Errorf("wards: %+v, want phuong-1 in sync", wards)
	}
	cancel()
	if code := <-stopped; code != 0 {
		t.Errorf("loa-city run exited %d", code)
	}
}
