// Added for loa: see NOTICE.

package mp3

import (
	"bytes"
	"io"
	"testing"
)

// FuzzDecoder: any input decodes to an error or to bounded output, without
// a panic.
func FuzzDecoder(f *testing.F) {
	frame := append([]byte{0xff, 0xf3, 0x48, 0xc4}, make([]byte, 100)...)
	f.Add(bytes.Repeat(frame, 3))
	mono := append([]byte{0xff, 0xfb, 0x92, 0xc4}, make([]byte, 413)...)
	f.Add(bytes.Repeat(mono, 3))
	st := append([]byte{0xff, 0xfb, 0x90, 0x64}, bytes.Repeat([]byte{0x5a, 0xa5, 0x33}, 140)...)
	f.Add(bytes.Repeat(st[:417], 4))
	// Joint stereo with intensity and middle/side stereo (mode extension 3).
	is := append([]byte{0xff, 0xfb, 0x90, 0x74}, bytes.Repeat([]byte{0x3c, 0x96, 0x71}, 140)...)
	f.Add(bytes.Repeat(is[:417], 4))
	// MPEG-2 intensity stereo.
	is2 := append([]byte{0xff, 0xf3, 0x48, 0x74}, bytes.Repeat([]byte{0x3c, 0x96, 0x71}, 40)...)
	f.Add(bytes.Repeat(is2[:104], 4))
	// Layer II: MPEG-1 192 kbps 48 kHz joint stereo (576-byte frames), and
	// MPEG-2 48 kbps 24 kHz mono (144-byte frames).
	l2 := append([]byte{0xff, 0xfd, 0xa4, 0x64}, bytes.Repeat([]byte{0x4b, 0x9e, 0x27}, 191)...)
	f.Add(bytes.Repeat(l2[:576], 3))
	l2m := append([]byte{0xff, 0xf5, 0x64, 0xc0}, bytes.Repeat([]byte{0x4b, 0x9e, 0x27}, 47)...)
	f.Add(bytes.Repeat(l2m[:144], 3))
	// Layer I: MPEG-1 128 kbps 44.1 kHz joint stereo (136-byte frames).
	l1 := append([]byte{0xff, 0xff, 0x40, 0x64}, bytes.Repeat([]byte{0x4b, 0x9e, 0x27}, 44)...)
	f.Add(bytes.Repeat(l1[:136], 3))
	// Free format (bitrate index 0): 200-byte frames.
	free := append([]byte{0xff, 0xfb, 0x00, 0xc4}, bytes.Repeat([]byte{0x11, 0x22}, 98)...)
	f.Add(bytes.Repeat(free, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDecoder(bytes.NewReader(data))
		if err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(d, 1<<26))
		if n >= 1<<26 {
			t.Fatalf("%d bytes decode to over %d bytes", len(data), n)
		}
		if d.Length() > 0 {
			d.Seek(d.Length()/2/4*4, io.SeekStart)
			io.Copy(io.Discard, io.LimitReader(d, 1<<20))
		}
	})
}
