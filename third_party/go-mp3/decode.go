// Copyright 2017 Hajime Hoshi
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Modified for loa: see NOTICE in this directory.

package mp3

import (
	"errors"
	"io"

	"github.com/hajimehoshi/go-mp3/internal/consts"
	"github.com/hajimehoshi/go-mp3/internal/frame"
	"github.com/hajimehoshi/go-mp3/internal/frameheader"
)

// A Decoder is a MP3-decoded stream.
//
// Decoder decodes its underlying source on the fly.
//
// When the first frame is a Xing/Info/VBRI tag frame it is not played (it
// holds no audio). When that tag carries a LAME extension with the
// encoder's delay and padding, the stream is trimmed to the original
// samples ("gapless"), like mpg123 and ffmpeg do: the output then starts
// with the first sample that went into the encoder.
type Decoder struct {
	source        *source
	sampleRate    int
	length        int64 // output bytes after trimming, or invalidLength
	frameStarts   []int64
	frameEnds     []int64
	buf           []byte
	backing       []byte // storage that buf is a window of, when it is
	frame         *frame.Frame
	ref           frameheader.FrameHeader
	pos           int64 // output byte position
	bytesPerFrame int64

	// rawPos is the position, in bytes of raw decoder output (every
	// audio frame decoded, tag frame excluded), of the start of buf.
	rawPos int64
	// Output is raw bytes [skip, end); end < 0 means until the last frame.
	skip, end int64
	// firstAudio is the source offset of the first audio frame.
	firstAudio int64
	tag        *Tag
	// free is the size of a free-format stream's frames without the
	// padding slot, found from the distance between the first two
	// headers; 0 for other streams.
	free int
}

// Tag is what the Xing/Info/VBRI frame at the start of a file says.
type Tag struct {
	// Kind is "Xing", "Info" or "VBRI".
	Kind string
	// Frames is the number of audio frames after the tag frame, 0 if not given.
	Frames int64
	// Bytes is the size of the audio frames in bytes, 0 if not given.
	Bytes int64
	// Encoder is the LAME extension's encoder string ("LAME3.100", "Lavc60.31"),
	// empty without one.
	Encoder string
	// Delay and Padding are the encoder delay and padding in samples from
	// the LAME extension (valid when Encoder is not empty).
	Delay, Padding int
}

// decoderDelay is the delay of the MP3 synthesis filterbank, in samples,
// that the LAME tag's delay does not include (mpg123's GAPLESS_DELAY).
const decoderDelay = 529

func (d *Decoder) readFrame() error {
	var err error
	d.frame, _, err = frame.Read(d.source, d.source.pos, d.frame, d.free)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		if _, ok := err.(*consts.UnexpectedEOF); ok {
			// TODO: Log here?
			return io.EOF
		}
		return err
	}
	if len(d.buf) == 0 {
		d.buf = d.backing[:0] // reuse the storage of consumed output
	}
	d.buf = d.frame.Decode(d.buf)
	if cap(d.buf) > cap(d.backing) {
		d.backing = d.buf[:0]
	}
	return nil
}

// Read is io.Reader's Read.
func (d *Decoder) Read(buf []byte) (int, error) {
	for {
		// Drop what lies before the start of the output.
		if d.rawPos < d.skip && len(d.buf) > 0 {
			n := int64(len(d.buf))
			if d.skip-d.rawPos < n {
				n = d.skip - d.rawPos
			}
			d.buf = d.buf[n:]
			d.rawPos += n
		}
		// Cut what lies after its end.
		if d.end >= 0 && d.rawPos+int64(len(d.buf)) > d.end {
			n := d.end - d.rawPos
			if n < 0 {
				n = 0
			}
			d.buf = d.buf[:n]
			if n == 0 {
				return 0, io.EOF
			}
		}
		if len(d.buf) > 0 {
			break
		}
		if err := d.readFrame(); err != nil {
			return 0, err
		}
	}
	n := copy(buf, d.buf)
	d.buf = d.buf[n:]
	d.rawPos += int64(n)
	d.pos += int64(n)
	return n, nil
}

// Seek is io.Seeker's Seek.
//
// Seek returns an error when the underlying source is not io.Seeker.
//
// Note that seek uses a byte offset but samples are aligned to 4 bytes (2
// channels, 2 bytes each). Be careful to seek to an offset that is divisible by
// 4 if you want to read at full sample boundaries.
func (d *Decoder) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekCurrent {
		// Handle the special case of asking for the current position specially.
		return d.pos, nil
	}

	npos := int64(0)
	switch whence {
	case io.SeekStart:
		npos = offset
	case io.SeekCurrent:
		npos = d.pos + offset
	case io.SeekEnd:
		npos = d.Length() + offset
	default:
		return 0, errors.New("mp3: invalid whence")
	}
	if npos < 0 {
		return 0, errors.New("mp3: negative position")
	}
	if len(d.frameStarts) == 0 {
		return 0, errors.New("mp3: source must be io.Seeker")
	}
	raw := npos + d.skip
	f := raw / d.bytesPerFrame
	if f >= int64(len(d.frameStarts)) {
		// Past the end: the next Read says EOF.
		if _, err := d.source.Seek(d.frameEnds[len(d.frameEnds)-1], io.SeekStart); err != nil {
			return 0, err
		}
		d.frame = nil
		d.buf = nil
		d.rawPos = raw
		d.pos = npos
		d.end = d.rawPos // nothing more
		if d.length != invalidLength {
			d.end = d.length + d.skip
		}
		return npos, nil
	}
	// Start decoding early enough that frames f-2..f are decoded from
	// their own bytes: main data may begin up to 511 bytes before its
	// frame (the bit reservoir), and output depends on the previous
	// frame (IMDCT overlap, synthesis filter history). Upstream backed up
	// one frame only, so at low bitrates the frames after a seek were
	// decoded from the wrong bytes.
	need := f - 2
	if need < 0 {
		need = 0
	}
	g := need
	for g > 0 && d.frameStarts[need]-d.frameStarts[g] < 512+int64(4+32)*(need-g) {
		g--
	}
	if _, err := d.source.Seek(d.frameStarts[g], io.SeekStart); err != nil {
		return 0, err
	}
	d.frame = nil
	d.buf = nil
	d.rawPos = g * d.bytesPerFrame
	d.pos = npos
	saved := d.skip
	d.skip = raw
	d.end = -1
	if d.length != invalidLength {
		d.end = d.length + saved
	}
	// Decode up to the target; Read trims what lies before it.
	for d.rawPos+int64(len(d.buf)) <= raw {
		if err := d.readFrame(); err != nil {
			if err == io.EOF {
				break
			}
			d.skip = saved
			return 0, err
		}
		if d.rawPos+int64(len(d.buf)) <= raw {
			d.rawPos += int64(len(d.buf))
			d.buf = d.buf[:0]
		}
	}
	n := raw - d.rawPos
	if n > int64(len(d.buf)) {
		n = int64(len(d.buf))
	}
	d.buf = d.buf[n:]
	d.rawPos += n
	d.skip = saved
	return npos, nil
}

// SampleRate returns the sample rate like 44100.
//
// Note that the sample rate is retrieved from the first frame.
func (d *Decoder) SampleRate() int {
	return d.sampleRate
}

// Tag returns the Xing/Info/VBRI tag of the stream, or nil if there is none.
func (d *Decoder) Tag() *Tag {
	return d.tag
}

func (d *Decoder) ensureFrameStartsAndLength() error {
	if d.length != invalidLength {
		return nil
	}

	if _, ok := d.source.reader.(io.Seeker); !ok {
		return nil
	}

	// Keep the current position, and what was pushed back into the source
	// (it sits before pos; Seek forgets it).
	pending := d.source.buf
	pos, err := d.source.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := d.source.Seek(d.firstAudio, io.SeekStart); err != nil {
		return err
	}

	var buf []byte
	frames := int64(0)
	for {
		h, pos, err := frameheader.Read(d.source, d.source.pos, d.ref)
		if err != nil {
			if err == io.EOF {
				break
			}
			if _, ok := err.(*consts.UnexpectedEOF); ok {
				// TODO: Log here?
				break
			}
			return err
		}
		framesize, err := h.FrameSizeFree(d.free)
		if err != nil {
			return err
		}
		if framesize < 4 {
			break
		}
		if cap(buf) < framesize-4 {
			buf = make([]byte, framesize-4)
		}
		if _, err := d.source.ReadFull(buf[:framesize-4]); err != nil {
			if err == io.EOF {
				// A truncated last frame still decodes as far as it goes.
				break
			}
			return err
		}
		d.frameStarts = append(d.frameStarts, pos)
		d.frameEnds = append(d.frameEnds, pos+int64(framesize))
		frames++
	}
	raw := frames * d.bytesPerFrame
	end := raw
	if d.end >= 0 && d.end < end {
		end = d.end
	}
	d.length = end - d.skip
	if d.length < 0 {
		d.length = 0
	}

	if _, err := d.source.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	d.source.buf = pending
	d.source.pos = pos - int64(len(pending))
	return nil
}

const invalidLength = -1

// Length returns the total size in bytes.
//
// Length returns -1 when the total size is not available
// e.g. when the given source is not io.Seeker.
func (d *Decoder) Length() int64 {
	return d.length
}

// readTag reads the first frame and, when it is a Xing/Info/VBRI tag
// frame, parses and consumes it. Otherwise the frame's bytes are pushed
// back so that decoding starts with it.
func (d *Decoder) readTag() error {
	h, pos, err := frameheader.Read(d.source, d.source.pos, 0)
	for tries := 0; err == nil && h.IsFreeFormat(); tries++ {
		var ok bool
		if d.free, ok = d.freeFormatSize(h); ok {
			break
		}
		if tries == maxFreeTries {
			return errors.New("mp3: free-format frame header without a next frame")
		}
		// A false sync: look again one byte further on.
		h, pos, err = frameheader.Read(d.source, d.source.pos, 0)
	}
	if err != nil {
		return err
	}
	d.firstAudio = pos
	d.ref = h
	if h.IsFreeFormat() {
		return nil // no tag frame in free format
	}
	size, err := h.FrameSize()
	if err != nil {
		return err
	}
	body := make([]byte, size-4)
	n, _ := d.source.ReadFull(body)
	body = body[:n]
	tag := parseTag(h, body)
	if tag == nil {
		var hb [4]byte
		hb[0], hb[1], hb[2], hb[3] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
		d.source.Unread(append(hb[:], body...))
		return nil
	}
	d.tag = tag
	d.firstAudio = pos + int64(size)
	spf := int64(h.SamplesPerFrame())
	if tag.Encoder != "" {
		d.skip = int64(tag.Delay+decoderDelay) * 4
		if tag.Frames > 0 {
			end := tag.Frames*spf - int64(tag.Padding) + decoderDelay
			if end > tag.Frames*spf {
				end = tag.Frames * spf
			}
			if end < d.skip/4 {
				end = d.skip / 4
			}
			d.end = end * 4
		}
	}
	return nil
}

// maxFreeTries bounds the free-format headers tried at the start of a
// stream (each reads ahead maxFreeSize bytes).
const maxFreeTries = 16

// maxFreeSize bounds a free-format frame: 640 kbps (the most Layer III
// allows) at 32 kHz is 2880 bytes.
const maxFreeSize = 4096

// freeFormatSize finds the size of the free-format stream whose first
// header h was just read: the distance to the next header of the same
// stream, without the first frame's padding slot. Upstream refused free
// format. When there is none (a false sync), the bytes after h's first
// byte are put back and ok is false.
func (d *Decoder) freeFormatSize(h frameheader.FrameHeader) (free int, ok bool) {
	body := make([]byte, maxFreeSize)
	n, _ := d.source.ReadFull(body)
	body = body[:n]
	hb := []byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}
	for k := h.SideInfoSize(); k+4 <= len(body); k++ {
		if body[k] != 0xff {
			continue
		}
		g := frameheader.FrameHeader(uint32(body[k])<<24 | uint32(body[k+1])<<16 | uint32(body[k+2])<<8 | uint32(body[k+3]))
		if !g.IsValid() || !g.IsFreeFormat() || !h.SameStream(g) {
			continue
		}
		size, _ := h.FrameSizeFree(1)
		d.source.Unread(append(hb, body...))
		return 4 + k - (size - 1), true
	}
	d.source.Unread(append(hb[1:], body...))
	return 0, false
}

func be32(b []byte) int64 {
	return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
}

// parseTag parses a Xing/Info or VBRI tag from the body of a frame (the
// bytes after its 4-byte header), or returns nil.
func parseTag(h frameheader.FrameHeader, body []byte) *Tag {
	if h.Layer() != consts.Layer3 {
		return nil
	}
	off := h.SideInfoSize()
	if h.ProtectionBit() == 0 {
		off += 2
	}
	if len(body) >= off+8 && (string(body[off:off+4]) == "Xing" || string(body[off:off+4]) == "Info") {
		t := &Tag{Kind: string(body[off : off+4])}
		flags := be32(body[off+4:])
		p := off + 8
		if flags&1 != 0 && len(body) >= p+4 {
			t.Frames = be32(body[p:])
			p += 4
		}
		if flags&2 != 0 && len(body) >= p+4 {
			t.Bytes = be32(body[p:])
			p += 4
		}
		if flags&4 != 0 {
			p += 100
		}
		if flags&8 != 0 {
			p += 4
		}
		// LAME extension: 9-byte encoder string, then delay and padding
		// (12 bits each) at offset 21.
		if len(body) >= p+24 && isVersionString(body[p:p+4]) {
			t.Encoder = trimZero(body[p : p+9])
			b := body[p+21:]
			t.Delay = int(b[0])<<4 | int(b[1])>>4
			t.Padding = int(b[1]&0x0f)<<8 | int(b[2])
		}
		return t
	}
	// VBRI sits 32 bytes after the header.
	if len(body) >= 32+18 && string(body[32:36]) == "VBRI" {
		return &Tag{
			Kind:   "VBRI",
			Bytes:  be32(body[32+10:]),
			Frames: be32(body[32+14:]),
		}
	}
	return nil
}

func isVersionString(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return true
}

func trimZero(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// NewDecoder decodes the given io.Reader and returns a decoded stream.
//
// The stream is always formatted as 16bit (little endian) 2 channels
// even if the source is single channel MP3.
// Thus, a sample always consists of 4 bytes.
func NewDecoder(r io.Reader) (*Decoder, error) {
	s := &source{
		reader: r,
	}
	d := &Decoder{
		source: s,
		length: invalidLength,
		end:    -1,
	}

	if err := s.skipTags(); err != nil {
		return nil, err
	}
	if err := d.readTag(); err != nil {
		return nil, err
	}
	d.bytesPerFrame = int64(d.ref.BytesPerFrame())
	// TODO: Is readFrame here really needed?
	if err := d.readFrame(); err != nil {
		return nil, err
	}
	freq, err := d.frame.SamplingFrequency()
	if err != nil {
		return nil, err
	}
	d.sampleRate = freq

	if err := d.ensureFrameStartsAndLength(); err != nil {
		return nil, err
	}

	return d, nil
}
