package e2e

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The schedule's preview, month and moving a block, in a real Chromium
// against a real loa-city: the preview renders a known program where it
// plays and silence elsewhere (the API's WAV decoded here; the page plays
// the same window's MP3, byte for byte the API's), its timeline
// names the item; a block dragged to another day and hour is saved at the
// time it was dropped on.
func TestConsoleSchedulePreviewMonthAndMove(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := startConsoleCity(t)
	password, token := c.addUser(t, "lan", "operator")
	ctl := []string{"LOA_CITY=" + c.url, "LOA_TOKEN=" + token, "HOME=" + c.dir}

	// A 20 s tone, a one-off program tomorrow at 05:30 and a weekly one on
	// Mondays at 09:00.
	media := filepath.Join(c.dir, "ban-tin.wav")
	tone(t, media, 1000, 20)
	run(t, ctl, "loactl", "media", "upload", media)
	tomorrow := time.Now().In(ict).AddDate(0, 0, 1)
	day := tomorrow.Format("2006-01-02")
	prog := filepath.Join(c.dir, "phuong.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: ban-tin-sang\n    title: Bản tin sáng\n    date: %s\n    at: \"05:30\"\n    items: [ban-tin.wav]\n"+
		"  - id: thong-bao\n    title: Thông báo\n    cron: \"0 9 * * 1\"\n    items: [ban-tin.wav]\n", day)), 0o644)
	run(t, ctl, "loactl", "program", "load", prog, "--ward", "phuong-1")

	consoleLogin(t, ctx, c.url, "lan", password)
	changeOneTimePassword(t, ctx, password, "loa phường một 2026")

	// A window longer than 2 hours: the error beside the field, in both
	// languages.
	browse(t, ctx, "preview too long",
		chromedp.Navigate(c.url+"/schedule/phuong-1/preview?date="+day+"&from=05:00&to=07:30"),
		chromedp.WaitVisible(chromedp.CSS("#err")))
	if s := pageText(t, ctx, "#err"); !strings.Contains(s, "dài nhất 2 giờ") || !strings.Contains(s, "at most 2 hours") {
		t.Fatalf("too long a window: %q", s)
	}

	// 05:29–05:32: a minute of silence, the program, silence again.
	browse(t, ctx, "preview",
		chromedp.Navigate(c.url+"/schedule/phuong-1/preview"),
		chromedp.WaitVisible(chromedp.CSS("input[name=from]")),
		chromedp.SetValue(chromedp.CSS("input[name=date]"), day),
		chromedp.SetValue(chromedp.CSS("input[name=from]"), "05:29"),
		chromedp.SetValue(chromedp.CSS("input[name=to]"), "05:32"),
		chromedp.Submit(chromedp.CSS("input[name=to]")),
		chromedp.WaitVisible(chromedp.CSS("svg.wave")))
	if s := pageText(t, ctx, "ol.timeline"); !strings.Contains(s, "05:30:00") || !strings.Contains(s, "Bản tin sáng") || !strings.Contains(s, "ban-tin.wav") {
		t.Fatalf("timeline: %q", s)
	}
	// The audio the page plays is an MP3, fetched by the page: the same
	// bytes as the window's MP3 through the JSON API.
	src := eval[string](t, ctx, `document.querySelector('audio#preview').src`)
	if !strings.Contains(src, "/preview.mp3?") {
		t.Fatalf("the page plays %s, want the MP3", src)
	}
	pageSum := eval[string](t, ctx, `fetch(document.querySelector('audio#preview').src).then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b)).then(h => Array.from(new Uint8Array(h)).map(x => x.toString(16).padStart(2, '0')).join(''))`,
		chromedp.EvalAwaitPromise)
	mp3 := getBytesWithToken(t, c.url+"/api/v1/wards/phuong-1/preview?date="+day+"&from=05:29&to=05:32&format=mp3", token)
	if sum := sha256.Sum256(mp3); hex.EncodeToString(sum[:]) != pageSum {
		t.Fatalf("the page's audio (%s) differs from the API's MP3 (%x)", pageSum, sum)
	}
	// The browser decodes it: the whole window, 3 minutes.
	if d := eval[float64](t, ctx, `fetch(document.querySelector('audio#preview').src).then(r => r.arrayBuffer()).then(b => new AudioContext().decodeAudioData(b)).then(a => a.duration)`,
		chromedp.EvalAwaitPromise); d < 179 || d > 181 {
		t.Fatalf("the page's MP3 decodes to %.1f s, want 180", d)
	}
	// The renderer's own samples, decoded here: the WAV of the same window.
	wav := getBytesWithToken(t, c.url+"/api/v1/wards/phuong-1/preview?date="+day+"&from=05:29&to=05:32&format=wav", token)
	if len(mp3)*5 > len(wav) {
		t.Fatalf("mp3 %d bytes, wav %d: the MP3 is not smaller", len(mp3), len(wav))
	}
	rate := int(binary.LittleEndian.Uint32(wav[24:]))
	if binary.LittleEndian.Uint16(wav[22:]) != 1 || len(wav) != 44+180*rate*2 {
		t.Fatalf("wav: %d bytes at %d Hz", len(wav), rate)
	}
	for s := 0; s < 180; s++ {
		var sum float64
		for i := 0; i < rate; i++ {
			v := float64(int16(binary.LittleEndian.Uint16(wav[44+2*(s*rate+i):]))) / 32768
			sum += v * v
		}
		rms := math.Sqrt(sum / float64(rate))
		switch {
		case (s < 60 || s >= 81) && rms > 1e-4:
			t.Errorf("second %d: rms %.4f, want silence", s, rms)
		case s >= 61 && s < 79 && rms < 0.05:
			t.Errorf("second %d: rms %.4f, want the program", s, rms)
		}
	}
	screenshots(t, ctx, "preview")

	// The month of tomorrow: the one-off program on its day.
	browse(t, ctx, "month",
		chromedp.Navigate(c.url+"/schedule/phuong-1/month?month="+day),
		chromedp.WaitVisible(chromedp.CSS(".month")))
	if s := pageText(t, ctx, ".month"); !strings.Contains(s, "05:30 Bản tin sáng") {
		t.Fatalf("month: %q", s)
	}
	screenshots(t, ctx, "month")

	// Drag Monday's 09:00 block to Wednesday 14:00, at a desktop's width
	// (on a phone the week is a list and the form's time field moves it).
	browse(t, ctx, "week",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(c.url+"/schedule/phuong-1"),
		chromedp.WaitVisible(chromedp.CSS(".block[data-id=thong-bao]")))
	pos := eval[[]float64](t, ctx, `(() => {
		const b = document.querySelector('.block[data-id=thong-bao]');
		b.scrollIntoView({block: 'center'});
		const r = b.getBoundingClientRect();
		const lists = document.querySelectorAll('.blocks');
		const wed = lists[2].getBoundingClientRect();
		return [r.left + 10, r.top + 2, wed.left + 10, wed.top + wed.height * 14 / 24 + 2];
	})()`)
	opt := func(p *input.DispatchMouseEventParams) {
		p.Button, p.Buttons, p.ClickCount = input.MouseButtonLeft, 1, 1
	}
	browse(t, ctx, "drag the block",
		chromedp.MouseEvent(chromedp.MousePressed, pos[0], pos[1], opt),
		chromedp.MouseEvent(chromedp.MouseMoved, (pos[0]+pos[2])/2, (pos[1]+pos[3])/2, opt),
		chromedp.MouseEvent(chromedp.MouseMoved, pos[2], pos[3], opt),
		chromedp.MouseEvent(chromedp.MouseReleased, pos[2], pos[3], opt),
		chromedp.WaitVisible(chromedp.CSS(".block[data-id=thong-bao]")))
	waitUntil(t, "the week after the move", 30*time.Second, func() bool {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('.blocks')).map(l => l.innerText.replace(/\s+/g, ' ')).join('|')`))
		cols := strings.Split(s, "|")
		return len(cols) == 7 && strings.Contains(cols[2], "14:00 Thông báo") && !strings.Contains(cols[0], "Thông báo")
	})
	if got := getWithToken(t, c, "/api/v1/programs/ward:phuong-1"); !strings.Contains(got, `0 14 * * 3`) {
		t.Fatalf("the saved file after the move:\n%s", got)
	}
	screenshots(t, ctx, "week-moved")
}

// getBytesWithToken reads the JSON API with a bearer token.
func getBytesWithToken(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%.300s", url, resp.StatusCode, err, b)
	}
	return b
}
