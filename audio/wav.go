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

// WAVWriter writes 16-bit PCM WAV. The header's lengths are brought up to
// date by Flush and Close, so a file that is still growing (the demo writing
// what a speaker would play) can be opened at any time.
type WAVWriter struct {
	f        *os.File
	w        *bufio.Writer
	channels int
	rate     int
	frames   int64
	buf      []byte
}

// CreateWAV creates (truncates) path for 16-bit PCM at rate with 1 or 2
// channels.
func CreateWAV(path string, rate, channels int) (*WAVWriter, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("wav %s: %d channels: only 1 or 2", path, channels)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w, err := newWAVWriter(f, rate, channels)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func newWAVWriter(f *os.File, rate, channels int) (*WAVWriter, error) {
	w := &WAVWriter{f: f, w: bufio.NewWriterSize(f, 64<<10), channels: channels, rate: rate}
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
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(min(data, math.MaxUint32)))
	return h
}

// Write appends frames, converted to 16-bit with rounding and clipping. A
// mono file gets the mean of the two channels.
func (w *WAVWriter) Write(frames [][2]float64) error {
	need := len(frames) * w.channels * 2
	if cap(w.buf) < need {
		w.buf = make([]byte, need)
	}
	b := w.buf[:need]
	if w.channels == 1 {
		for i, f := range frames {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(FloatToInt16((f[0]+f[1])/2)))
		}
	} else {
		for i, f := range frames {
			binary.LittleEndian.PutUint16(b[4*i:], uint16(FloatToInt16(f[0])))
			binary.LittleEndian.PutUint16(b[4*i+2:], uint16(FloatToInt16(f[1])))
		}
	}
	if (w.frames+int64(len(frames)))*int64(w.channels)*2 > math.MaxUint32-wavHeaderSize {
		return errors.New("the audio is too long for a WAV file (4 GB)")
	}
	w.frames += int64(len(frames))
	_, err := w.w.Write(b)
	return err
}

// Frames is how many frames have been written.
func (w *WAVWriter) Frames() int64 { return w.frames }

// Flush writes buffered samples and updates the header.
func (w *WAVWriter) Flush() error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	_, err := w.f.WriteAt(wavHeader(w.rate, w.channels, w.frames), 0)
	return err
}

// Close flushes, fixes the header and closes the file.
func (w *WAVWriter) Close() error {
	err := w.Flush()
	return errors.Join(err, w.f.Close())
}

// FloatToInt16 converts a sample in [-1, 1) to 16 bits, rounding to nearest
// and clipping: the inverse of the decoders' int16/32768, so 16-bit audio
// goes through the cache bit-exact.
func FloatToInt16(v float64) int16 {
	v = math.Round(v * 32768)
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

var _ io.Closer = (*WAVWriter)(nil)
