package audio

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gopxl/beep/v2"
	beepmp3 "github.com/gopxl/beep/v2/mp3"
)

// mp3Fixture is one encoding of testSignal.
type mp3Fixture struct {
	name     string
	rate     int
	channels int
	encoder  string // "lame" or "ffmpeg"
	args     []string
}

func (f mp3Fixture) family() string {
	switch {
	case f.rate >= 32000:
		return "MPEG-1"
	case f.rate >= 16000:
		return "MPEG-2"
	}
	return "MPEG-2.5"
}

// mp3Matrix covers every sampling rate of MPEG-1, 2 and 2.5 Layer III,
// mono, joint and simple stereo, CBR at the lowest and a high bitrate, and
// VBR; with lame and with ffmpeg's libmp3lame and libshine. lame is told
// the rate (--resample) so that it does not pick another for low bitrates.
func mp3Matrix() []mp3Fixture {
	var m []mp3Fixture
	lame := func(name string, rate, ch int, args ...string) {
		a := append([]string{"--quiet", "--resample", fmt.Sprintf("%g", float64(rate)/1000)}, args...)
		m = append(m, mp3Fixture{name, rate, ch, "lame", a})
	}
	for _, r := range []int{32000, 44100, 48000} {
		lame(fmt.Sprintf("lame_%d_mono_cbr32", r), r, 1, "-m", "m", "-b", "32")
		lame(fmt.Sprintf("lame_%d_mono_cbr128", r), r, 1, "-m", "m", "-b", "128")
		lame(fmt.Sprintf("lame_%d_mono_v6", r), r, 1, "-m", "m", "-V", "6")
		lame(fmt.Sprintf("lame_%d_joint_cbr64", r), r, 2, "-m", "j", "-b", "64")
		lame(fmt.Sprintf("lame_%d_joint_cbr192", r), r, 2, "-m", "j", "-b", "192")
		lame(fmt.Sprintf("lame_%d_joint_v2", r), r, 2, "-m", "j", "-V", "2")
		lame(fmt.Sprintf("lame_%d_stereo_cbr96", r), r, 2, "-m", "s", "-b", "96")
	}
	for _, r := range []int{16000, 22050, 24000} {
		for _, b := range []string{"24", "32", "48", "64"} {
			lame(fmt.Sprintf("lame_%d_mono_cbr%s", r, b), r, 1, "-m", "m", "-b", b)
		}
		lame(fmt.Sprintf("lame_%d_mono_v7", r), r, 1, "-m", "m", "-V", "7")
		lame(fmt.Sprintf("lame_%d_joint_cbr32", r), r, 2, "-m", "j", "-b", "32")
		lame(fmt.Sprintf("lame_%d_joint_cbr64", r), r, 2, "-m", "j", "-b", "64")
		lame(fmt.Sprintf("lame_%d_joint_v5", r), r, 2, "-m", "j", "-V", "5")
		lame(fmt.Sprintf("lame_%d_stereo_cbr48", r), r, 2, "-m", "s", "-b", "48")
	}
	for _, r := range []int{8000, 11025, 12000} {
		for _, b := range []string{"8", "16", "24", "32"} {
			lame(fmt.Sprintf("lame_%d_mono_cbr%s", r, b), r, 1, "-m", "m", "-b", b)
		}
		lame(fmt.Sprintf("lame_%d_mono_v9", r), r, 1, "-m", "m", "-V", "9")
		lame(fmt.Sprintf("lame_%d_joint_cbr16", r), r, 2, "-m", "j", "-b", "16")
		lame(fmt.Sprintf("lame_%d_joint_cbr32", r), r, 2, "-m", "j", "-b", "32")
		lame(fmt.Sprintf("lame_%d_stereo_cbr24", r), r, 2, "-m", "s", "-b", "24")
	}
	ff := func(name string, rate, ch int, args ...string) {
		m = append(m, mp3Fixture{name, rate, ch, "ffmpeg", args})
	}
	ff("ffmpeg_lame_22050_mono_32k", 22050, 1, "-c:a", "libmp3lame", "-b:a", "32k")
	ff("ffmpeg_lame_16000_mono_24k", 16000, 1, "-c:a", "libmp3lame", "-b:a", "24k")
	ff("ffmpeg_lame_11025_mono_16k", 11025, 1, "-c:a", "libmp3lame", "-b:a", "16k")
	ff("ffmpeg_lame_8000_mono_8k", 8000, 1, "-c:a", "libmp3lame", "-b:a", "8k")
	ff("ffmpeg_lame_22050_mono_vbr", 22050, 1, "-c:a", "libmp3lame", "-q:a", "7")
	ff("ffmpeg_lame_44100_mono_64k", 44100, 1, "-c:a", "libmp3lame", "-b:a", "64k")
	ff("ffmpeg_lame_44100_joint_128k", 44100, 2, "-c:a", "libmp3lame", "-b:a", "128k")
	ff("ffmpeg_shine_44100_stereo_128k", 44100, 2, "-c:a", "libshine", "-b:a", "128k")
	ff("ffmpeg_shine_48000_mono_64k", 48000, 1, "-c:a", "libshine", "-b:a", "64k")
	// MPEG Layer II (MP2), MPEG-1 and MPEG-2 rates.
	ff("ffmpeg_mp2_48000_stereo_192k", 48000, 2, "-c:a", "mp2", "-b:a", "192k", "-f", "mp2")
	ff("ffmpeg_mp2_44100_mono_64k", 44100, 1, "-c:a", "mp2", "-b:a", "64k", "-f", "mp2")
	ff("ffmpeg_mp2_22050_mono_48k", 22050, 1, "-c:a", "mp2", "-b:a", "48k", "-f", "mp2")
	return m
}

// encodeFixture writes testSignal at the fixture's rate and encodes it.
func encodeFixture(tb testing.TB, dir string, f mp3Fixture, seconds float64) string {
	tb.Helper()
	src := filepath.Join(dir, f.name+".wav")
	writeWAV16(tb, src, f.rate, f.channels, testSignal(f.rate, f.channels, seconds))
	dst := filepath.Join(dir, f.name+".mp3")
	switch f.encoder {
	case "lame":
		run(tb, "lame", append(append([]string{}, f.args...), src, dst)...)
	case "ffmpeg":
		needTools(tb, "ffmpeg")
		run(tb, "ffmpeg", append(append([]string{"-nostdin", "-loglevel", "error", "-y", "-i", src}, f.args...), dst)...)
	}
	return dst
}

// TestDecodeMatrix decodes every fixture with Open (the go-mp3 fork) and
// with mpg123, and asks for the same length (both trim the encoder delay
// and padding the same way) and an SNR of at least 60 dB on every channel.
// go-mp3 v0.3.4 gave 0-1 dB (noise) on the 22.05 kHz 24/32 kbps files,
// 24-48 dB on joint stereo at 32-64 kbps, and errors on MPEG-2.5.
func TestDecodeMatrix(t *testing.T) {
	pureDecoding(t)
	needTools(t, "lame", "mpg123")
	dir := t.TempDir()
	type result struct {
		f        mp3Fixture
		snr      float64
		got, ref int
	}
	var mu sync.Mutex
	var results []result
	t.Run("fixtures", func(t *testing.T) {
		for _, f := range mp3Matrix() {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				path := encodeFixture(t, dir, f, 2)
				ref, refCh := mpg123Decode(t, path)
				got, format := decodeFile(t, path)
				if format.NumChannels != refCh || refCh != f.channels {
					t.Errorf("channels: Open says %d, mpg123 %d, encoded %d", format.NumChannels, refCh, f.channels)
				}
				if len(got) != len(ref) {
					t.Errorf("length: Open gives %d frames, mpg123 %d", len(got), len(ref))
				}
				worst := math.Inf(1)
				for c := range f.channels {
					worst = math.Min(worst, snr(ref, got, c))
				}
				if worst < 60 {
					t.Errorf("SNR against mpg123 is %.1f dB; want >= 60", worst)
				}
				mu.Lock()
				results = append(results, result{f, worst, len(got), len(ref)})
				mu.Unlock()
			})
		}
	})
	sort.Slice(results, func(i, j int) bool { return results[i].f.name < results[j].f.name })
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-34s %-8s %6s %6s %8s\n", "fixture", "family", "frames", "mpg123", "SNR dB")
	fam := map[string]float64{}
	for _, r := range results {
		fmt.Fprintf(&b, "%-34s %-8s %6d %6d %8.2f\n", r.f.name, r.f.family(), r.got, r.ref, r.snr)
		k := r.f.family()
		if v, ok := fam[k]; !ok || r.snr < v {
			fam[k] = r.snr
		}
	}
	for _, k := range []string{"MPEG-1", "MPEG-2", "MPEG-2.5"} {
		fmt.Fprintf(&b, "min SNR %-8s %.2f dB\n", k, fam[k])
	}
	t.Log(b.String())
}

// TestBeepMP3UsesFork decodes the file that upstream go-mp3 garbles
// (22.05 kHz mono 32 kbps: padded frames) through beep's own mp3 package,
// which proves the replace directive in go.mod is in effect.
func TestBeepMP3UsesFork(t *testing.T) {
	needTools(t, "lame", "mpg123")
	f := mp3Fixture{"bulletin_22050_mono_32k", 22050, 1, "lame", []string{"--quiet", "--resample", "22.05", "-m", "m", "-b", "32"}}
	path := encodeFixture(t, t.TempDir(), f, 2)
	ref, _ := mpg123Decode(t, path)
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := beepmp3.Decode(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s)
	if len(got) != len(ref) {
		t.Errorf("beep/mp3 gives %d frames, mpg123 %d", len(got), len(ref))
	}
	if v := snr(ref, got, 0); v < 60 {
		t.Errorf("beep/mp3 SNR against mpg123 is %.1f dB; want >= 60 (is go.mod's replace of go-mp3 gone?)", v)
	}
}

// TestMP3Seek seeks into a low-bitrate MPEG-2 file (small frames, so the
// bit reservoir reaches back several frames) and compares with the
// continuous decode.
func TestMP3Seek(t *testing.T) {
	needTools(t, "lame")
	f := mp3Fixture{"seek_22050_mono_24k", 22050, 1, "lame", []string{"--quiet", "--resample", "22.05", "-m", "m", "-b", "24"}}
	path := encodeFixture(t, t.TempDir(), f, 2)
	all, _ := decodeFile(t, path)
	s, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != len(all) {
		t.Errorf("Len() = %d, decoded %d frames", s.Len(), len(all))
	}
	for _, at := range []int{30000, 1000, 0, 576*20 + 17, len(all) - 100} {
		if err := s.Seek(at); err != nil {
			t.Fatal(err)
		}
		buf := make([][2]float64, 2000)
		n, _ := s.Stream(buf)
		want := all[at:min(at+2000, len(all))]
		if n != len(want) {
			t.Fatalf("after Seek(%d): %d frames, want %d", at, n, len(want))
		}
		if v := snr(want, buf[:n], 0); v < 90 {
			t.Errorf("after Seek(%d): SNR %.1f dB against the continuous decode; want >= 90", at, v)
		}
		if s.Position() != at+n {
			t.Errorf("Position() = %d after reading %d from %d", s.Position(), n, at)
		}
	}
}

// TestPrepareSine prepares a 1 kHz sine at 48 kHz for a 44.1 kHz station:
// still 1 kHz, same level, the right length.
func TestPrepareSine(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "sine48k.wav")
	in := sine(48000, 1000, 0.5, 3)
	writeWAV16(t, src, 48000, 1, in)
	dst := filepath.Join(dir, "out.wav")
	var observed [][2]float64
	p, err := Prepare(src, dst, 44100, func(b [][2]float64) { observed = append(observed, b...) })
	if err != nil {
		t.Fatal(err)
	}
	want := int64(math.Round(float64(len(in)) * 44100 / 48000))
	if d := p.Frames - want; d < -1 || d > 1 {
		t.Errorf("Prepare wrote %d frames; want %d ± 1", p.Frames, want)
	}
	if p.Channels != 1 || p.Info.Codec != "wav" || p.Info.Rate != 48000 || p.Info.Frames != int64(len(in)) {
		t.Errorf("Prepared = %+v", p)
	}
	out := readPCM(t, dst)
	if int64(len(out)) != p.Frames || len(observed) != len(out) {
		t.Fatalf("file has %d frames, observe saw %d, Prepared says %d", len(out), len(observed), p.Frames)
	}
	for i := range out {
		if d := math.Abs(out[i][0] - observed[i][0]); d > 1.0/32768 {
			t.Fatalf("frame %d: file %v, observed %v", i, out[i][0], observed[i][0])
		}
	}
	// Zero crossings: 1000 Hz makes 2000 per second.
	mid := out[4410 : len(out)-4410] // away from the edges
	crossings := 0
	for i := 1; i < len(mid); i++ {
		if (mid[i-1][0] < 0) != (mid[i][0] < 0) {
			crossings++
		}
	}
	freq := float64(crossings) / 2 / (float64(len(mid)) / 44100)
	if math.Abs(freq-1000) > 1 {
		t.Errorf("zero crossings say %.2f Hz; want 1000", freq)
	}
	if lvl := toneLevel(mid, 44100, 1000); math.Abs(dB(lvl/0.5)) > 0.1 {
		t.Errorf("1 kHz level is %.2f dB from the input's", dB(lvl/0.5))
	}
	if lvl := toneLevel(mid, 44100, 1010); dB(lvl/0.5) > -60 {
		t.Errorf("energy at 1010 Hz is %.1f dB; the tone moved", dB(lvl/0.5))
	}
	assertOnlyFiles(t, dir, "sine48k.wav", "out.wav")
}

// TestResampleImages upsamples 22.05 kHz to 44.1 kHz and measures the image
// of a 9 kHz tone at 22.05-9 = 13.05 kHz, with Prepare's resampler and
// with beep.Resample(6) for comparison (logged).
func TestResampleImages(t *testing.T) {
	in := sine(22050, 9000, 0.5, 2)
	measure := func(s beep.Streamer) (tone, image float64, n int) {
		out := readAll(t, s)
		mid := out[2000 : len(out)-2000]
		return dB(toneLevel(mid, 44100, 9000) / 0.5), dB(toneLevel(mid, 44100, 13050) / 0.5), len(out)
	}
	tone, image, n := measure(newResampler(&sliceStreamer{frames: in}, 22050, 44100, true))
	btone, bimage, _ := measure(beep.Resample(6, 22050, 44100, &sliceStreamer{frames: in}))
	t.Logf("9 kHz tone 22.05 -> 44.1 kHz: sinc resampler: tone %.3f dB, image %.1f dB; beep.Resample(6): tone %.3f dB, image %.1f dB", tone, image, btone, bimage)
	if n != 2*len(in) {
		t.Errorf("%d frames in, %d out; want %d", len(in), n, 2*len(in))
	}
	if math.Abs(tone) > 0.05 {
		t.Errorf("tone level changed by %.3f dB", tone)
	}
	if image > -80 {
		t.Errorf("image at 13.05 kHz is %.1f dB; want <= -80", image)
	}
}

// TestPrepareMP3 prepares a 22.05 kHz mono bulletin for a 44.1 kHz
// station and compares it with mpg123's decode resampled the same way.
func TestPrepareMP3(t *testing.T) {
	needTools(t, "lame", "mpg123")
	dir := t.TempDir()
	f := mp3Fixture{"bulletin", 22050, 1, "lame", []string{"--quiet", "--resample", "22.05", "-m", "m", "-b", "32"}}
	path := encodeFixture(t, dir, f, 2)
	dst := filepath.Join(dir, "bulletin.pcm.wav")
	p, err := Prepare(path, dst, 44100, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := mpg123Decode(t, path)
	refUp := readAll(t, newResampler(&sliceStreamer{frames: ref}, 22050, 44100, true))
	got := readPCM(t, dst)
	if p.Channels != 1 || int64(len(got)) != p.Frames || len(got) != len(refUp) {
		t.Fatalf("Prepared %+v, file %d frames, mpg123 resampled %d", p, len(got), len(refUp))
	}
	if v := snr(refUp, got, 0); v < 60 {
		t.Errorf("SNR against mpg123 %.1f dB; want >= 60", v)
	}
}

// TestPrepareStereoKeepsChannels: a stereo source gives a stereo cache file
// whose channels are not swapped or mixed.
func TestPrepareStereoKeepsChannels(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "st.wav")
	in := sine(44100, 440, 0.5, 1)
	for i := range in {
		in[i][1] = 0.25 * math.Sin(2*math.Pi*3000*float64(i)/44100)
	}
	writeWAV16(t, src, 44100, 2, in)
	dst := filepath.Join(dir, "out.wav")
	p, err := Prepare(src, dst, 44100, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := readPCM(t, dst)
	if p.Channels != 2 || len(out) != len(in) {
		t.Fatalf("Prepared %+v, %d frames", p, len(out))
	}
	for i := range out {
		for c := range 2 {
			if math.Abs(out[i][c]-in[i][c]) > 1.0/32768 {
				t.Fatalf("frame %d channel %d: %v, want %v", i, c, out[i][c], in[i][c])
			}
		}
	}
}

// TestPrepareRejects: bad sources give an error naming the file and the
// reason, and leave neither dst nor a temporary file behind.
func TestPrepareRejects(t *testing.T) {
	dir := t.TempDir()
	good := sine(22050, 440, 0.5, 1)
	cases := []struct {
		name   string
		make   func(path string)
		kind   error
		reason string
	}{
		{"empty.mp3", func(p string) { os.WriteFile(p, nil, 0o644) }, ErrNotAudio, "the file is empty"},
		{"garbage.mp3", func(p string) {
			os.WriteFile(p, []byte(strings.Repeat("this is not audio, just text named .mp3\n", 3000)), 0o644)
		}, ErrNotAudio, "no MP3 frame sync in the first 64 KiB"},
		{"lying.wav", func(p string) {
			writeWAV16(t, p, 22050, 1, good[:1002])
			setDataSize(t, p, 10<<20)
		}, ErrCorrupt, "WAV data chunk says 10 MB but the file has 2.0 KB"},
	}
	if hasTool("lame") {
		cases = append(cases, struct {
			name   string
			make   func(path string)
			kind   error
			reason string
		}{"cut.mp3", func(p string) {
			// VBR with a Xing tag, cut to 70%: the tag says more.
			src := filepath.Join(t.TempDir(), "src.wav")
			writeWAV16(t, src, 44100, 1, testSignal(44100, 1, 4))
			run(t, "lame", "--quiet", "-V", "5", src, p)
			truncateTo(t, p, 0.7)
		}, ErrCorrupt, "MP3 is truncated: its header says"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(dir, c.name)
			c.make(src)
			dst := filepath.Join(dir, "out-"+c.name+".wav")
			_, err := Prepare(src, dst, 44100, nil)
			if err == nil {
				t.Fatal("Prepare succeeded")
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), src) || !strings.HasPrefix(Reason(err), c.reason) {
				t.Errorf("error %q (reason %q); want %v naming the file with reason %q", err, Reason(err), c.kind, c.reason)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Errorf("dst exists after a failed Prepare")
			}
		})
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
	}
	assertOnlyFiles(t, dir, names...)
}

// assertOnlyFiles fails if dir holds anything but names (a leftover
// temporary file, for example).
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("unexpected file %s in %s", e.Name(), dir)
		}
	}
}

// readPCM reads a whole PCM cache file.
func readPCM(t testing.TB, path string) [][2]float64 {
	t.Helper()
	p, err := OpenPCM(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make([][2]float64, p.Frames())
	n, err := p.ReadFrames(0, out)
	if err != nil || int64(n) != p.Frames() {
		t.Fatalf("ReadFrames: %d of %d, %v", n, p.Frames(), err)
	}
	return out
}

// setDataSize overwrites the data chunk size of a canonical WAV.
func setDataSize(t testing.TB, path string, size uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{byte(size), byte(size >> 8), byte(size >> 16), byte(size >> 24)}
	if _, err := f.WriteAt(b, 40); err != nil {
		t.Fatal(err)
	}
}

// truncateTo cuts a file to a fraction of its size.
func truncateTo(t testing.TB, path string, frac float64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(float64(st.Size())*frac)); err != nil {
		t.Fatal(err)
	}
}
