package preview_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"loa/audio"
	"loa/city/api"
	"loa/city/preview"
	"loa/city/preview/agentrender"
	"loa/city/programs"
	"loa/manifest"
	"loa/mediastore"
)

func TestWindow(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	f, to, err := preview.Window(loc, "2026-12-07", "05:25", "06:05")
	if err != nil || f.Format("15:04") != "05:25" || to.Sub(f) != 40*time.Minute {
		t.Fatalf("window = %v %v %v", f, to, err)
	}
	// Past midnight.
	if f, to, err = preview.Window(loc, "2026-12-07", "23:30", "00:30"); err != nil || to.Sub(f) != time.Hour {
		t.Fatalf("past midnight = %v %v %v", f, to, err)
	}
	for _, c := range []struct{ date, from, to, field string }{
		{"7/12/2026", "05:00", "06:00", "date"},
		{"2026-12-07", "5h", "06:00", "from"},
		{"2026-12-07", "05:00", "x", "to"},
		{"2026-12-07", "05:00", "07:01", "to"},
	} {
		_, _, err := preview.Window(loc, c.date, c.from, c.to)
		var we *api.PreviewWindowError
		if !errors.As(err, &we) || we.Field != c.field || we.Vi == "" || we.En == "" {
			t.Errorf("%v: err %v, want a bilingual error on %s", c, err, c.field)
		}
	}
}

type fakeWards struct{ wf programs.WardFile }

func (f fakeWards) WardFile(context.Context, string) (programs.WardFile, error) { return f.wf, nil }

// morningService previews a ward whose one program, "Bản tin sáng" at
// 05:30 every day, is a 440 Hz tone of the given seconds.
func morningService(tb testing.TB, seconds int) *preview.Service {
	tb.Helper()
	dir := tb.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	w, err := audio.CreateWAV(tone, 16000, 1)
	if err != nil {
		tb.Fatal(err)
	}
	buf := make([][2]float64, 16000*seconds)
	for i := range buf {
		v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/16000)
		buf[i] = [2]float64{v, v}
	}
	if err := w.Write(buf); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	key, _, err := mediastore.HashFile(tone)
	if err != nil {
		tb.Fatal(err)
	}
	body := "timezone: Asia/Ho_Chi_Minh\nprograms:\n  - id: morning\n    title: Bản tin sáng\n    cron: \"30 5 * * *\"\n    items: [" + key + "]\n"
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	return &preview.Service{Render: agentrender.Render, Wards: fakeWards{programs.WardFile{Body: []byte(body), Media: []string{key},
		Titles: map[string]string{"morning": "Bản tin sáng"}, Names: map[string]string{key: "tone.wav"}}},
		MediaPath: func(string) string { return tone }, Location: loc, TempDir: dir, FFmpeg: "ffmpeg"}
}

// A program at 05:30 over a 05:29–05:32 window: silence for the first
// minute, the tone from 05:30, in the as-run with its title.
func TestRenderPlaysTheProgramWhereItIs(t *testing.T) {
	s := morningService(t, 20)
	p, err := s.Preview(context.Background(), "w1", "2026-12-07", "05:29", "05:32")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Title != "Bản tin sáng" || p.Items[0].Item != "tone.wav" ||
		p.Items[0].Start.In(s.Location).Format("15:04:05") != "05:30:00" {
		t.Fatalf("items = %+v", p.Items)
	}
	if len(p.Peaks) != preview.PeakCount {
		t.Fatalf("%d peaks", len(p.Peaks))
	}
	// 3 minutes in preview.PeakCount slices: the first third silent, then the
	// 20 s tone, then silence.
	per := 180.0 / preview.PeakCount
	for i, pk := range p.Peaks {
		at := float64(i) * per
		switch {
		case at < 59 && pk > 0.001:
			t.Fatalf("peak %d (%.1fs) = %v before the program", i, at, pk)
		case at > 61 && at < 79 && pk < 0.1:
			t.Fatalf("peak %d (%.1fs) = %v during the program", i, at, pk)
		case at > 82 && pk > 0.001:
			t.Fatalf("peak %d (%.1fs) = %v after the program", i, at, pk)
		}
	}
	if want := 44 + 180*16000*2; len(p.WAV) != want {
		t.Fatalf("wav %d bytes, want %d", len(p.WAV), want)
	}
	// The browser's MP3: mono at the preview's rate, the whole window, a
	// sixth of the WAV's size.
	mp3 := filepath.Join(t.TempDir(), "p.mp3")
	os.WriteFile(mp3, p.MP3, 0o644)
	info, err := audio.Probe(mp3)
	if err != nil || info.Channels != 1 || info.Rate != preview.Rate || info.Duration < 179*time.Second || info.Duration > 181*time.Second {
		t.Fatalf("mp3: %+v %v", info, err)
	}
	if len(p.MP3) > len(p.WAV)/5 {
		t.Fatalf("mp3 %d bytes, wav %d", len(p.MP3), len(p.WAV))
	}
	// Deterministic: the same window, the same bytes, rendered afresh.
	s2 := &preview.Service{Render: agentrender.Render, Wards: s.Wards, MediaPath: s.MediaPath, Location: s.Location, TempDir: s.TempDir, FFmpeg: "ffmpeg"}
	q, err := s2.Preview(context.Background(), "w1", "2026-12-07", "05:29", "05:32")
	if err != nil || string(q.WAV) != string(p.WAV) || string(q.MP3) != string(p.MP3) {
		t.Fatalf("second render differs (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(s.TempDir, "tone.wav")); err != nil {
		t.Fatal(err)
	}
}

// A ward with no programs renders silence and an empty timeline.
func TestRenderNoPrograms(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	body, err := manifest.EncodePrograms(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &preview.Service{Render: agentrender.Render, Wards: fakeWards{programs.WardFile{Body: body}}, Location: loc, TempDir: t.TempDir()}
	p, err := s.Preview(context.Background(), "w1", "2026-12-07", "05:29", "05:30")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 || len(p.WAV) != 44+60*preview.Rate*2 {
		t.Fatalf("items %v, %d bytes", p.Items, len(p.WAV))
	}
	for i, pk := range p.Peaks {
		if pk != 0 {
			t.Fatalf("peak %d = %v", i, pk)
		}
	}
}

// The console's default window, 40 minutes (05:25–06:05) with a bulletin
// in it: what a phone downloads, the MP3, against the renderer's WAV.
// The numbers in docs/console.md come from this benchmark (go test -run
// '^$' -bench DefaultWindowBytes -benchtime 1x ./city/preview).
func BenchmarkDefaultWindowBytes(b *testing.B) {
	t := b
	s := morningService(t, 300)
	var p api.Preview
	var err error
	for b.Loop() {
		p, err = s.Preview(context.Background(), "w1", "2026-12-07", "05:25", "06:05")
		if err != nil {
			t.Fatal(err)
		}
		s = &preview.Service{Render: s.Render, Wards: s.Wards, MediaPath: s.MediaPath, Location: s.Location, TempDir: s.TempDir, FFmpeg: "ffmpeg"} // no cache
	}
	if want := 44 + 40*60*preview.Rate*2; len(p.WAV) != want {
		t.Fatalf("wav %d bytes, want %d", len(p.WAV), want)
	}
	// 48 kbit/s is 6000 bytes a second, give or take the frames' padding.
	if n, want := len(p.MP3), 40*60*6000; n < want*99/100 || n > want*101/100 {
		t.Fatalf("mp3 %d bytes, want about %d", n, want)
	}
	b.ReportMetric(float64(len(p.WAV)), "wav-bytes")
	b.ReportMetric(float64(len(p.MP3)), "mp3-bytes")
	t.Logf("40-minute window: WAV %d bytes, MP3 %d bytes (%.1f times smaller)", len(p.WAV), len(p.MP3), float64(len(p.WAV))/float64(len(p.MP3)))
}
