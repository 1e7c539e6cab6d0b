package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The PCM cache format is a canonical WAV: a 44-byte header (RIFF, fmt  of
// 16 bytes, data) followed by 16-bit little-endian samples, mono or stereo
// interleaved. OpenPCM also reads WAVs with other chunks before data, as
// long as the samples are 16-bit PCM.

const wavHeaderSize = 44

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
