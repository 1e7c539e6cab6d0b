package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/gopxl/beep/v2"
	"github.com/gopxl/beep/v2/flac"
	gomp3 "github.com/hajimehoshi/go-mp3"

	"loa/internal/atomicfile"
)

// Open opens the media file at path and returns a decoder at the file's own
// sample rate. Format.NumChannels is the file's channel count (1 or 2);
// mono is streamed with both channels equal, as beep does.
//
// MP3 is decoded by the go-mp3 fork in third_party/go-mp3 (see its NOTICE:
// upstream garbles low-rate MPEG-2 files), WAV by this package, FLAC by
// beep's flac package. A decoder error or panic is reported by Err, naming
// the file; it never escapes as a panic.
func Open(path string) (beep.StreamSeekCloser, beep.Format, error) {
	g, format, _, err := open(path)
	if err != nil {
		return nil, beep.Format{}, err
	}
	return g, format, nil
}

func open(path string) (*guarded, beep.Format, probed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, beep.Format{}, probed{}, err
	}
	p, err := probeOpen(f, path)
	if err != nil {
		f.Close()
		return nil, beep.Format{}, probed{}, err
	}
	s, format, err := openProbed(f, path, p)
	if err != nil {
		f.Close()
		return nil, beep.Format{}, probed{}, err
	}
	return &guarded{s: s, path: path, rate: p.info.Rate}, format, p, nil
}

func probeOpen(f *os.File, path string) (probed, error) {
	st, err := f.Stat()
	if err != nil {
		return probed{}, err
	}
	if !st.Mode().IsRegular() {
		return probed{}, mediaErr(path, ErrNotAudio, "not a regular file")
	}
	p, err := probeFile(f, st.Size())
	if err != nil {
		var pe probeError
		if errors.As(err, &pe) {
			return probed{}, &mediaError{path: path, kind: pe.kind, reason: pe.reason}
		}
		return probed{}, fmt.Errorf("probe %s: %w", path, err)
	}
	return p, nil
}

func openProbed(f *os.File, path string, p probed) (s beep.StreamSeekCloser, format beep.Format, err error) {
	format = beep.Format{SampleRate: beep.SampleRate(p.info.Rate), NumChannels: p.info.Channels, Precision: 2}
	defer func() {
		if r := recover(); r != nil {
			err = mediaErr(path, ErrCorrupt, "the %s decoder crashed on this file: %v", p.info.Codec, r)
		}
	}()
	switch p.info.Codec {
	case "wav":
		format.Precision = p.wav.bits / 8
		return newWAVStream(f, p.wav), format, nil
	case "mp3", "mp2", "mp1":
		d, err := gomp3.NewDecoder(&bufferedFile{f: f, buf: make([]byte, 32<<10)})
		if err != nil {
			return nil, format, mediaErr(path, ErrCorrupt, "MP3 cannot be decoded: %v", err)
		}
		return &mp3Stream{f: f, d: d, channels: p.info.Channels, rate: p.info.Rate, buf: make([]byte, 4*1152)}, format, nil
	case "flac":
		s, ff, err := flac.Decode(f)
		if err != nil {
			return nil, format, mediaErr(path, ErrCorrupt, "FLAC cannot be decoded: %v", err)
		}
		format.Precision = ff.Precision
		return s, format, nil
	}
	return nil, format, mediaErr(path, ErrUnsupported, "no decoder for %s", p.info.Codec)
}

// guarded turns a decoder's panics and errors into errors that name the
// file, so that a bad upload never takes the process down.
type guarded struct {
	s    beep.StreamSeekCloser
	path string
	rate int
	pos  int
	err  error
}

func (g *guarded) Stream(samples [][2]float64) (n int, ok bool) {
	if g.err != nil {
		return 0, false
	}
	defer func() {
		if r := recover(); r != nil {
			g.err = mediaErr(g.path, ErrCorrupt, "the decoder crashed at %s: %v", formatPos(g.pos, g.rate), r)
			n, ok = 0, false
		}
	}()
	n, ok = g.s.Stream(samples)
	g.pos += n
	return n, ok
}

func (g *guarded) Err() error {
	if g.err != nil {
		return g.err
	}
	if err := g.s.Err(); err != nil {
		var me *mediaError
		if errors.As(err, &me) {
			return err
		}
		return mediaErr(g.path, ErrCorrupt, "cannot be decoded at %s: %v", formatPos(g.pos, g.rate), err)
	}
	return nil
}

func (g *guarded) Len() int      { return g.s.Len() }
func (g *guarded) Position() int { return g.s.Position() }
func (g *guarded) Close() error  { return g.s.Close() }

func (g *guarded) Seek(p int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = mediaErr(g.path, ErrCorrupt, "the decoder crashed seeking to %s: %v", formatPos(p, g.rate), r)
		}
	}()
	if err := g.s.Seek(p); err != nil {
		return err
	}
	g.pos = p
	g.err = nil
	return nil
}

// formatPos writes a frame position as m:ss.s.
func formatPos(frames, rate int) string {
	if rate <= 0 {
		return fmt.Sprintf("frame %d", frames)
	}
	d := time.Duration(frames) * time.Second / time.Duration(rate)
	return fmt.Sprintf("%d:%04.1f", int(d.Minutes()), math.Mod(d.Seconds(), 60))
}

// ---- MP3 ----

// mp3Stream streams the go-mp3 decoder's 16-bit stereo output in blocks
// (beep's mp3 package reads it 4 bytes per call).
type mp3Stream struct {
	f        *os.File
	d        *gomp3.Decoder
	channels int
	rate     int
	buf      []byte
	pos      int
	err      error
}

func (s *mp3Stream) Stream(samples [][2]float64) (n int, ok bool) {
	if s.err != nil {
		return 0, false
	}
	for n < len(samples) {
		want := min(len(samples)-n, len(s.buf)/4) * 4
		k, err := s.d.Read(s.buf[:want])
		k -= k % 4
		n += pcm16ToFloat(samples[n:n+k/4], s.buf[:k])
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err = err
			break
		}
		if k == 0 {
			break
		}
	}
	s.pos += n
	return n, n > 0
}

// pcm16ToFloat converts 16-bit little-endian stereo frames to float
// frames of full scale 1.0 (x/32768, exact), len(dst) of them (src holds
// 4 bytes a frame), and returns len(dst). Each frame is read through one
// fixed-size array, so that the loop has no bounds checks.
func pcm16ToFloat(dst [][2]float64, src []byte) int {
	src = src[:4*len(dst)]
	for j := range dst {
		b := (*[4]byte)(src[4*j:])
		l := int16(binary.LittleEndian.Uint16(b[0:]))
		r := int16(binary.LittleEndian.Uint16(b[2:]))
		dst[j] = [2]float64{float64(l) / 32768, float64(r) / 32768}
	}
	return len(dst)
}

func (s *mp3Stream) Err() error { return s.err }

func (s *mp3Stream) Len() int {
	if l := s.d.Length(); l > 0 {
		return int(l / 4)
	}
	return 0
}

func (s *mp3Stream) Position() int { return s.pos }

func (s *mp3Stream) Seek(p int) error {
	if p < 0 || p > s.Len() {
		return fmt.Errorf("mp3: seek to frame %d outside [0, %d]", p, s.Len())
	}
	if _, err := s.d.Seek(int64(p)*4, io.SeekStart); err != nil {
		return err
	}
	s.pos = p
	s.err = nil
	return nil
}

func (s *mp3Stream) Close() error { return s.f.Close() }

// bufferedFile reads a file through a buffer and seeks in it: go-mp3 reads
// each frame's header, side information and main data separately, a few
// bytes at a time, which unbuffered is several system calls per frame.
type bufferedFile struct {
	f    *os.File
	buf  []byte
	r, w int   // the unread bytes are buf[r:w]
	pos  int64 // the file's offset, which is that of buf[w]
}

func (b *bufferedFile) Read(p []byte) (int, error) {
	if b.r == b.w {
		if len(p) >= len(b.buf) {
			n, err := b.f.Read(p)
			b.pos += int64(n)
			return n, err
		}
		n, err := b.f.Read(b.buf)
		b.pos += int64(n)
		b.r, b.w = 0, n
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

func (b *bufferedFile) Seek(offset int64, whence int) (int64, error) {
	if whence == io.SeekCurrent {
		offset, whence = b.pos-int64(b.w-b.r)+offset, io.SeekStart
	}
	n, err := b.f.Seek(offset, whence)
	if err != nil {
		return n, err // the file did not move: the buffer still holds
	}
	b.pos, b.r, b.w = n, 0, 0
	return n, nil
}

// ---- WAV ----

// wavStream reads PCM or float samples of a WAV file with ReadAt.
type wavStream struct {
	f   *os.File
	l   wavLayout
	pos int64
	buf []byte
	err error
}

func newWAVStream(f *os.File, l wavLayout) *wavStream {
	return &wavStream{f: f, l: l, buf: make([]byte, 4096*l.blockAlign)}
}

func (s *wavStream) Stream(samples [][2]float64) (n int, ok bool) {
	if s.err != nil {
		return 0, false
	}
	total := s.l.frames()
	ba := s.l.blockAlign
	for n < len(samples) && s.pos < total {
		k := min(int64(len(samples)-n), int64(len(s.buf)/ba), total-s.pos)
		b := s.buf[:k*int64(ba)]
		m, err := s.f.ReadAt(b, s.l.dataOff+s.pos*int64(ba))
		if m < len(b) {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("the file ended at byte %d, inside the data chunk", s.l.dataOff+s.pos*int64(ba)+int64(m))
			}
			s.err = err
			k = int64(m / ba)
		}
		decodeWAV(samples[n:n+int(k)], b, s.l)
		n += int(k)
		s.pos += k
		if s.err != nil {
			break
		}
	}
	return n, n > 0
}

// decodeWAV converts whole frames of b into dst.
func decodeWAV(dst [][2]float64, b []byte, l wavLayout) {
	bps := l.bits / 8
	for i := range dst {
		fr := b[i*l.blockAlign:]
		var v [2]float64
		for c := 0; c < l.channels; c++ {
			p := fr[c*bps:]
			switch {
			case l.format == 3 && bps == 4:
				v[c] = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
			case l.format == 3:
				v[c] = math.Float64frombits(binary.LittleEndian.Uint64(p))
			case bps == 1:
				v[c] = (float64(p[0]) - 128) / 128
			case bps == 2:
				v[c] = float64(int16(binary.LittleEndian.Uint16(p))) / (1 << 15)
			case bps == 3:
				v[c] = float64(int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24)>>8) / (1 << 23)
			default:
				v[c] = float64(int32(binary.LittleEndian.Uint32(p))) / (1 << 31)
			}
		}
		if l.channels == 1 {
			v[1] = v[0]
		}
		dst[i] = v
	}
}

func (s *wavStream) Err() error    { return s.err }
func (s *wavStream) Len() int      { return int(s.l.frames()) }
func (s *wavStream) Position() int { return int(s.pos) }
func (s *wavStream) Close() error  { return s.f.Close() }

func (s *wavStream) Seek(p int) error {
	if p < 0 || int64(p) > s.l.frames() {
		return fmt.Errorf("wav: seek to frame %d outside [0, %d]", p, s.l.frames())
	}
	s.pos = int64(p)
	s.err = nil
	return nil
}

// ---- Prepare ----

// Prepared describes a PCM cache file written by Prepare.
type Prepared struct {
	// Info is what Probe says about the source.
	Info MediaInfo
	// Frames is the number of sample frames written, at the target rate.
	Frames int64
	// Channels is 1 if the source is mono, else 2.
	Channels int
}

// prepareBlock is the number of frames handed to observe at a time (at most).
const prepareBlock = 4096

// Prepare decodes src completely, resamples it to rate, and writes dst as a
// canonical 16-bit PCM WAV (mono if the source is mono, else stereo).
// observe, if not nil, sees every output block, as float frames at rate,
// before it is written, so that loudness is measured on the same decode.
//
// dst appears complete or not at all: Prepare writes a temporary file in
// dst's directory, syncs it and renames it. A source that cannot be decoded
// completely (truncated, damaged, lying about its length) is an error naming
// the file and the reason; a decoder panic is recovered into such an error.
func Prepare(src, dst string, rate int, observe func([][2]float64)) (Prepared, error) {
	return PrepareContext(context.Background(), src, dst, rate, observe)
}

// PrepareContext is Prepare that stops when ctx ends (a signal to the
// command loading a long file): it returns ctx's error and leaves no
// temporary file behind.
func PrepareContext(ctx context.Context, src, dst string, rate int, observe func([][2]float64)) (Prepared, error) {
	if rate < 8000 || rate > 192000 {
		return Prepared{}, fmt.Errorf("prepare %s: output rate %d Hz is outside 8000..192000", src, rate)
	}
	var tmp *atomicfile.File // beside dst, renamed over it when whole
	var w *WAVWriter
	defer func() {
		if tmp != nil {
			tmp.Abort() // nothing once committed
		}
	}()
	start := func(channels int) (func([][2]float64) error, error) {
		var err error
		if tmp, err = atomicfile.Create(dst, 0o600); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", src, err)
		}
		if w, err = newWAVWriter(tmp.File, rate, channels); err != nil {
			return nil, fmt.Errorf("prepare %s: write %s: %w", src, tmp.Name(), err)
		}
		return func(b [][2]float64) error {
			if observe != nil {
				observe(b)
			}
			if err := w.Write(b); err != nil {
				return fmt.Errorf("prepare %s: write %s: %w", src, tmp.Name(), err)
			}
			return nil
		}, nil
	}
	out, err := decodeChecked(ctx, src, rate, start)
	if err != nil {
		return Prepared{}, err
	}
	if err := w.Flush(); err != nil {
		return Prepared{}, fmt.Errorf("prepare %s: write %s: %w", src, tmp.Name(), err)
	}
	if err := tmp.Commit(); err != nil { // sync, rename, sync the folder
		return Prepared{}, fmt.Errorf("prepare %s: %w", src, err)
	}
	out.Frames = w.frames
	return out, nil
}

// Verify decodes src completely at its own rate, with the checks Prepare
// makes (the same code), and writes nothing: the city runs on its
// transcoded file exactly the verification a ward runs when the file
// arrives, so what the city accepts a ward accepts. observe, if not nil,
// sees every block. Prepared.Frames is the number of frames decoded.
func Verify(src string, observe func([][2]float64)) (Prepared, error) {
	return decodeChecked(context.Background(), src, 0, func(int) (func([][2]float64) error, error) {
		return func(b [][2]float64) error {
			if observe != nil {
				observe(b)
			}
			return nil
		}, nil
	})
}

// decodeChecked decodes src completely, resampled to rate (0: the source's
// own rate), and hands every block to the sink that start returns (start
// is called once, with the number of channels, after src is open). It
// refuses what a ward must not play: a file that does not decode, decodes
// to nothing, stops early (truncated) or runs on past its header's length.
// Prepared.Frames counts the decoded frames at the source rate. It stops,
// with ctx's error, at the first block after ctx is done.
func decodeChecked(ctx context.Context, src string, rate int, start func(channels int) (func([][2]float64) error, error)) (Prepared, error) {
	s, format, pr, err := open(src)
	if err != nil {
		return Prepared{}, err
	}
	defer s.Close()
	p := pr.info
	out := Prepared{Info: p, Channels: format.NumChannels}

	counted := &countingStreamer{s: s}
	var st beep.Streamer = counted
	if rate != 0 && int(format.SampleRate) != rate {
		st = newResampler(counted, int(format.SampleRate), rate, format.NumChannels == 1)
	}
	// Bounds that keep a lying decoder from running forever: the header's
	// length plus a second, or an hour past the file's size at 8 kbps.
	limit := int64(math.MaxInt64)
	if p.Frames > 0 {
		limit = p.Frames + int64(p.Rate)
	}
	sink, err := start(format.NumChannels)
	if err != nil {
		return Prepared{}, err
	}

	buf := make([][2]float64, prepareBlock)
	idle := 0
	for {
		if err := ctx.Err(); err != nil {
			return Prepared{}, fmt.Errorf("prepare %s: %w", src, err)
		}
		n, ok := st.Stream(buf)
		if n > 0 {
			idle = 0
			if err := sink(buf[:n]); err != nil {
				return Prepared{}, err
			}
		}
		if !ok {
			break
		}
		if n == 0 {
			if idle++; idle > 100 {
				return Prepared{}, mediaErr(src, ErrCorrupt, "the decoder stopped making progress at %s", formatPos(int(counted.n), int(format.SampleRate)))
			}
		}
		if counted.n > limit {
			return Prepared{}, mediaErr(src, ErrCorrupt, "decodes to more audio than its header says (%s)", p.Duration.Round(time.Millisecond))
		}
	}
	if err := st.Err(); err != nil {
		return Prepared{}, err
	}
	if counted.n == 0 {
		return Prepared{}, mediaErr(src, ErrCorrupt, "decodes to no audio at all")
	}
	// A decoder that stops early without an error (go-mp3 takes a cut
	// frame for the end of the stream) is caught here.
	if p.Frames > 0 && counted.n < p.Frames-int64(p.Rate)/100 {
		return Prepared{}, mediaErr(src, ErrCorrupt, "is truncated: it decodes to %s but its header says %s",
			framesDuration(counted.n, p.Rate).Round(time.Millisecond), p.Duration.Round(time.Millisecond))
	}
	out.Frames = counted.n
	return out, nil
}

// countingStreamer counts the frames its source produced.
type countingStreamer struct {
	s beep.Streamer
	n int64
}

func (c *countingStreamer) Stream(samples [][2]float64) (int, bool) {
	n, ok := c.s.Stream(samples)
	c.n += int64(n)
	return n, ok
}

func (c *countingStreamer) Err() error { return c.s.Err() }
