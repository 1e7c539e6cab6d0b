package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// The PCM cache format is a canonical WAV: a 44-byte header (RIFF, fmt  of
// 16 bytes, data) followed by 16-bit little-endian samples, mono or stereo
// interleaved. OpenPCM also reads WAVs with other chunks before data, as
// long as the samples are 16-bit PCM.

const wavHeaderSize = 44

// wavWriter writes a canonical 16-bit PCM WAV; the header's sizes are
// filled in by finish.
type wavWriter struct {
	f        *os.File
	w        *bufio.Writer
	rate     int
	channels int
	frames   int64
	b        []byte
}

func newWAVWriter(f *os.File, rate, channels int) (*wavWriter, error) {
	w := &wavWriter{f: f, w: bufio.NewWriterSize(f, 64<<10), rate: rate, channels: channels}
	if _, err := w.w.Write(wavHeader(rate, channels, 0)); err != nil {
		return nil, err
	}
	return w, nil
}

func wavHeader(rate, channels int, frames int64) []byte {
	h := make([]byte, wavHeaderSize)
	data := frames * int64(channels) * 2
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(min(36+data, math.MaxUint32)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(min(data, math.MaxUint32)))
	return h
}

// toInt16 rounds and clips a float sample to 16 bits.
func toInt16(v float64) int16 {
	v = math.Round(v * 32768)
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

func (w *wavWriter) write(frames [][2]float64) error {
	need := len(frames) * w.channels * 2
	if cap(w.b) < need {
		w.b = make([]byte, need)
	}
	b := w.b[:need]
	if w.channels == 1 {
		for i, f := range frames {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(toInt16(f[0])))
		}
	} else {
		for i, f := range frames {
			binary.LittleEndian.PutUint16(b[4*i:], uint16(toInt16(f[0])))
			binary.LittleEndian.PutUint16(b[4*i+2:], uint16(toInt16(f[1])))
		}
	}
	w.frames += int64(len(frames))
	if w.frames*int64(w.channels)*2 > math.MaxUint32-wavHeaderSize {
		return errors.New("the audio is too long for a WAV file (4 GB)")
	}
	_, err := w.w.Write(b)
	return err
}

// finish flushes the samples and writes the final sizes into the header.
func (w *wavWriter) finish() error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	_, err := w.f.WriteAt(wavHeader(w.rate, w.channels, w.frames), 0)
	return err
}

// PCMFile reads a PCM cache file (16-bit WAV) for playout. ReadFrames uses
// ReadAt and a buffer owned by the PCMFile: one goroutine may read at any
// positions in any order without allocating; it is not safe for concurrent
// use by several goroutines.
type PCMFile struct {
	f        *os.File
	path     string
	rate     int
	channels int
	frames   int64
	dataOff  int64
	buf      []byte
}

// pcmReadChunk is the most bytes ReadFrames reads at once.
const pcmReadChunk = 32 << 10

// OpenPCM opens a PCM cache file written by Prepare (or any 16-bit PCM WAV,
// mono or stereo).
func OpenPCM(path string) (*PCMFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	l, err := probeWAVFile(f, st.Size())
	if err != nil {
		f.Close()
		var pe probeError
		if errors.As(err, &pe) {
			return nil, &mediaError{path: path, kind: pe.kind, reason: pe.reason}
		}
		return nil, fmt.Errorf("open PCM %s: %w", path, err)
	}
	if l.format != 1 || l.bits != 16 {
		f.Close()
		return nil, mediaErr(path, ErrUnsupported, "a PCM cache file must be 16-bit PCM WAV; this one has %d-bit samples (format %d)", l.bits, l.format)
	}
	return &PCMFile{f: f, path: path, rate: l.rate, channels: l.channels, frames: l.frames(), dataOff: l.dataOff, buf: make([]byte, pcmReadChunk)}, nil
}

func probeWAVFile(r io.ReaderAt, size int64) (wavLayout, error) {
	var head [12]byte
	if _, err := r.ReadAt(head[:], 0); err != nil || string(head[:4]) != "RIFF" || string(head[8:]) != "WAVE" {
		return wavLayout{}, perr(ErrNotAudio, "not a WAV file")
	}
	return probeWAV(r, size)
}

// Rate returns the sample rate in Hz.
func (p *PCMFile) Rate() int { return p.rate }

// Channels returns 1 or 2.
func (p *PCMFile) Channels() int { return p.channels }

// Frames returns the number of sample frames in the file.
func (p *PCMFile) Frames() int64 { return p.frames }

// ReadFrames reads frames starting at frame at into dst, mono duplicated to
// both channels, and returns how many it read. It returns io.EOF with n == 0
// when at is at or past the end, and fewer than len(dst) frames (with a nil
// error) when the end comes first.
func (p *PCMFile) ReadFrames(at int64, dst [][2]float64) (int, error) {
	if at < 0 {
		return 0, fmt.Errorf("read %s: negative frame position %d", p.path, at)
	}
	if at >= p.frames {
		return 0, io.EOF
	}
	want := int(min(int64(len(dst)), p.frames-at))
	fb := 2 * p.channels
	per := len(p.buf) / fb
	n := 0
	for n < want {
		k := min(want-n, per)
		b := p.buf[:k*fb]
		m, err := p.f.ReadAt(b, p.dataOff+(at+int64(n))*int64(fb))
		k = m / fb
		d := dst[n : n+k]
		const scale = 1.0 / 32768
		if p.channels == 1 {
			for i := range d {
				v := float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) * scale
				d[i] = [2]float64{v, v}
			}
		} else {
			for i := range d {
				d[i] = [2]float64{
					float64(int16(binary.LittleEndian.Uint16(b[4*i:]))) * scale,
					float64(int16(binary.LittleEndian.Uint16(b[4*i+2:]))) * scale,
				}
			}
		}
		n += k
		if m < len(b) {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("read %s: the file is shorter than its header says", p.path)
			}
			return n, err
		}
	}
	return n, nil
}

// Close closes the file.
func (p *PCMFile) Close() error { return p.f.Close() }
