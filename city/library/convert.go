package library

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"loa/audio"
)

// Some uploads are converted to a plain WAV before the ingest proper, by
// the one conversion step below, so that what the ingest checks is a file
// whose header states the truth:
//
//   - a recording made in a browser (MediaRecorder: WebM/Opus in Chromium
//     and Firefox, Ogg/Opus, MP4/AAC in Safari) has no duration and no
//     cues, and its last cluster may be cut where the recorder stopped.
//     Worse, its compressed bytes may happen to hold two MPEG frame
//     headers the right distance apart: the wards' own probe then reads
//     the file as an MP3 whose only frame is cut and the upload was
//     refused as "damaged or truncated" (about one recording in seven
//     measured on 3 s tone recordings). So a container of these families
//     is never given to the MPEG probe; ffmpeg remuxes and decodes it to
//     WAV, and the WAV goes through the ingest like any upload.
//   - an MPEG stream that the wards' decoder plays but ffmpeg refuses
//     (free-format MP3 and MP2: ffmpeg 5.1 answers "Invalid data found
//     when processing input") is decoded to WAV by the wards' decoder,
//     with the wards' checks, and that WAV is transcoded.
//
// Either way the loudness, the claim check and the canonical transcode are
// the ingest's own (IngestFile); nothing is checked twice or differently.

// conversion says how an upload was converted before its transcode.
type conversion struct {
	// from is the container or stream converted ("webm", "ogg", "mp4",
	// "mp3 free format", ...); "" when the upload was not converted.
	from string
	// by is what converted it: "ffmpeg" or "loa MPEG decoder".
	by string
}

// recordingContainer says which container family path is, by its first
// bytes, for the containers browsers record into: "webm" (Matroska/EBML),
// "ogg", "mp4" (ISO base media: MP4, M4A, 3GP, MOV). "" for anything else.
func recordingContainer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var h [12]byte
	n, err := io.ReadFull(f, h[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	b := h[:n]
	switch {
	case n >= 4 && b[0] == 0x1a && b[1] == 0x45 && b[2] == 0xdf && b[3] == 0xa3:
		return "webm", nil
	case n >= 4 && string(b[:4]) == "OggS":
		return "ogg", nil
	case n >= 8 && string(b[4:8]) == "ftyp":
		return "mp4", nil
	}
	return "", nil
}

// convertedLimit is the largest WAV a conversion may write for an upload
// limit of maxUpload bytes: 32 times the upload (the canonical WAV is
// 705.6 kbps, 29 times a 24 kbps Opus recording), within what a WAV
// header can count.
func convertedLimit(maxUpload int64) int64 {
	return min(32*maxUpload, 1<<32-1<<20)
}

// convertFFmpeg is the conversion step: one ffmpeg run, bounded in time
// (ingest.timeout) and in output size (convertedLimit), that reads the
// first audio stream of src (a file named name, in the container kind)
// and writes it at dst as 16-bit mono WAV at the canonical rate. A file
// ffmpeg cannot read is a NotAudioError naming it, in Vietnamese and
// English, with ffmpeg's reason.
func (s *Service) convertFFmpeg(ctx context.Context, src, dst, name, kind string) error {
	ctx, done, err := s.transcodeSlot(ctx)
	if err != nil {
		return err
	}
	defer done()
	limit := convertedLimit(s.MaxUpload())
	cmd := childCommand(ctx, s.Config.FFmpeg,
		"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-protocol_whitelist", "file", "-format_whitelist", formatWhitelist,
		"-i", "file:"+src,
		"-map", "0:a:0", "-vn", "-sn", "-dn",
		"-ac", "1", "-ar", fmt.Sprint(CanonicalRate), "-c:a", "pcm_s16le",
		"-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
		"-fs", fmt.Sprint(limit), "-f", "wav", "file:"+dst)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("convert %s: took longer than %s", name, s.Config.Timeout)
		}
		return ctx.Err()
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("convert %s: cannot run ffmpeg: %w", name, err)
		}
		return unreadable(name, kind, ffmpegReason(stderr.String(), src, name))
	}
	if st, err := os.Stat(dst); err != nil {
		return fmt.Errorf("convert %s: %w", name, err)
	} else if st.Size() >= limit-64<<10 {
		return &NotAudioError{Reason: fmt.Sprintf("%s: bản ghi quá dài, không lưu gì / the recording is too long, nothing was stored: it decodes to over %s of audio (%d MB uploads at most)",
			name, fmtDur(framesDur(limit/2)), s.Config.MaxUploadMB)}
	}
	if msg := stderr.String(); msg != "" {
		// A recording stopped mid-cluster: ffmpeg decodes every whole
		// packet and says the file ended early.
		s.Log.Info("upload converted with warnings", "name", name, "from", kind, "ffmpeg", ffmpegReason(msg, src, name))
	}
	return nil
}

// unreadable is the 422 for an upload ffmpeg cannot read; kind is its
// container when it was recognised ("webm", ...).
func unreadable(name, kind, reason string) error {
	vi, en := "tệp này", "this file"
	if kind != "" {
		vi, en = "tệp "+kind+" này", "this "+kind+" file"
	}
	return &NotAudioError{Reason: fmt.Sprintf("%s: ffmpeg không đọc được %s, không lưu gì / ffmpeg cannot read %s, nothing was stored: %s", name, vi, en, reason)}
}

// convertNative decodes src, an MPEG audio stream the wards' decoder
// reads, to a WAV at dst at the canonical rate, with the checks a ward
// makes when a file arrives (audio.Prepare).
func (s *Service) convertNative(ctx context.Context, src, dst string) error {
	ctx, done, err := s.transcodeSlot(ctx)
	if err != nil {
		return err
	}
	defer done()
	if _, err := audio.PrepareContext(ctx, src, dst, CanonicalRate, nil); err != nil {
		return err
	}
	return nil
}

// isMPEG reports whether a native probe's codec is MPEG audio.
func isMPEG(codec string) bool { return codec == "mp3" || codec == "mp2" || codec == "mp1" }
