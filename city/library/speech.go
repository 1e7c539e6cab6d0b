package library

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"loa/mediastore"
	"loa/sqlite"
	"loa/vitext"
)

// Speak renders text with espeak-ng (voice, speed in words a minute),
// after Normalize, and takes the result into the library like an upload
// (transcoded to the canonical MP3, checked, measured), named after the
// alert id.
func (s *Service) Speak(ctx context.Context, id, text, voice string, speed int, by string) (sqlite.CityMedia, error) {
	f, err := s.Files.TempFile("speech-*.wav")
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	spoken, _ := s.Normalize(text, voice)
	if err := s.renderSpeech(ctx, spoken, voice, speed, path); err != nil {
		return sqlite.CityMedia{}, fmt.Errorf("speak the alert's text with %w", err)
	}
	sha, size, err := mediastore.HashFile(path)
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	title := "Cảnh báo / alert " + id
	m, _, err := s.IngestFile(ctx, path, sha, size, UploadInfo{Name: "alert-" + id + ".wav", Title: title, By: by})
	if err != nil {
		return m, fmt.Errorf("speech of alert %s: %w", id, err)
	}
	return m, nil
}

// Normalize is text as espeak-ng should read it (numbers, dates, times,
// units, the abbreviations of bulletins and the city's own, see
// loa/vitext), with every expansion, in the readings of voice's region.
func (s *Service) Normalize(text, voice string) (string, []vitext.Expansion) {
	d := vitext.North
	if voice == "vi-vn-x-south" {
		d = vitext.South
	}
	return vitext.Normalize(text, vitext.Options{Dialect: d, Abbreviations: s.Config.Abbreviations})
}

// RenderSpeech returns espeak-ng's WAV of text exactly as given (the
// console's preview, after Normalize).
func (s *Service) RenderSpeech(ctx context.Context, text, voice string, speed int) ([]byte, error) {
	f, err := s.Files.TempFile("preview-*.wav")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	if err := s.renderSpeech(ctx, text, voice, speed, path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// renderSpeech runs espeak-ng into the WAV file path.
func (s *Service) renderSpeech(ctx context.Context, text, voice string, speed int, path string) error {
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// Text on stdin, never on the command line: nothing in it can be read
	// as an option. -b 1: UTF-8.
	cmd := childCommand(tctx, s.Config.Espeak, "-v", voice, "-s", fmt.Sprint(speed), "-b", "1", "--stdin", "-w", path)
	cmd.Stdin = strings.NewReader(text)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v %s", s.Config.Espeak, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// BuiltinChime is the name of the chime loa-city makes when alerts.chime
// is empty.
const BuiltinChime = "loa-alert-chime.wav"

// Chime returns the built-in alert chime (two falling tones, 1.2 s), made
// with ffmpeg and added to the library on first use.
func (s *Service) Chime(ctx context.Context) (sqlite.CityMedia, error) {
	if key, err := s.DB.MediaByName(ctx, BuiltinChime); err == nil {
		return s.DB.Media(ctx, key)
	}
	f, err := s.Files.TempFile("chime-*.wav")
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	out, err := childCommand(ctx, s.Config.FFmpeg, "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "sine=frequency=880:duration=0.5:sample_rate=44100",
		"-f", "lavfi", "-i", "sine=frequency=660:duration=0.7:sample_rate=44100",
		"-filter_complex", "[0]afade=t=in:d=0.01,afade=t=out:st=0.3:d=0.2[a];[1]afade=t=in:d=0.01,afade=t=out:st=0.3:d=0.4[b];[a][b]concat=n=2:v=0:a=1,volume=0.7",
		"-ac", "1", path).CombinedOutput()
	if err != nil {
		return sqlite.CityMedia{}, fmt.Errorf("make the alert chime with ffmpeg: %v: %s", err, out)
	}
	sha, size, err := mediastore.HashFile(path)
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	m, _, err := s.IngestFile(ctx, path, sha, size, UploadInfo{Name: BuiltinChime, Title: "Nhạc hiệu cảnh báo / alert chime", By: "loa-city"})
	return m, err
}
