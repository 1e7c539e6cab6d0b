package library

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestClaimCheck: what an upload decodes to is held against what its
// header says, within 1 s or 3 %; a WAV whose header makes a few bytes
// into hours is refused before any transcode.
func TestClaimCheck(t *testing.T) {
	cases := []struct {
		name    string
		claim   uploadClaim
		size    int64
		decoded time.Duration
		want    string // "" = accepted
	}{
		{"as claimed", uploadClaim{format: "mp3", duration: 30 * time.Second}, 240 << 10, 30 * time.Second, ""},
		{"within 1 s", uploadClaim{format: "mp3", duration: 10 * time.Second}, 80 << 10, 10*time.Second + 900*time.Millisecond, ""},
		{"within 3 %", uploadClaim{format: "mp3", duration: time.Hour}, 28 << 20, time.Hour - 100*time.Second, ""},
		{"truncated", uploadClaim{format: "mp3", duration: 30 * time.Minute}, 3 << 10, 340 * time.Millisecond, "it decodes to 0.34 s but its header says 30:00"},
		{"no claim", uploadClaim{format: "ogg"}, 3 << 10, time.Minute, ""},
		{"lying WAV", uploadClaim{format: "wav", duration: 5512 * time.Second}, 88 << 10, 5512 * time.Second, "its header makes 88 KB of WAV into 1:31:52 of audio (16 bytes a second; real WAV audio needs at least 500): the header lies"},
		{"plain WAV", uploadClaim{format: "wav", duration: 5 * time.Second}, 441 << 10, 5 * time.Second, ""},
	}
	for _, c := range cases {
		err := c.claim.check("tin.wav", c.size, c.decoded)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var notAudio *NotAudioError
		if !errors.As(err, &notAudio) || !strings.HasPrefix(notAudio.Reason, "tin.wav: tệp âm thanh hỏng") || !strings.HasSuffix(notAudio.Reason, c.want) {
			t.Errorf("%s: %v, want a NotAudioError ending %q", c.name, err, c.want)
		}
	}
}

// TestFFmpegReason: ffmpeg's complaints become reasons an operator reads,
// without the temporary file's path.
func TestFFmpegReason(t *testing.T) {
	src := "/var/lib/loa-city/tmp/spool-123"
	cases := []struct{ msg, want string }{
		{"Output file #0 does not contain any stream\nStream map '0:a:0' matches no streams.\nTo ignore this, add a trailing '?' to the map.", "the file has no audio stream"},
		{"file:" + src + ": Invalid data found when processing input\n", "not an audio file (ffmpeg cannot read it: Invalid data found when processing input)"},
		{"Format not on whitelist 'mp3,wav'\n", "not an audio file (a playlist or container loa does not read)"},
		{"", "ffmpeg failed without saying why"},
		{src + ": something odd\n", "ffmpeg: tin.wav: something odd"},
	}
	for _, c := range cases {
		if got := ffmpegReason(c.msg, src, "tin.wav"); got != c.want {
			t.Errorf("%q: %q, want %q", c.msg, got, c.want)
		}
	}
	long := ffmpegReason(strings.Repeat("x", 1000), src, "tin.wav")
	if len(long) != len("ffmpeg: ")+400 {
		t.Errorf("long complaint: %d bytes", len(long))
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		340 * time.Millisecond: "0.34 s", 12500 * time.Millisecond: "12.50 s",
		91 * time.Second: "1:31", 5512 * time.Second: "1:31:52",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}
