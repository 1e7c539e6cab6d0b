package library

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"loa/audio"
	"loa/audio/loudness"
	"loa/mediastore"
	"loa/sqlite"
)

// The canonical distribution format. MPEG-1 Layer III is what the wards'
// decoder plays exactly; 44.1 kHz mono at 64 kbps CBR keeps everything up
// to LAME's 16.5 kHz lowpass (horn speakers stop near 8 kHz) at 28.8 MB an
// hour, which matters on metered 3G/4G links.
const (
	CanonicalRate     = 44100
	CanonicalBitrate  = "64k"
	canonicalChannels = 1
)

// formatWhitelist is the containers ffmpeg may read an upload as. Playlist
// and concat formats (hls, concat, ...) are left out: they make ffmpeg open
// other files or URLs named inside the upload.
const formatWhitelist = "mp3,wav,flac,ogg,mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,aac,amr,amrnb,amrwb,asf,aiff,caf,w64,au,ac3,eac3,wv,ape,avi,flv,mpeg,mpegts,mp2,voc,rm,dts,truehd,tta,wavpack,mpc,mpc8"

// UploadInfo is what an operator says about an upload.
type UploadInfo struct {
	// Name is the file name programs refer to it by.
	Name  string
	Title string
	By    string
	// Replace gives Name to this upload if other media has it.
	Replace bool
}

func (u *UploadInfo) check() error {
	n := u.Name
	switch {
	case n == "" || n == "." || n == "..":
		return badInput("upload name %q: want the file name", n)
	case len(n) > 255 || !utf8.ValidString(n):
		return badInput("upload name: too long or not UTF-8")
	case strings.ContainsAny(n, "/\\"):
		return badInput("upload name %q: a file name, without folders", n)
	case mediastore.ValidKey(n):
		return badInput("upload name %q: looks like a sha256 key; rename the file", n)
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return badInput("upload name %q: control characters", n)
		}
	}
	if u.Title == "" {
		u.Title = strings.TrimSuffix(n, filepath.Ext(n))
	}
	if len(u.Title) > 500 || !utf8.ValidString(u.Title) {
		return badInput("title: too long or not UTF-8")
	}
	return nil
}

// Ingest reads an upload from r (streamed to disk, never held in memory)
// and adds it to the library. created is false when the same content was
// already there (nothing is transcoded again then).
func (s *Service) Ingest(ctx context.Context, r io.Reader, up UploadInfo) (m sqlite.CityMedia, created bool, err error) {
	if err := up.check(); err != nil {
		return m, false, err
	}
	f, err := s.Files.TempFile("spool-*")
	if err != nil {
		return m, false, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, s.MaxUpload()+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, false, fmt.Errorf("receive upload: %w", err)
	}
	if n > s.MaxUpload() {
		return m, false, fmt.Errorf("%w: over %d MB", ErrTooBig, s.Config.MaxUploadMB)
	}
	return s.IngestFile(ctx, f.Name(), hex.EncodeToString(h.Sum(nil)), n, up)
}

// IngestFile adds the complete upload at path (sha256 origSHA, origSize
// bytes) to the library.
func (s *Service) IngestFile(ctx context.Context, path, origSHA string, origSize int64, up UploadInfo) (sqlite.CityMedia, bool, error) {
	if origSize == 0 {
		return sqlite.CityMedia{}, false, &NotAudioError{Reason: "the file is empty"}
	}
	// The same file again: no transcode, at most a new name.
	if m, err := s.DB.MediaByOriginal(ctx, origSHA); err == nil {
		if err := nameTaken(s.DB.NameMedia(ctx, up.Name, m.SHA256, up.Replace)); err != nil {
			return sqlite.CityMedia{}, false, err
		}
		m, err = s.DB.Media(ctx, m.SHA256)
		return m, false, err
	} else if !errors.Is(err, sqlite.ErrNotFound) {
		return sqlite.CityMedia{}, false, err
	}

	kind, err := recordingContainer(path)
	if err != nil {
		return sqlite.CityMedia{}, false, fmt.Errorf("read upload %s: %w", up.Name, err)
	}
	var claim uploadClaim
	if kind != "" {
		// Not for the MPEG probe (convert.go): the container's own
		// claim, if it makes one, is ffprobe's.
		claim = s.ffprobe(ctx, path, up.Name)
	} else if claim, err = s.probeUpload(ctx, path, up.Name); err != nil {
		return sqlite.CityMedia{}, false, err
	}
	if err := claim.plausible(up.Name, origSize, claim.duration); err != nil {
		return sqlite.CityMedia{}, false, err
	}
	src, conv := path, conversion{}
	if kind != "" {
		wav, err := s.tempName("canon-conv-*.wav")
		if err != nil {
			return sqlite.CityMedia{}, false, err
		}
		defer os.Remove(wav)
		if err := s.convertFFmpeg(ctx, path, wav, up.Name, kind); err != nil {
			return sqlite.CityMedia{}, false, err
		}
		src, conv = wav, conversion{from: kind, by: "ffmpeg"}
	}
	out, err := s.Files.TempFile("canon-*.mp3")
	if err != nil {
		return sqlite.CityMedia{}, false, err
	}
	out.Close()
	defer os.Remove(out.Name())
	if err := s.transcode(ctx, src, out.Name(), up.Name); err != nil {
		var notAudio *NotAudioError
		if !errors.As(err, &notAudio) || claim.by != "header" || !isMPEG(claim.format) {
			return sqlite.CityMedia{}, false, err
		}
		// The wards' decoder read this MPEG stream and ffmpeg does not
		// (free format): the wards' decoder converts it.
		wav, terr := s.tempName("canon-conv-*.wav")
		if terr != nil {
			return sqlite.CityMedia{}, false, terr
		}
		defer os.Remove(wav)
		if cerr := s.convertNative(ctx, path, wav); cerr != nil {
			if ctx.Err() != nil {
				return sqlite.CityMedia{}, false, ctx.Err()
			}
			if errors.Is(cerr, audio.ErrCorrupt) || errors.Is(cerr, audio.ErrNotAudio) || errors.Is(cerr, audio.ErrUnsupported) {
				return sqlite.CityMedia{}, false, damaged(up.Name, audio.Reason(cerr))
			}
			return sqlite.CityMedia{}, false, fmt.Errorf("decode %s: %w", up.Name, cerr)
		}
		if err := s.transcode(ctx, wav, out.Name(), up.Name); err != nil {
			return sqlite.CityMedia{}, false, err
		}
		conv = conversion{from: claim.format + " stream that ffmpeg refuses", by: "loa MPEG decoder"}
	}
	a, err := analyze(out.Name())
	if err != nil {
		return sqlite.CityMedia{}, false, err
	}
	if err := claim.check(up.Name, origSize, framesDur(a.frames)); err != nil {
		return sqlite.CityMedia{}, false, err
	}
	key, size, err := syncAndHash(out.Name())
	if err != nil {
		return sqlite.CityMedia{}, false, err
	}
	committed := false
	if !s.Files.Has(key) {
		if err := s.Files.CommitFile(out.Name(), s.Files.Path(key)); err != nil {
			return sqlite.CityMedia{}, false, err
		}
		committed = true
	}
	m := sqlite.CityMedia{SHA256: key, Size: size, Rate: CanonicalRate, Frames: a.frames,
		LoudnessLUFS: a.loudness, HasLoudness: a.hasLoudness, TruePeakDB: a.truePeak,
		Title: up.Title, OriginalName: up.Name, OriginalSHA256: origSHA, OriginalSize: origSize, AddedBy: up.By}
	created, err := s.DB.AddNamedMedia(ctx, m, up.Name, up.Replace)
	if err = nameTaken(err); err != nil {
		if committed {
			// Nothing refers to it: the same content was not in the library.
			if _, merr := s.DB.Media(ctx, key); errors.Is(merr, sqlite.ErrNotFound) {
				s.Files.Remove(key)
			}
		}
		return sqlite.CityMedia{}, false, err
	}
	m, err = s.DB.Media(ctx, key)
	if err == nil {
		log := s.Log
		if conv.by != "" {
			log = log.With("converted_from", conv.from, "converted_by", conv.by)
		}
		log.Info("media added", "media", key, "name", up.Name, "by", up.By, "created", created,
			"duration", m.Duration().Round(time.Millisecond), "loudness_lufs", a.loudness)
	}
	return m, created, err
}

// tempName creates an empty temporary file on the store's file system
// and returns its name.
func (s *Service) tempName(pattern string) (string, error) {
	f, err := s.Files.TempFile(pattern)
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// nameTaken says what to do about a name other media has.
func nameTaken(err error) error {
	if errors.Is(err, sqlite.ErrExists) {
		return fmt.Errorf("%w: %v; rename the file, or upload it with replace to give the name to the new file", ErrNameTaken, err)
	}
	return err
}

// transcodeSlot waits for one of the transcoders' places (ffmpeg runs
// and native decodes share them), then bounds the work by ingest.timeout;
// done gives the place back.
func (s *Service) transcodeSlot(ctx context.Context) (context.Context, func(), error) {
	select {
	case s.transcodes <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, s.Config.Timeout)
	return ctx, func() { cancel(); <-s.transcodes }, nil
}

// transcode runs ffmpeg: the first audio stream of src, as the canonical
// MP3 at dst. Metadata is dropped and the output is bit-exact, so the same
// audio always gives the same file (and the same sha256).
func (s *Service) transcode(ctx context.Context, src, dst, name string) error {
	ctx, done, err := s.transcodeSlot(ctx)
	if err != nil {
		return err
	}
	defer done()
	cmd := childCommand(ctx, s.Config.FFmpeg,
		"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-protocol_whitelist", "file", "-format_whitelist", formatWhitelist,
		"-i", "file:"+src,
		"-map", "0:a:0", "-vn", "-sn", "-dn",
		"-ac", "1", "-ar", fmt.Sprint(CanonicalRate),
		"-c:a", "libmp3lame", "-b:a", CanonicalBitrate,
		"-map_metadata", "-1", "-id3v2_version", "0", "-write_xing", "1",
		"-fflags", "+bitexact", "-flags:a", "+bitexact",
		"-f", "mp3", "file:"+dst)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("transcode %s: took longer than %s", name, s.Config.Timeout)
		}
		return ctx.Err()
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("transcode %s: cannot run ffmpeg: %w", name, err)
	}
	return unreadable(name, "", ffmpegReason(stderr.String(), src, name))
}

// ffmpegReason turns ffmpeg's complaint into a reason: its known messages
// in plain words, others as they are, without the temporary file's name.
func ffmpegReason(msg, src, name string) string {
	msg = strings.ReplaceAll(msg, "file:"+src, name)
	msg = strings.ReplaceAll(msg, src, name)
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "To ignore this") {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "; ")
	switch {
	case strings.Contains(text, "matches no streams"):
		return "the file has no audio stream"
	case strings.Contains(text, "Invalid data found when processing input"):
		return "not an audio file (ffmpeg cannot read it: Invalid data found when processing input)"
	case strings.Contains(text, "Format not on whitelist"):
		return "not an audio file (a playlist or container loa does not read)"
	case text == "":
		return "ffmpeg failed without saying why"
	}
	if len(text) > 400 {
		text = text[len(text)-400:]
	}
	return "ffmpeg: " + text
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = append(t.b[:0], t.b[len(t.b)-8<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.ToValidUTF8(t.b, []byte("?"))) }

type analysis struct {
	frames      int64
	loudness    float64
	hasLoudness bool
	truePeak    float64
}

// analyze decodes the canonical file with the wards' own decoder, checks
// it decodes completely, and measures its loudness on that decode.
func analyze(path string) (analysis, error) {
	info, err := audio.Probe(path)
	if err != nil {
		if errors.Is(err, audio.ErrNotAudio) || errors.Is(err, audio.ErrCorrupt) {
			// ffmpeg wrote no frames: the upload held no audio samples.
			return analysis{}, &NotAudioError{Reason: "it holds no audio (" + audio.Reason(err) + ")"}
		}
		return analysis{}, fmt.Errorf("canonical file: %w", err)
	}
	if info.Codec != "mp3" || info.Rate != CanonicalRate || info.Channels != canonicalChannels {
		return analysis{}, fmt.Errorf("canonical file is %s %d Hz %d channels, not MP3 %d Hz mono", info.Codec, info.Rate, info.Channels, CanonicalRate)
	}
	// The wards' own check (audio.Prepare runs the same code when the file
	// arrives at a ward): what fails here would be refused on every ward.
	meter := loudness.NewMeter(CanonicalRate, canonicalChannels)
	v, err := audio.Verify(path, meter.Write)
	if err != nil {
		if errors.Is(err, audio.ErrCorrupt) {
			return analysis{}, &NotAudioError{Reason: "it decodes to no usable audio (" + audio.Reason(err) + ")"}
		}
		return analysis{}, fmt.Errorf("canonical file does not decode: %w", err)
	}
	n := v.Frames
	if info.Frames > 0 && n != info.Frames {
		return analysis{}, fmt.Errorf("canonical file decodes to %d frames, its header says %d", n, info.Frames)
	}
	a := analysis{frames: n, truePeak: meter.TruePeak()}
	if l := meter.Integrated(); !math.IsInf(l, 0) && !math.IsNaN(l) {
		a.loudness, a.hasLoudness = l, true
	}
	if math.IsInf(a.truePeak, 0) || math.IsNaN(a.truePeak) {
		a.truePeak = -150
	}
	return a, nil
}

// syncAndHash flushes the file to disk and returns its sha256 and size.
func syncAndHash(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
