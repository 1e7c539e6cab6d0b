package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"loa/audio"
)

// uploadClaim is what an upload's own header says about its audio, to be
// held against what it decodes to. ffmpeg transcodes a damaged file
// without complaint: a truncated MP3 whose header says 30 minutes becomes
// a 0.3 s item, a WAV whose header gives a sample rate of 8 Hz becomes an
// hour and a half of noise. The ward refuses such files; so must the city.
type uploadClaim struct {
	// format is the container: "mp3", "wav", "flac" (audio.Probe), or
	// ffprobe's format name.
	format string
	// duration is the length the header gives; 0 when it gives none or
	// only an estimate (ffprobe's guess from the bitrate).
	duration time.Duration
	// by says who read the header, for the log.
	by string
}

// minWAVByteRate is the fewest bytes a second a WAV-family file can carry:
// 4 kbps, below any codec found in WAV files (GSM 6.10 needs 13 kbps,
// G.723.1 5.3 kbps). A file that decodes to more seconds than that allows
// has a header that lies about its rate.
const minWAVByteRate = 500

// wavFamily are the containers of uncompressed-style audio whose header
// alone sets the duration.
var wavFamily = map[string]bool{"wav": true, "w64": true, "aiff": true, "caf": true, "au": true}

// probeUpload reads the upload's header. A file the wards' own probe calls
// corrupt (truncated MP3, WAV data chunk longer than the file, ...) is
// refused here; formats it does not read (AAC, Ogg, ...) are asked of
// ffprobe, whose failure is no refusal: ffmpeg's own complaint is clearer.
func (s *Service) probeUpload(ctx context.Context, path, name string) (uploadClaim, error) {
	info, err := audio.Probe(path)
	switch {
	case err == nil:
		return uploadClaim{format: info.Codec, duration: info.Duration, by: "header"}, nil
	case errors.Is(err, audio.ErrCorrupt):
		return uploadClaim{}, damaged(name, audio.Reason(err))
	case errors.Is(err, audio.ErrNotAudio), errors.Is(err, audio.ErrUnsupported):
		return s.ffprobe(ctx, path, name), nil
	default:
		return uploadClaim{}, fmt.Errorf("probe upload %s: %w", name, err)
	}
}

// ffprobe asks ffprobe what the container says. It never fails: no answer
// is no claim.
func (s *Service) ffprobe(ctx context.Context, path, name string) uploadClaim {
	if s.Config.FFprobe == "" {
		return uploadClaim{}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := childCommand(ctx, s.Config.FFprobe, "-hide_banner", "-v", "warning",
		"-protocol_whitelist", "file", "-format_whitelist", formatWhitelist,
		"-show_entries", "format=format_name,duration", "-of", "json", "file:"+path)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.Log.Debug("ffprobe of an upload failed", "name", name, "err", err, "stderr", stderr.String())
		return uploadClaim{}
	}
	var res struct {
		Format struct {
			Name     string `json:"format_name"`
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return uploadClaim{}
	}
	cl := uploadClaim{format: res.Format.Name, by: "ffprobe"}
	// "Estimating duration from bitrate": a guess, not a claim.
	if strings.Contains(stderr.String(), "Estimating duration") {
		return cl
	}
	if s, err := strconv.ParseFloat(res.Format.Duration, 64); err == nil && s > 0 && s < 1e7 {
		cl.duration = time.Duration(s * float64(time.Second))
	}
	return cl
}

// check holds what the upload (size bytes) decoded to against its claim.
// The tolerance, 1 s or 3 %, is far above what encoder delay and padding
// make, and far below a truncation anyone would notice.
func (cl uploadClaim) check(name string, size int64, decoded time.Duration) error {
	if err := cl.plausible(name, size, decoded); err != nil {
		return err
	}
	if cl.duration > 0 {
		tol := max(time.Second, cl.duration*3/100)
		if d := decoded - cl.duration; d > tol || -d > tol {
			return damaged(name, fmt.Sprintf("it decodes to %s but its header says %s", fmtDur(decoded), fmtDur(cl.duration)))
		}
	}
	return nil
}

// plausible refuses a WAV-family file of size bytes that holds d of
// audio at fewer than minWAVByteRate bytes a second. Checked on the claim
// before transcoding (a lying header must not cost an hour of ffmpeg) and
// on the decoded length after.
func (cl uploadClaim) plausible(name string, size int64, d time.Duration) error {
	if !wavFamily[cl.format] || d <= 0 {
		return nil
	}
	if rate := float64(size) / d.Seconds(); rate < minWAVByteRate {
		f := strings.ToUpper(cl.format)
		return damaged(name, fmt.Sprintf("its header makes %s of %s into %s of audio (%.0f bytes a second; real %s audio needs at least %d): the header lies",
			sizeString(size), f, fmtDur(d), math.Round(rate), f, minWAVByteRate))
	}
	return nil
}

// damaged is the 422 for an upload the wards would refuse.
func damaged(name, reason string) error {
	return &NotAudioError{Reason: fmt.Sprintf("%s: tệp âm thanh hỏng hoặc bị cắt, các đài phường sẽ từ chối; không lưu gì / damaged or truncated audio that the wards would refuse; nothing was stored: %s", name, reason)}
}

// fmtDur writes a duration the way an operator reads it: 0.34 s, 12.5 s,
// 1:31:52.
func fmtDur(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	}
	s := int64(d.Round(time.Second) / time.Second)
	if s < 3600 {
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// sizeString writes a byte count in KB/MB.
func sizeString(n int64) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 10<<20:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// framesDur is the length of n frames of the canonical format.
func framesDur(n int64) time.Duration {
	return time.Duration(n) * time.Second / CanonicalRate
}
