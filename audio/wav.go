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
	w := &WAVWriter{f: f, w: bufio.NewWriterSize(f, 64<<10), channels: channels, rate: rate}
	if _, err := w.w.Write(wavHeader(rate, channels, 0)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func wavHeader(rate, channels int, frames int64) []byte {
	dataLen := frames * int64(channels) * 2
	if dataLen > math.MaxUint32-36 {
		dataLen = math.MaxUint32 - 36
	}
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataLen))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataLen))
	return h
}

// Write appends frames, converted to 16-bit with rounding and clipping.
func (w *WAVWriter) Write(frames [][2]float64) error {
	need := len(frames) * w.channels * 2
	if cap(w.buf) < need {
		w.buf = make([]byte, need)
	}
	b := w.buf[:need]
	i := 0
	for _, fr := range frames {
		if w.channels == 1 {
			binary.LittleEndian.PutUint16(b[i:], uint16(FloatToInt16((fr[0]+fr[1])/2)))
			i += 2
			continue
		}
		binary.LittleEndian.PutUint16(b[i:], uint16(FloatToInt16(fr[0])))
		binary.LittleEndian.PutUint16(b[i+2:], uint16(FloatToInt16(fr[1])))
		i += 4
	}
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	w.frames += int64(len(frames))
	return nil
}

// Frames is how many frames have been written.
func (w *WAVWriter) Frames() int64 { return w.frames }

// Flush writes buffered samples and updates the header.
func (w *WAVWriter) Flush() error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(wavHeader(w.rate, w.channels, w.frames), 0); err != nil {
		return err
	}
	return nil
}

// Close flushes, fixes the header and closes the file.
func (w *WAVWriter) Close() error {
	err := w.Flush()
	return errors.Join(err, w.f.Close())
}

// FloatToInt16 converts a sample in [-1, 1] to 16 bits, rounding to nearest
// and clipping.
func FloatToInt16(v float64) int16 {
	v = math.Round(v * 32767)
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

var _ io.Closer = (*WAVWriter)(nil)
