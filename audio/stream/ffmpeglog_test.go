package stream

import (
	"log/slog"
	"strings"
	"testing"
)

// ffmpeg's report on stderr and its audio on stdout race: when the audio
// came first (the source says "decoded by ffmpeg"), the report's codec
// still names the stream once it comes.
func TestCodecNamedAfterTheAudio(t *testing.T) {
	s := &Source{log: slog.New(slog.DiscardHandler)}
	codec := func() string { s.mu.Lock(); defer s.mu.Unlock(); return s.codec }
	l := &ffmpegLog{s: s}
	l.playing.Store(true)
	s.setCodec(l.codec())
	if got := codec(); got != "decoded by ffmpeg" {
		t.Fatalf("before the report: %q", got)
	}
	l.read(strings.NewReader("Input #0, ogg, from 'pipe:0':\n  Stream #0:0: Audio: opus, 48000 Hz, stereo, fltp\nOutput #0, s16le, to 'pipe:1':\n  Stream #0:0: Audio: pcm_s16le, 44100 Hz, stereo, s16, 1411 kb/s\n"))
	if got := codec(); got != "opus, 48000 Hz, stereo (ffmpeg)" {
		t.Errorf("after the report: %q, want the input's codec named", got)
	}
}
