package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// artifactDir is where tests leave files for people to look at:
// $LOA_TEST_ARTIFACTS, else test-artifacts/ at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("LOA_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium starts a headless Chromium for the test (skipped when it is not
// installed: scripts/deps.sh installs it).
func chromium(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		t.Skip("chromium is not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844), // a phone
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// The ward's status page, opened in a real (headless) browser at a phone's
// size, shows the program on air, today's schedule and the station's
// facts. A screenshot is kept as a test artifact.
func TestStatusPageInBrowser(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox is not installed")
	}
	ctx := chromium(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	media := filepath.Join(dir, "media", "ban-tin-thu.wav")
	os.MkdirAll(filepath.Dir(media), 0o755)
	if out, err := exec.Command("sox", "-n", "-r", "44100", "-c", "1", "-b", "16", media, "synth", "200", "sine", "440", "vol", "0.3").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	// On air now: it began at the top of this minute, and the agent joins
	// it where the wall clock says.
	start := time.Now().In(ict).Truncate(time.Minute)
	// A later program the same day: the page's schedule is today's (from
	// 21:00 on, three hours later is tomorrow).
	later := start.Add(3 * time.Hour)
	if later.Day() != start.Day() {
		later = time.Date(start.Year(), start.Month(), start.Day(), 23, 58, 0, 0, ict)
	}
	if later.Before(start.Add(5 * time.Minute)) {
		t.Skip("too close to midnight for a later program today")
	}
	prog := filepath.Join(dir, "p.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf(`programs:
  - id: ban-tin-thu
    title: Bản tin thử nghiệm
    date: %s
    at: "%s"
    items: [media/ban-tin-thu.wav]
  - id: nhac-chieu
    title: Ca nhạc buổi chiều
    date: %s
    at: "%s"
    items: [media/ban-tin-thu.wav]
`, start.Format("2006-01-02"), start.Format("15:04"), later.Format("2006-01-02"), later.Format("15:04"))), 0o644)
	loadProgram(t, data, prog)
	addr := freePort(t)
	a := startAgent(t, writeAgentConfig(t, dir, data, addr, "null", "ward: phuong-ben-nghe\n"), addr, data, nil)
	waitUntil(t, "the program on air", 10*time.Second, func() bool { s := a.status(); return s.Program != nil })

	// The first action starts the browser, which lives as long as ctx: no
	// timeout on it, one on what follows.
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/")); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS("#now.playing")), chromedp.WaitVisible(chromedp.CSS("#timeline li.current"))); err != nil {
		t.Fatalf("the page never showed the program on air: %v", err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	title, item, ward, badge, schedule := text("#now-title"), text("#now-item"), text("#ward"), text("#health"), text("#timeline")
	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), "statuspage.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if title != "Bản tin thử nghiệm" || !strings.Contains(item, "ban-tin-thu.wav") || !strings.Contains(item, start.Format("15:04")) {
		t.Errorf("now playing: %q / %q", title, item)
	}
	if ward != "Đài truyền thanh phuong-ben-nghe" || badge != "TỐT / OK" {
		t.Errorf("header: %q, %q", ward, badge)
	}
	if !strings.Contains(schedule, "Bản tin thử nghiệm") || !strings.Contains(schedule, "Ca nhạc buổi chiều") ||
		!strings.Contains(schedule, later.Format("15:04")) {
		t.Errorf("schedule: %q", schedule)
	}
}
