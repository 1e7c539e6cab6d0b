package stream

import (
	"errors"
	"fmt"
	"io"
	"loa/audio"
)

// framer hands the MP3 decoder whole, checked MPEG audio frames out of a
// byte stream that may hold anything else: ID3 tags (ffmpeg and Icecast put
// one at the start of a stream), garbage after a network error, a server's
// error page. go-mp3 scans for a sync word byte by byte without bound and
// decodes whatever follows one; the framer makes sure it only ever sees
// frames, so that garbage is skipped (or reported) instead of decoded into
// noise.
//
// A stream is locked onto when three headers follow each other exactly at
// the frame lengths they announce, with the same version, layer and
// sampling rate (random bytes pass that test about once in 10^11 tries).
// Once locked, each frame must start where the previous one ended with the
// same format, or the lock is lost and the stream is scanned again. A lock
// onto another format (the encoder was restarted at another rate) ends the
// current decoder with io.EOF and sets changed.
type framer struct {
	r        io.Reader
	buf      []byte
	off, end int
	cur      []byte // rest of the frame being read out
	locked   bool
	ref      audio.MPEGFrame
	hasRef   bool
	changed  bool  // a new format was locked onto: start a new decoder
	garbage  int   // bytes skipped since the last frame
	frames   int64 // frames handed out
	err      error // the reader's error, kept: the decoder may hide it
	maxJunk  int
	foreign  string // "AAC (ADTS)" or "Ogg": what was found instead of MP3
}

// maxGarbage is how many bytes may pass without a frame before the stream
// is declared not to be MP3 (a 320 kbps frame is 1441 bytes).
const maxGarbage = 64 << 10

// maxID3 bounds the ID3 tags skipped (cover art included): a false "ID3"
// in garbage must not make the framer throw away minutes of a stream.
const maxID3 = 4 << 20

// ErrNotMP3 is returned when a stream holds no MP3 audio.
var ErrNotMP3 = errors.New("not an MP3 stream")

// ErrUnsupported is returned for audio a relay cannot decode (AAC, Ogg,
// MPEG layer I/II).
var ErrUnsupported = errors.New("unsupported stream format")

func newFramer(r io.Reader) *framer {
	return &framer{r: r, buf: make([]byte, 16<<10), maxJunk: maxGarbage}
}

// Read is io.Reader's: it returns bytes of whole frames only.
func (f *framer) Read(p []byte) (int, error) {
	if len(f.cur) == 0 {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

// fill makes sure n bytes are buffered from off on.
func (f *framer) fill(n int) error {
	if f.end-f.off >= n {
		return nil
	}
	if f.err != nil {
		return f.err
	}
	if f.off+n > len(f.buf) {
		m := copy(f.buf, f.buf[f.off:f.end])
		f.off, f.end = 0, m
		if n > len(f.buf) {
			nb := make([]byte, max(n, 2*len(f.buf)))
			copy(nb, f.buf[:m])
			f.buf = nb
		}
	}
	for f.end-f.off < n {
		k, err := f.r.Read(f.buf[f.end:])
		f.end += k
		if err != nil {
			f.err = err
			if f.end-f.off >= n {
				return nil
			}
			return err
		}
	}
	return nil
}

// skip discards n bytes, buffered or not.
func (f *framer) skip(n int) error {
	k := min(n, f.end-f.off)
	f.off += k
	n -= k
	if n > 0 {
		f.off, f.end = 0, 0
		for n > 0 {
			k, err := f.r.Read(f.buf[:min(n, len(f.buf))])
			n -= k
			if err != nil {
				f.err = err
				return err
			}
		}
	}
	return nil
}

// next finds the next frame and sets cur to it.
func (f *framer) next() error {
	if f.locked {
		if err := f.fill(4); err != nil {
			return err
		}
		h, ok := audio.ParseMPEGFrame(f.buf[f.off:])
		if ok && h.SameStream(f.ref) {
			size := h.Size()
			if err := f.fill(size); err != nil {
				return err
			}
			f.deliver(size)
			return nil
		}
		f.locked = false
	}
	for {
		if f.garbage > f.maxJunk {
			if f.frames == 0 {
				return fmt.Errorf("%w: no MP3 frame in its first %d KiB", ErrNotMP3, f.maxJunk>>10)
			}
			return fmt.Errorf("%w: %d KiB without an MP3 frame after %d good frames", ErrNotMP3, f.maxJunk>>10, f.frames)
		}
		if err := f.fill(4); err != nil {
			return err
		}
		b := f.buf[f.off:f.end]
		switch {
		case b[0] == 'I' && b[1] == 'D' && b[2] == '3':
			if err := f.fill(10); err != nil {
				return err
			}
			b = f.buf[f.off:f.end]
			size := 10 + (int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9]))
			if b[5]&0x10 != 0 {
				size += 10
			}
			if b[3] != 0xFF && b[6]|b[7]|b[8]|b[9] < 0x80 && size <= maxID3 {
				if err := f.skip(size); err != nil {
					return err
				}
				continue
			}
		case b[0] == 'O' && b[1] == 'g' && b[2] == 'g' && b[3] == 'S':
			f.foreign = "Ogg"
			return fmt.Errorf("%w: an Ogg stream (Vorbis or Opus); only MP3 can be relayed", ErrUnsupported)
		case b[0] == 0xFF && b[1]&0xF6 == 0xF0:
			if ok, err := f.adtsRun(); err != nil {
				return err
			} else if ok {
				f.foreign = "AAC (ADTS)"
				return fmt.Errorf("%w: an AAC (ADTS) stream; only MP3 can be relayed", ErrUnsupported)
			}
		case b[0] == 0xFF && b[1]&0xE0 == 0xE0:
			ok, err := f.lock()
			if err != nil {
				return err
			}
			if ok {
				if f.changed {
					return io.EOF
				}
				return f.next()
			}
		}
		f.off++
		f.garbage++
	}
}

func (f *framer) deliver(size int) {
	f.cur = f.buf[f.off : f.off+size]
	f.off += size
	f.garbage = 0
	f.frames++
}

// lock checks whether three frames follow each other from off, and locks
// onto them if they do (and are layer III).
func (f *framer) lock() (bool, error) {
	h, ok := audio.ParseMPEGFrame(f.buf[f.off:])
	if !ok {
		return false, nil
	}
	at := 0
	for range 2 {
		g, _ := audio.ParseMPEGFrame(f.buf[f.off+at:])
		at += g.Size()
		if err := f.fill(at + 4); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				// The stream ends: a last frame or two are not
				// worth more checking.
				return false, err
			}
			return false, err
		}
		g, ok := audio.ParseMPEGFrame(f.buf[f.off+at:])
		if !ok || !g.SameStream(h) {
			return false, nil
		}
	}
	if h.Layer() != 3 {
		return false, fmt.Errorf("%w: MPEG layer %s audio (only layer III, MP3, can be relayed)", ErrUnsupported, romanLayer(h.Layer()))
	}
	f.locked = true
	if f.hasRef && !h.SameStream(f.ref) {
		f.changed = true
	}
	f.ref, f.hasRef = h, true
	return true, nil
}

// adtsRun says whether three ADTS (AAC) frames follow each other from off.
func (f *framer) adtsRun() (bool, error) {
	at := 0
	for range 3 {
		if err := f.fill(at + 7); err != nil {
			return false, err
		}
		b := f.buf[f.off+at:]
		if b[0] != 0xFF || b[1]&0xF6 != 0xF0 {
			return false, nil
		}
		n := int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5])>>5
		if n < 7 {
			return false, nil
		}
		at += n
	}
	return true, nil
}

// takeChanged reports (once) that the framer locked onto a new format.
func (f *framer) takeChanged() bool {
	c := f.changed
	f.changed = false
	return c
}

func romanLayer(l int) string {
	return [...]string{"?", "I", "II", "III"}[l]
}
