// Package preview renders what a ward would play over a time window (Nghe
// thử): the ward's effective programs, as its manifest carries them, go
// through the agent's offline renderer (the daemon's engine and player on
// a virtual clock), so the city plays exactly what the speakers would.
package preview

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"loa/city/api"
	"loa/city/programs"
)

// MaxWindow is the longest window a preview renders.
const MaxWindow = 2 * time.Hour

// Rate is the preview's sample rate: mono 16-bit at 16 kHz, 32 KB a second,
// enough for speech and music on a loudspeaker and for a phone over 3G.
const Rate = 16000

// MP3Bitrate is the bit rate of the MP3 the browser plays: mono at Rate,
// 6 KB a second, a 40-minute window about 14 MB where the WAV is 77 MB.
const MP3Bitrate = "48k"

// PeakCount is how many peaks a preview's waveform has.
const PeakCount = 600

// Wards is what the preview needs of the programs service.
type Wards interface {
	WardFile(ctx context.Context, ward string) (programs.WardFile, error)
}

// Job is one render: the program file, the window's start ("YYYY-MM-DD
// HH:MM:SS" in the file's zone) and length, the WAV and as-run CSV to
// write, mono at Rate, decoded media cached in Cache.
type Job struct {
	Program, From string
	Duration      time.Duration
	Out, AsRunCSV string
	Rate          int
	Cache         string
}

// Renderer is the station's offline renderer (agent.Render, wired by
// city/preview/agentrender: the city package cannot import the agent,
// whose tests run a city).
type Renderer func(ctx context.Context, j Job, log *slog.Logger) error

// ErrNoRenderer: this city was built without the renderer.
var ErrNoRenderer = errors.New("preview: no renderer in this build")

// Service renders previews.
type Service struct {
	Render Renderer
	Wards  Wards
	// MediaPath is where a media key's file is (mediastore.Store.Path).
	MediaPath func(key string) string
	Location  *time.Location
	// TempDir holds renders while they are made ("" : the system's).
	TempDir string
	// FFmpeg is the ffmpeg program (ingest.ffmpeg, the library's) that
	// encodes each render once as MP3 for the browser; "": no MP3.
	FFmpeg string
	Log    *slog.Logger

	// The last renders, kept so that the page, its player and the
	// player's range requests render a window once.
	mu     sync.Mutex
	recent []cached
}

type cached struct {
	key string
	p   api.Preview
}

// keep is how many renders are kept, and at most how many bytes of audio
// (WAV and MP3).
const (
	keep      = 4
	keepBytes = 256 << 20
)

// WindowError is a bad window, naming the field, in Vietnamese and English.
type WindowError = api.PreviewWindowError

// Window reads a window from the form's fields: date YYYY-MM-DD, from and
// to HH:MM (to after from; to before from runs past midnight), at most
// MaxWindow long, in loc.
func Window(loc *time.Location, date, from, to string) (time.Time, time.Time, error) {
	d, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		return time.Time{}, time.Time{}, &WindowError{Field: "date", Vi: "Ngày không hợp lệ, cần dạng YYYY-MM-DD", En: "invalid date, want YYYY-MM-DD"}
	}
	clock := func(field, s string) (time.Time, error) {
		t, err := time.Parse("15:04", s)
		if err != nil {
			return time.Time{}, &WindowError{Field: field, Vi: "Giờ không hợp lệ, cần dạng HH:MM", En: "invalid time, want HH:MM"}
		}
		return time.Date(d.Year(), d.Month(), d.Day(), t.Hour(), t.Minute(), 0, 0, loc), nil
	}
	f, err := clock("from", from)
	if err != nil {
		return f, f, err
	}
	t, err := clock("to", to)
	if err != nil {
		return f, t, err
	}
	if !t.After(f) {
		t = t.AddDate(0, 0, 1)
	}
	if t.Sub(f) > MaxWindow {
		return f, t, &WindowError{Field: "to", Vi: "Khoảng nghe thử dài nhất 2 giờ", En: "a preview is at most 2 hours long"}
	}
	return f, t, nil
}

// Preview renders ward's programs over the window of date, from and to
// (Window): what the ward would play, mono at Rate.
func (s *Service) Preview(ctx context.Context, ward, date, from, to string) (api.Preview, error) {
	f, t, err := Window(s.Location, date, from, to)
	if err != nil {
		return api.Preview{Ward: ward}, err
	}
	return s.RenderWindow(ctx, ward, f, t)
}

// RenderWindow renders ward's programs over [from, to).
func (s *Service) RenderWindow(ctx context.Context, ward string, from, to time.Time) (api.Preview, error) {
	out := api.Preview{Ward: ward, From: from, To: to, Rate: Rate, Items: []api.PreviewItem{}}
	if s.Render == nil {
		return out, ErrNoRenderer
	}
	if !to.After(from) || to.Sub(from) > MaxWindow {
		return out, &WindowError{Field: "to", Vi: "Khoảng nghe thử dài nhất 2 giờ", En: "a preview is at most 2 hours long"}
	}
	wf, err := s.Wards.WardFile(ctx, ward)
	if err != nil {
		return out, err
	}
	// The same programs over the same window render the same bytes.
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%d\n", ward, from.UnixNano(), to.UnixNano())
	h.Write(wf.Body)
	key := hex.EncodeToString(h.Sum(nil))
	if p, ok := s.cached(key); ok {
		return p, nil
	}
	dir, err := os.MkdirTemp(s.TempDir, "loa-preview-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(dir)
	// The file references media by key: each key is a file beside it.
	for _, k := range wf.Media {
		if err := os.Symlink(s.MediaPath(k), filepath.Join(dir, k)); err != nil {
			return out, fmt.Errorf("preview media %s: %w", k, err)
		}
	}
	prog := filepath.Join(dir, "programs.yaml")
	if err := os.WriteFile(prog, wf.Body, 0o600); err != nil {
		return out, err
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := Job{Program: prog, From: from.In(s.Location).Format("2006-01-02 15:04:05"), Duration: to.Sub(from),
		Out: filepath.Join(dir, "out.wav"), Rate: Rate, AsRunCSV: filepath.Join(dir, "asrun.csv"),
		Cache: filepath.Join(dir, "station")}
	if err := s.Render(ctx, o, log); err != nil {
		return out, fmt.Errorf("preview of ward %s: %w", ward, err)
	}
	if out.WAV, err = os.ReadFile(o.Out); err != nil {
		return out, err
	}
	// Peaks and the timeline come from the WAV, the renderer's own samples.
	out.Peaks = Peaks(out.WAV, PeakCount)
	if s.FFmpeg != "" {
		mp3 := filepath.Join(dir, "out.mp3")
		if err := encodeMP3(ctx, s.FFmpeg, o.Out, mp3); err != nil {
			return out, fmt.Errorf("preview of ward %s: %w", ward, err)
		}
		if out.MP3, err = os.ReadFile(mp3); err != nil {
			return out, err
		}
	}
	if out.Items, err = readAsRun(o.AsRunCSV, s.Location, wf); err != nil {
		return out, err
	}
	s.remember(key, out)
	return out, nil
}

func (s *Service) cached(key string) (api.Preview, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.recent {
		if c.key == key {
			return c.p, true
		}
	}
	return api.Preview{}, false
}

func (s *Service) remember(key string, p api.Preview) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = append([]cached{{key, p}}, s.recent...)
	size := 0
	for i, c := range s.recent {
		size += len(c.p.WAV) + len(c.p.MP3)
		if i >= keep || (i > 0 && size > keepBytes) {
			s.recent = s.recent[:i]
			break
		}
	}
}

// encodeMP3 encodes the WAV at src as a mono constant-rate MP3 at dst,
// without tags that vary (bitexact): the same render, the same bytes.
func encodeMP3(ctx context.Context, ffmpeg, src, dst string) error {
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "wav", "-i", src,
		"-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
		"-ac", "1", "-c:a", "libmp3lame", "-b:a", MP3Bitrate, "-f", "mp3", dst)
	cmd.WaitDelay = 5 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("encode MP3 with ffmpeg: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}

// Peaks returns the peak level (0–1) of n equal slices of a 16-bit mono
// WAV's samples.
func Peaks(wav []byte, n int) []float64 {
	const header = 44
	peaks := make([]float64, n)
	if len(wav) <= header {
		return peaks
	}
	samples := (len(wav) - header) / 2
	for i := 0; i < samples; i++ {
		v := float64(int16(binary.LittleEndian.Uint16(wav[header+2*i:]))) / 32768
		j := i * n / samples
		peaks[j] = math.Max(peaks[j], math.Abs(v))
	}
	return peaks
}

func readAsRun(path string, loc *time.Location, wf programs.WardFile) ([]api.PreviewItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	items := []api.PreviewItem{}
	head := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return nil, fmt.Errorf("preview as-run: %w", err)
		}
		if head {
			head = false
			continue
		}
		// kind, program, part, item, planned, actual, end, result, ...
		if len(rec) < 8 || rec[5] == "" {
			continue // never went on air
		}
		ts := func(s string) time.Time {
			t, _ := time.ParseInLocation("2006-01-02 15:04:05.000", s, loc)
			return t
		}
		it := api.PreviewItem{Program: rec[1], Title: wf.Titles[rec[1]], Item: rec[3], Start: ts(rec[5]), End: ts(rec[6]), Result: rec[7]}
		if n, ok := wf.Names[rec[3]]; ok {
			it.Item = n
		}
		if _, err := strconv.Atoi(rec[2]); err == nil && it.Item == "" {
			it.Item = rec[3]
		}
		items = append(items, it)
	}
}
