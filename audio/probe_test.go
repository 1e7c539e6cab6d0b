package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProbeFormats probes real files of every kind and checks that the
// header-level answer matches what the decoder actually produces.
func TestProbeFormats(t *testing.T) {
	dir := t.TempDir()
	sig := func(rate, ch int, sec float64) string {
		p := filepath.Join(dir, fmt.Sprintf("sig_%d_%d_%g.wav", rate, ch, sec))
		if _, err := os.Stat(p); err != nil {
			writeWAV16(t, p, rate, ch, testSignal(rate, ch, sec))
		}
		return p
	}
	type tc struct {
		name     string
		make     func(dst string) // nil: dst made by name
		tools    []string
		codec    string
		rate, ch int
		frames   int64 // 0: only compare with the decoder
	}
	lame := func(rate, ch int, sec float64, args ...string) func(string) {
		return func(dst string) {
			run(t, "lame", append(append([]string{"--quiet"}, args...), sig(rate, ch, sec), dst)...)
		}
	}
	ffmpeg := func(rate, ch int, sec float64, args ...string) func(string) {
		return func(dst string) {
			run(t, "ffmpeg", append(append([]string{"-nostdin", "-loglevel", "error", "-y", "-i", sig(rate, ch, sec)}, args...), dst)...)
		}
	}
	cases := []tc{
		{"mono16.wav", func(dst string) { writeWAV16(t, dst, 22050, 1, sine(22050, 440, 0.5, 1.5)) }, nil, "wav", 22050, 1, 33075},
		{"stereo24.wav", ffmpeg(48000, 2, 1, "-c:a", "pcm_s24le"), []string{"ffmpeg"}, "wav", 48000, 2, 48000},
		{"float32.wav", ffmpeg(44100, 1, 1, "-c:a", "pcm_f32le"), []string{"ffmpeg"}, "wav", 44100, 1, 44100},
		{"u8.wav", ffmpeg(8000, 1, 1, "-c:a", "pcm_u8"), []string{"ffmpeg"}, "wav", 8000, 1, 8000},
		{"unsized.wav", func(dst string) {
			// A recorder that never wrote the length: 0xFFFFFFFF means "to the end".
			writeWAV16(t, dst, 16000, 2, sine(16000, 440, 0.5, 0.5))
			setDataSize(t, dst, 0xFFFFFFFF)
		}, nil, "wav", 16000, 2, 8000},
		{"list-chunk.wav", ffmpeg(16000, 1, 1, "-c:a", "pcm_s16le", "-metadata", "title=Bản tin"), []string{"ffmpeg"}, "wav", 16000, 1, 16000},
		{"stereo.flac", ffmpeg(44100, 2, 1.5, "-c:a", "flac"), []string{"ffmpeg"}, "flac", 44100, 2, 66150},
		{"mono24.flac", ffmpeg(48000, 1, 1, "-c:a", "flac", "-sample_fmt", "s32"), []string{"ffmpeg"}, "flac", 48000, 1, 48000},
		{"cbr-info.mp3", lame(44100, 1, 1.5, "-b", "64"), []string{"lame"}, "mp3", 44100, 1, 66150},
		{"cbr-notag.mp3", lame(44100, 2, 1.5, "-t", "-b", "128"), []string{"lame"}, "mp3", 44100, 2, 0},
		{"vbr-xing.mp3", lame(48000, 2, 1.5, "-V", "4"), []string{"lame"}, "mp3", 48000, 2, 72000},
		{"id3v2.mp3", lame(22050, 1, 1, "-b", "64", "--id3v2-only", "--tt", "Bản tin sáng", "--ta", "Đài phường"), []string{"lame"}, "mp3", 22050, 1, 22050},
		{"id3v1-notag.mp3", lame(22050, 1, 1, "-t", "-b", "32", "--id3v1-only", "--tt", "ban tin"), []string{"lame"}, "mp3", 22050, 1, 0},
		{"mpeg25.mp3", lame(8000, 1, 1, "--resample", "8", "-b", "16"), []string{"lame"}, "mp3", 8000, 1, 0},
		{"ffmpeg.mp3", ffmpeg(22050, 1, 1, "-c:a", "libmp3lame", "-b:a", "32k"), []string{"ffmpeg"}, "mp3", 22050, 1, 22050},
		// MPEG Layer II (MP2), as broadcast archives hold it: 1.5 s at
		// 48 kHz is 62.5 frames of 1152, so 63.
		{"stereo.mp2", ffmpeg(48000, 2, 1.5, "-c:a", "mp2", "-b:a", "192k", "-f", "mp2"), []string{"ffmpeg"}, "mp2", 48000, 2, 63 * 1152},
		{"mono-mpeg2.mp2", ffmpeg(24000, 1, 1, "-c:a", "mp2", "-b:a", "48k", "-f", "mp2"), []string{"ffmpeg"}, "mp2", 24000, 1, 0},
		{"layer1.mp1", func(dst string) {
			// MPEG-1 Layer I (no encoder at hand writes it), 128 kbps,
			// 44.1 kHz, mono: 10 frames of 136 bytes, silent.
			frame := append([]byte{0xff, 0xff, 0x40, 0xc0}, make([]byte, 132)...)
			os.WriteFile(dst, bytes.Repeat(frame, 10), 0o644)
		}, nil, "mp1", 44100, 1, 3840},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			needTools(t, c.tools...)
			path := filepath.Join(dir, c.name)
			c.make(path)
			info, err := Probe(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Codec != c.codec || info.Rate != c.rate || info.Channels != c.ch {
				t.Errorf("Probe = %+v; want %s %d Hz %d ch", info, c.codec, c.rate, c.ch)
			}
			if c.frames != 0 && info.Frames != c.frames {
				t.Errorf("Frames = %d; want %d", info.Frames, c.frames)
			}
			if want := time.Duration(info.Frames) * time.Second / time.Duration(info.Rate); info.Duration != want {
				t.Errorf("Duration = %v; want %v", info.Duration, want)
			}
			frames, format := decodeFile(t, path)
			if int64(len(frames)) != info.Frames {
				t.Errorf("Probe says %d frames; the decoder gives %d", info.Frames, len(frames))
			}
			if format.NumChannels != c.ch || int(format.SampleRate) != c.rate {
				t.Errorf("Open format %+v", format)
			}
		})
	}
}

// TestProbeRejects checks the exact reason Probe gives for each kind of
// bad file.
func TestProbeRejects(t *testing.T) {
	dir := t.TempDir()
	wav := func(mutate func(b []byte) []byte) func(string) {
		return func(p string) {
			writeWAV16(t, p, 22050, 1, sine(22050, 440, 0.5, 0.1))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, mutate(b), 0o644)
		}
	}
	put16 := func(off int, v uint16) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint16(b[off:], v); return b }
	}
	cases := []struct {
		name   string
		make   func(path string)
		tools  []string
		kind   error
		reason string // exact, or a prefix when it ends in "…"
	}{
		{"empty.mp3", func(p string) { os.WriteFile(p, nil, 0o644) }, nil, ErrNotAudio, "the file is empty"},
		{"text.mp3", func(p string) { os.WriteFile(p, bytes.Repeat([]byte("không phải âm thanh\n"), 5000), 0o644) }, nil,
			ErrNotAudio, "no MP3 frame sync in the first 64 KiB"},
		{"image.mp3", func(p string) {
			os.WriteFile(p, append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 1000)...), 0o644)
		}, nil, ErrNotAudio, "no MP3 frame sync in the first 64 KiB"},
		{"id3-then-junk.mp3", func(p string) {
			b := append([]byte("ID3\x03\x00\x00\x00\x00\x00\x10"), make([]byte, 16+70000)...)
			os.WriteFile(p, b, 0o644)
		}, nil, ErrNotAudio, "an ID3 tag but no MP3 frame sync in the first 64 KiB after it"},
		{"id3-too-long.mp3", func(p string) {
			os.WriteFile(p, append([]byte("ID3\x03\x00\x00\x00\x40\x00\x00"), make([]byte, 100)...), 0o644)
		}, nil, ErrCorrupt, "ID3v2 tag says 1.0 MB but the file has 110 bytes"},
		{"lying.wav", func(p string) {
			writeWAV16(t, p, 22050, 1, sine(22050, 440, 0.5, 1)[:1002])
			setDataSize(t, p, 10<<20)
		}, nil, ErrCorrupt, "WAV data chunk says 10 MB but the file has 2.0 KB"},
		{"no-data.wav", wav(func(b []byte) []byte { return b[:36] }), nil, ErrCorrupt, "WAV has no data chunk"},
		{"six-channels.wav", wav(put16(22, 6)), nil, ErrUnsupported, "WAV with 6 channels; mono and stereo are supported"},
		{"adpcm.wav", wav(put16(20, 2)), nil, ErrUnsupported, "WAV with compressed samples (format 0x0002); only PCM and float are supported"},
		{"bad-align.wav", wav(put16(32, 3)), nil, ErrCorrupt, "WAV block align is 3; 1 channels of 16 bits need 2"},
		{"avi.wav", func(p string) { os.WriteFile(p, []byte("RIFF\x00\x10\x00\x00AVI LIST"), 0o644) }, nil, ErrNotAudio, "RIFF file that is not WAVE"},
		{"cut-first-frame.mp3", func(p string) {
			// 48 kHz 128 kbps: every frame is 384 bytes; no tag frame.
			src := filepath.Join(t.TempDir(), "s.wav")
			writeWAV16(t, src, 48000, 1, testSignal(48000, 1, 1))
			run(t, "lame", "--quiet", "-t", "-b", "128", src, p)
			os.Truncate(p, 100)
		}, []string{"lame"}, ErrCorrupt, "MP3 is truncated: its only frame needs 384 bytes but the file has 100"},
		{"cut-vbr.mp3", func(p string) {
			src := filepath.Join(t.TempDir(), "s.wav")
			writeWAV16(t, src, 44100, 2, testSignal(44100, 2, 3))
			run(t, "lame", "--quiet", "-V", "2", src, p)
			truncateTo(t, p, 0.5)
		}, []string{"lame"}, ErrCorrupt, "MP3 is truncated: its header says …"},
		{"short.flac", func(p string) { os.WriteFile(p, []byte("fLaC\x00\x00\x00\x22\x10\x00"), 0o644) }, nil,
			ErrCorrupt, "FLAC file ends inside its STREAMINFO header"},
		{"lying.flac", func(p string) {
			src := filepath.Join(t.TempDir(), "s.wav")
			writeWAV16(t, src, 44100, 1, sine(44100, 440, 0.5, 0.5))
			run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", src, "-c:a", "flac", p)
			b, _ := os.ReadFile(p)
			// Total samples: the low 36 bits of STREAMINFO bytes 13..17.
			b[8+13] = b[8+13]&0xf0 | 0x0f
			binary.BigEndian.PutUint32(b[8+14:], 0xffffffff)
			os.WriteFile(p, b, 0o644)
		}, []string{"ffmpeg"}, ErrCorrupt, "FLAC STREAMINFO says 68719476735 samples but the file has only …"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			needTools(t, c.tools...)
			path := filepath.Join(dir, c.name)
			c.make(path)
			_, err := Probe(path)
			if err == nil {
				t.Fatal("Probe accepted it")
			}
			got := Reason(err)
			ok := got == c.reason
			if p, prefix := strings.CutSuffix(c.reason, "…"); prefix {
				ok = strings.HasPrefix(got, p)
			}
			if !ok {
				t.Errorf("reason %q; want %q", got, c.reason)
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %v is not %v", err, c.kind)
			}
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("error %q does not start with the file name", err)
			}
			// Open and Prepare refuse it the same way.
			if _, _, err := Open(path); err == nil || Reason(err) != got {
				t.Errorf("Open: %v; want the same reason", err)
			}
		})
	}
}

// TestPrepareDamagedFLAC: a FLAC whose frames are damaged, or cut short,
// passes Probe (its header is fine) but Prepare refuses it.
func TestPrepareDamagedFLAC(t *testing.T) {
	needTools(t, "ffmpeg")
	dir := t.TempDir()
	src := filepath.Join(dir, "s.wav")
	writeWAV16(t, src, 44100, 2, testSignal(44100, 2, 2))
	good := filepath.Join(dir, "good.flac")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", src, "-c:a", "flac", good)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(b)
	for i := len(b) / 2; i < len(b)/2+64; i++ {
		damaged[i] ^= 0x5a
	}
	cases := map[string][]byte{"damaged.flac": damaged, "cut.flac": b[:len(b)*6/10]}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			os.WriteFile(path, data, 0o644)
			if _, err := Probe(path); err != nil {
				t.Fatalf("Probe: %v (the header is intact)", err)
			}
			dst := filepath.Join(dir, name+".pcm.wav")
			_, err := Prepare(path, dst, 44100, nil)
			if err == nil {
				t.Fatal("Prepare accepted it")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("error %q; want ErrCorrupt naming the file", err)
			}
			t.Logf("reason: %s", Reason(err))
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Error("dst exists")
			}
		})
	}
	if _, err := Prepare(good, filepath.Join(dir, "good.pcm.wav"), 44100, nil); err != nil {
		t.Errorf("the undamaged file: %v", err)
	}
}

// fuzzSeeds returns small valid files of each kind.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	// WAV: canonical 16-bit mono, 100 frames.
	w := wavHeader(8000, 1, 100)
	seeds = append(seeds, append(w, make([]byte, 200)...))
	// FLAC: STREAMINFO only (44.1 kHz stereo 16-bit, 1000 samples).
	fl := []byte("fLaC\x80\x00\x00\x22\x10\x00\x10\x00\x00\x00\x00\x00\x00\x00\x0a\xc4\x42\xf0\x00\x00\x03\xe8")
	seeds = append(seeds, append(fl, make([]byte, 16)...))
	// MP3: three silent MPEG-2 Layer III frames (22.05 kHz mono 32 kbps),
	// behind an ID3v2 tag.
	frame := append([]byte{0xff, 0xf3, 0x48, 0xc4}, make([]byte, 100)...)
	mp3 := []byte("ID3\x03\x00\x00\x00\x00\x00\x04abcd")
	for range 3 {
		mp3 = append(mp3, frame...)
	}
	seeds = append(seeds, mp3)
	// A Xing tag frame (MPEG-1 mono 128 kbps) with frame count and LAME delay.
	x := make([]byte, 417)
	copy(x, []byte{0xff, 0xfb, 0x92, 0xc4})
	copy(x[4+17:], "Info\x00\x00\x00\x0f\x00\x00\x00\x02\x00\x00\x03\x41")
	copy(x[4+17+8+12+100:], "LAME3.100")
	seeds = append(seeds, append(x, x...))
	return seeds
}

// FuzzProbe: Probe never panics or hangs, and what it accepts is sane.
func FuzzProbe(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := probeFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var pe probeError
			if !errors.As(err, &pe) || pe.reason == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		i := p.info
		if i.Rate < 8000 || i.Rate > 192000 || i.Channels < 1 || i.Channels > 2 || i.Frames < 0 {
			t.Fatalf("accepted with %+v", i)
		}
	})
}

// FuzzDecode: a file that Probe accepts decodes to an error or to audio,
// without a panic or a hang, in bounded output.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, _, err := Open(path)
		if err != nil {
			return
		}
		defer s.Close()
		buf := make([][2]float64, 4096)
		total := 0
		for total < 10_000_000 {
			n, ok := s.Stream(buf)
			total += n
			if !ok {
				break
			}
		}
		if total >= 10_000_000 {
			t.Fatalf("%d bytes decode to over %d frames", len(data), total)
		}
	})
}

// TestTruncatedLastFrame cuts an MP3 inside its last frame (a recording
// stopped, a copy interrupted): Probe warns, in Vietnamese and English,
// and counts the complete frames; Prepare plays every one of them, the
// same samples as the whole file up to the cut.
func TestTruncatedLastFrame(t *testing.T) {
	needTools(t, "lame")
	dir := t.TempDir()
	src := filepath.Join(dir, "s.wav")
	writeWAV16(t, src, 48000, 1, testSignal(48000, 1, 3))
	whole := filepath.Join(dir, "whole.mp3")
	// 48 kHz 128 kbps: every frame is 384 bytes; no tag frame.
	run(t, "lame", "--quiet", "-t", "-b", "128", src, whole)
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mp3")
	if err := os.WriteFile(cut, b[:60*384+100], 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := Probe(cut)
	if err != nil {
		t.Fatalf("Probe refuses a file whose last frame is cut: %v", err)
	}
	if info.Frames != 60*1152 {
		t.Errorf("Probe says %d frames; want the 60 complete MP3 frames, %d", info.Frames, 60*1152)
	}
	want := "MP3 bị cắt cụt: khung cuối, ở byte 23040, cần 384 byte nhưng tệp chỉ còn 100; phát mọi khung đầy đủ trước nó / " +
		"MP3 is truncated: the last frame, at byte 23040, needs 384 bytes but the file ends after 100; every complete frame before it is played"
	if len(info.Warnings) != 1 || info.Warnings[0] != want {
		t.Errorf("warnings %q; want [%q]", info.Warnings, want)
	}
	p, err := Prepare(cut, filepath.Join(dir, "cut.wav"), 48000, nil)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if p.Frames != info.Frames || len(p.Info.Warnings) != 1 {
		t.Errorf("Prepare wrote %d frames with warnings %q; want %d and the warning", p.Frames, p.Info.Warnings, info.Frames)
	}
	all, _ := decodeFile(t, whole)
	got := readPCM(t, filepath.Join(dir, "cut.wav"))
	n := int(info.Frames) // a frame's output depends on it and the frames before
	if v := snr(all[:n], got[:n], 0); v < 90 {
		t.Errorf("SNR %.1f dB against the whole file's decode; want >= 90", v)
	}
}
