package stream

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// What is not MP3 is decoded by an ffmpeg child process: HLS playlists
// (VOV's live channels: AAC in MPEG-TS or fMP4 segments), and AAC (ADTS)
// or Ogg Vorbis/Opus over HTTP/Icecast (most provincial stations). There
// is no maintained pure-Go AAC decoder, and loa keeps cgo to ALSA; ffmpeg
// is on every Debian and Raspberry Pi OS, and its HLS demuxer already
// handles live playlists, playlist refresh, TS and fMP4 segments and
// discontinuities. MP3 keeps its pure-Go path (framer and go-mp3).
//
// ffmpeg only decodes: it writes 16-bit stereo PCM at the engine rate to
// a pipe, and that goes into the same jitter buffer and drift servo as
// MP3, under the same watchdog. Whatever goes wrong inside ffmpeg (a
// stalled playlist, a segment that never comes, a media sequence that
// jumps back after the encoder restarted) shows as no audio, and the
// watchdog kills ffmpeg and starts it again like it would reconnect an
// MP3 stream; an ffmpeg that exits is a failed connection. So the
// failure states, FailingFor and the player's fallback after 10 s are the
// same as for MP3.
//
// For HLS ffmpeg fetches the playlist and the segments itself (-re: it
// delivers the segments' audio at the pace of their timestamps, so that
// a segment arriving whole is not a burst the jitter buffer must skip).
// For AAC and Ogg streams the connection stays in Go (ICY titles, byte
// counts, the connect timeout) and ffmpeg reads the body from its stdin.

// kind is how a stream is decoded.
type kind int

const (
	kindMP3   kind = iota // or not known yet: the framer decides
	kindPiped             // AAC or Ogg: ffmpeg decodes the body from stdin
	kindHLS               // an HLS playlist: ffmpeg reads the URL itself
)

// isHLSURL says whether a URL names an HLS playlist (…/x.m3u8).
func isHLSURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasSuffix(strings.ToLower(u.Path), ".m3u8")
}

// NeedsFFmpeg says whether relaying raw needs the ffmpeg program as far as
// its address tells (an HLS playlist, an .aac, .ogg or .opus mount). An
// AAC or Ogg stream behind an address that does not say so is found out
// only when it is played.
func NeedsFFmpeg(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch strings.ToLower(path.Ext(u.Path)) {
	case ".m3u8", ".aac", ".aacp", ".ogg", ".oga", ".opus", ".m4a":
		return true
	}
	return false
}

// ErrFFmpeg is returned when ffmpeg fails on a stream; its last message
// follows.
var ErrFFmpeg = errors.New("ffmpeg could not decode the stream")

// ErrNoFFmpeg is returned when a stream needs ffmpeg and it is not there.
var ErrNoFFmpeg = errors.New("ffmpeg is needed to relay this stream (apt-get install ffmpeg)")

// ffmpegSession decodes one connection with ffmpeg: from in (AAC, Ogg) or
// from the URL itself when in is nil (HLS). It plays until ffmpeg fails or
// ends; it returns nil when a bounded input was played to its end.
func (s *Source) ffmpegSession(ctx context.Context, cancel context.CancelCauseFunc, in io.Reader, what string, bounded bool) (played bool, err error) {
	bin := s.cfg.FFmpeg
	if _, err := exec.LookPath(bin); err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrNoFFmpeg, what, err)
	}
	args := []string{"-hide_banner", "-loglevel", "info", "-nostats"}
	if in == nil {
		// ffmpeg opens what a playlist names: only HTTP(S), never a
		// local file or another protocol a hostile playlist could name.
		if u, err := url.Parse(s.cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return false, fmt.Errorf("bad URL: an HLS playlist must be http or https")
		}
		args = append(args, "-protocol_whitelist", "http,https,tcp,tls,crypto")
		us := strconv.FormatInt(s.cfg.ConnectTimeout.Microseconds(), 10)
		args = append(args, "-nostdin", "-rw_timeout", us, "-re",
			"-user_agent", "loa-agent relay", "-i", s.cfg.URL)
	} else {
		args = append(args, "-probesize", "65536", "-i", "pipe:0")
	}
	args = append(args, "-vn", "-ac", "2", "-ar", strconv.Itoa(s.cfg.Rate),
		"-f", "s16le", "-flush_packets", "1", "pipe:1")
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return false, err
	}
	var copied sync.WaitGroup
	var stdin io.WriteCloser
	if in != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return false, err
		}
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start ffmpeg: %w", err)
	}
	s.child.Store(int64(cmd.Process.Pid))
	defer s.child.Store(0)
	log := &ffmpegLog{s: s}
	copied.Add(1)
	go func() {
		defer copied.Done()
		log.read(stderr)
	}()
	if in != nil {
		copied.Add(1)
		go func() {
			defer copied.Done()
			_, copyErr := io.Copy(stdin, in)
			stdin.Close()
			if copyErr != nil {
				// The network failed: ffmpeg must not decode on from
				// what it holds as if the stream had ended.
				cancel(copyErr)
			}
		}()
	}
	// ffmpeg has the connect timeout (and the probing) before its first
	// audio: the watchdog counts from then.
	start := s.cfg.Now()
	if in == nil {
		start = start.Add(s.cfg.ConnectTimeout)
	}
	s.connected.Store(start.UnixNano())
	s.phase.Store(phaseConnected)
	go s.watchdog(ctx, cancel)

	played, err = s.playPCM(ctx, stdout, log, bounded)
	if err != nil && !errors.Is(err, io.EOF) {
		cancel(err) // kill ffmpeg
	}
	waitErr := cmd.Wait()
	var cause error
	if ctx.Err() != nil {
		cause = context.Cause(ctx)
	}
	// ffmpeg may have ended on its own while the copy still waits for
	// the network: end the connection (a copy that failed first has
	// cancelled with its own error, which is cause).
	cancel(errDone)
	copied.Wait()
	switch {
	case cause != nil:
		return played, cause
	case err != nil && !errors.Is(err, io.EOF):
		return played, err
	case waitErr != nil:
		return played, fmt.Errorf("%w (%s): %v: %s", ErrFFmpeg, what, waitErr, log.lastError())
	case bounded:
		s.jb.Load().End(nil)
		return played, nil
	case !played:
		return played, fmt.Errorf("%w (ffmpeg, %s): %s", ErrEnded, what, log.lastError())
	}
	return played, ErrEnded
}

// playPCM reads ffmpeg's 16-bit stereo PCM (at the engine rate) into the
// jitter buffer until the pipe ends (io.EOF) or ctx ends.
func (s *Source) playPCM(ctx context.Context, pcm io.Reader, log *ffmpegLog, bounded bool) (played bool, err error) {
	r := bufio.NewReaderSize(pcm, 16<<10)
	buf := make([]byte, 4*1024)
	frames := make([][2]float64, 1024)
	var jb = s.buffer(s.cfg.Rate, bounded)
	jb.Restart(s.cfg.Rate)
	for {
		// Whole 1024-frame blocks (23 ms): no frame is split.
		n, err := io.ReadFull(r, buf)
		n /= 4
		for i := range n {
			frames[i] = [2]float64{
				float64(int16(binary.LittleEndian.Uint16(buf[4*i:]))) / 32768,
				float64(int16(binary.LittleEndian.Uint16(buf[4*i+2:]))) / 32768,
			}
		}
		if n > 0 {
			if !played {
				played = true
				log.playing.Store(true)
				s.setCodec(log.codec())
				s.recovered()
				if s.everPlayed.Swap(true) {
					s.reconnects.Add(1)
					s.log.Info("stream reconnected")
				} else {
					s.log.Info("stream playing", "codec", log.codec())
				}
			}
			if err := jb.Write(ctx, frames[:n]); err != nil {
				return played, err
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return played, err
		}
	}
}

// ffmpegLog reads ffmpeg's messages: the input's description ("Audio:
// aac (LC), 44100 Hz, stereo") for Stats.Codec, the last error for the
// failure's message; everything at debug level.
type ffmpegLog struct {
	s      *Source
	mu     sync.Mutex
	desc   string
	last   string
	sawOut bool
	// playing: the audio came before ffmpeg's report named the codec
	// (stderr and stdout race); the report then names it.
	playing atomic.Bool
}

func (l *ffmpegLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		l.s.log.Debug("ffmpeg", "msg", line)
		named := ""
		l.mu.Lock()
		switch {
		case strings.HasPrefix(line, "Output #"):
			l.sawOut = true
		case !l.sawOut && l.desc == "" && strings.Contains(line, "Audio: "):
			d := line[strings.Index(line, "Audio: ")+len("Audio: "):]
			if i := strings.Index(d, ", fltp"); i > 0 {
				d = d[:i]
			} else if i := strings.Index(d, ", s16"); i > 0 {
				d = d[:i]
			}
			l.desc = d
			if l.playing.Load() {
				named = d + " (ffmpeg)"
			}
		case strings.HasPrefix(line, "Opening '"), strings.HasPrefix(line, "Stream #"),
			strings.HasPrefix(line, "Input #"), strings.HasPrefix(line, "Duration:"),
			strings.HasPrefix(line, "Stream mapping"), strings.HasPrefix(line, "Press ["):
		default:
			l.last = line
		}
		l.mu.Unlock()
		if named != "" {
			l.s.setCodec(named)
		}
	}
}

func (l *ffmpegLog) codec() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.desc == "" {
		return "decoded by ffmpeg"
	}
	return l.desc + " (ffmpeg)"
}

func (l *ffmpegLog) lastError() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == "" {
		return "no audio"
	}
	return l.last
}
