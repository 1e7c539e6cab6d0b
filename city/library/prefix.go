package library

import (
	"context"
	"fmt"
	"os"

	"loa/mediastore"
	"loa/sqlite"
)

// SpeakBefore renders prefix with espeak-ng (after Normalize) and puts it,
// with half a second of silence, before the library item key, as a new
// item named after the alert id: a test alert spoken with its prefix
// ("Đây là bản tin thử nghiệm.") is one file the ward plays as it plays
// any alert.
func (s *Service) SpeakBefore(ctx context.Context, id, prefix, voice string, speed int, key, by string) (sqlite.CityMedia, error) {
	if err := CheckKey(key); err != nil {
		return sqlite.CityMedia{}, err
	}
	speech, err := s.Files.TempFile("prefix-*.wav")
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	speech.Close()
	defer os.Remove(speech.Name())
	spoken, _ := s.Normalize(prefix, voice)
	if err := s.renderSpeech(ctx, spoken, voice, speed, speech.Name()); err != nil {
		return sqlite.CityMedia{}, fmt.Errorf("speak the test alert's prefix with %w", err)
	}
	out, err := s.Files.TempFile("prefixed-*.wav")
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	out.Close()
	defer os.Remove(out.Name())
	rate := fmt.Sprint(CanonicalRate)
	b, err := childCommand(ctx, s.Config.FFmpeg, "-nostdin", "-v", "error", "-y",
		"-i", speech.Name(), "-f", "lavfi", "-t", "0.5", "-i", "anullsrc=r="+rate+":cl=mono", "-i", s.Files.Path(key),
		"-filter_complex", "[0]aresample="+rate+",aformat=channel_layouts=mono[p];[2]aresample="+rate+",aformat=channel_layouts=mono[m];[p][1][m]concat=n=3:v=0:a=1",
		"-ac", "1", out.Name()).CombinedOutput()
	if err != nil {
		return sqlite.CityMedia{}, fmt.Errorf("put the test prefix before %s with ffmpeg: %v: %s", key, err, tail(string(b)))
	}
	sha, size, err := mediastore.HashFile(out.Name())
	if err != nil {
		return sqlite.CityMedia{}, err
	}
	m, _, err := s.IngestFile(ctx, out.Name(), sha, size, UploadInfo{Name: "alert-" + id + "-test.wav", Title: "Cảnh báo thử nghiệm / test alert " + id, By: by})
	if err != nil {
		return m, fmt.Errorf("test prefix of alert %s: %w", id, err)
	}
	return m, nil
}
