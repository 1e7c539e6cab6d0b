package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// MediaInfo is what the headers of a media file say about its audio.
type MediaInfo struct {
	// Codec is "mp3" (MPEG Layer III), "mp2" (Layer II), "mp1" (Layer I),
	// "wav" or "flac".
	Codec string
	// Rate is the sample rate in Hz; Channels is 1 or 2.
	Rate, Channels int
	// Frames is the number of sample frames a decoder produces (for MP3,
	// after the encoder delay and padding are trimmed when the LAME tag
	// gives them). 0 for a FLAC stream whose header does not say.
	Frames int64
	// Duration is Frames at Rate.
	Duration time.Duration
	// Warnings are problems that do not stop the file from playing, in
	// Vietnamese then English: an MP3 whose last frame is cut short (a
	// recording stopped, a copy interrupted) plays every complete frame.
	Warnings []string
}

// Errors returned by Probe, Open and Prepare wrap one of these, so callers
// can tell a bad upload from a disk problem. The message says the reason.
var (
	// ErrNotAudio: the file is not MPEG audio, WAV or FLAC at all.
	ErrNotAudio = errors.New("not an audio file")
	// ErrCorrupt: the file claims a format but its contents contradict it
	// (truncated, lying lengths, damaged frames).
	ErrCorrupt = errors.New("corrupt audio file")
	// ErrUnsupported: a valid file in a variant loa does not play.
	ErrUnsupported = errors.New("unsupported audio format")
)

// mediaError names the file, says the reason, and wraps kind.
type mediaError struct {
	path   string
	kind   error
	reason string
}

func (e *mediaError) Error() string {
	if e.kind == ErrNotAudio {
		return fmt.Sprintf("%s: not an audio file: %s", e.path, e.reason)
	}
	return fmt.Sprintf("%s: %s", e.path, e.reason)
}

func (e *mediaError) Unwrap() error { return e.kind }

// Reason returns the plain-words reason from an error made by this package
// (without the file name), or err.Error() for any other error.
func Reason(err error) string {
	var me *mediaError
	if errors.As(err, &me) {
		return me.reason
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func mediaErr(path string, kind error, format string, args ...any) error {
	return &mediaError{path: path, kind: kind, reason: fmt.Sprintf(format, args...)}
}

// syncSearchLimit is how far into an MP3 (after its ID3v2 tag) Probe looks
// for the first frame.
const syncSearchLimit = 64 << 10

// Probe reads the headers of the file at path and says what audio it holds,
// without decoding it. It recognises the format by content, not by name.
// MP3 duration comes from the Xing/Info/VBRI tag when there is one, else
// from a scan of the frame headers.
func Probe(path string) (MediaInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return MediaInfo{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return MediaInfo{}, err
	}
	if !st.Mode().IsRegular() {
		return MediaInfo{}, mediaErr(path, ErrNotAudio, "not a regular file")
	}
	p, err := probeFile(f, st.Size())
	if err != nil {
		var pe probeError
		if errors.As(err, &pe) {
			return MediaInfo{}, &mediaError{path: path, kind: pe.kind, reason: pe.reason}
		}
		return MediaInfo{}, fmt.Errorf("probe %s: %w", path, err)
	}
	return p.info, nil
}

// probeError is a reason without a file name; Probe adds the name.
type probeError struct {
	kind   error
	reason string
}

func (e probeError) Error() string { return e.reason }

func perr(kind error, format string, args ...any) error {
	return probeError{kind: kind, reason: fmt.Sprintf(format, args...)}
}

// probed is the result of probing, with what a decoder needs beyond MediaInfo.
type probed struct {
	info MediaInfo
	wav  wavLayout // for WAV
}

// probeFile recognises and probes r, a file of size bytes.
func probeFile(r io.ReaderAt, size int64) (probed, error) {
	if size == 0 {
		return probed{}, perr(ErrNotAudio, "the file is empty")
	}
	var head [12]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return probed{}, err
	}
	h := head[:n]
	switch {
	case n >= 4 && string(h[:4]) == "RIFF":
		if n < 12 || string(h[8:12]) != "WAVE" {
			return probed{}, perr(ErrNotAudio, "RIFF file that is not WAVE")
		}
		l, err := probeWAV(r, size)
		if err != nil {
			return probed{}, err
		}
		return probed{info: l.info(), wav: l}, nil
	case n >= 4 && string(h[:4]) == "fLaC":
		info, err := probeFLAC(r, size, 0)
		return probed{info: info}, err
	}
	// ID3v2 may precede MP3 (and, rarely, FLAC).
	start, err := skipID3v2(r, size)
	if err != nil {
		return probed{}, err
	}
	if start > 0 && start+4 <= size {
		var m [4]byte
		if _, err := r.ReadAt(m[:], start); err == nil && string(m[:]) == "fLaC" {
			info, err := probeFLAC(r, size, start)
			return probed{info: info}, err
		}
	}
	info, err := probeMP3(r, size, start)
	return probed{info: info}, err
}

// skipID3v2 returns the offset after any ID3v2 tags at the start.
func skipID3v2(r io.ReaderAt, size int64) (int64, error) {
	var off int64
	for i := 0; i < 4; i++ { // a few stacked tags at most
		var h [10]byte
		if _, err := r.ReadAt(h[:], off); err != nil {
			return off, nil
		}
		if string(h[:3]) != "ID3" {
			return off, nil
		}
		if h[6]|h[7]|h[8]|h[9] >= 0x80 {
			return 0, perr(ErrCorrupt, "ID3v2 tag has an invalid size")
		}
		n := int64(h[6])<<21 | int64(h[7])<<14 | int64(h[8])<<7 | int64(h[9])
		n += 10
		if h[5]&0x10 != 0 {
			n += 10 // footer
		}
		if off+n > size {
			return 0, perr(ErrCorrupt, "ID3v2 tag says %s but the file has %s", sizeString(n), sizeString(size-off))
		}
		off += n
	}
	return off, nil
}

// sizeString writes a byte count the way people say it: "2 KB", "10 MB".
func sizeString(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d KB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func framesDuration(frames int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(frames) * time.Second / time.Duration(rate)
}

// ---- WAV ----

// wavLayout locates the samples of a WAV file.
type wavLayout struct {
	format     int // 1 PCM integer, 3 IEEE float
	rate       int
	channels   int
	bits       int
	blockAlign int
	dataOff    int64
	dataLen    int64 // bytes of whole frames
}

func (l wavLayout) frames() int64 { return l.dataLen / int64(l.blockAlign) }

func (l wavLayout) info() MediaInfo {
	return MediaInfo{Codec: "wav", Rate: l.rate, Channels: l.channels, Frames: l.frames(), Duration: framesDuration(l.frames(), l.rate)}
}

// probeWAV walks the RIFF chunks. A data length of 0 or 0xFFFFFFFF means
// "not written" (a recorder that was stopped, a stream): the file's size
// is used. Any other length past the end of the file is an error: the
// upload was cut short.
func probeWAV(r io.ReaderAt, size int64) (wavLayout, error) {
	var l wavLayout
	haveFmt := false
	off := int64(12)
	for {
		var ch [8]byte
		if _, err := r.ReadAt(ch[:], off); err != nil {
			if !haveFmt {
				return l, perr(ErrCorrupt, "WAV has no fmt chunk")
			}
			return l, perr(ErrCorrupt, "WAV has no data chunk")
		}
		id := string(ch[:4])
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if n < 16 || body+n > size {
				return l, perr(ErrCorrupt, "WAV fmt chunk is %d bytes long; it needs 16", n)
			}
			var f [40]byte
			m := min(n, 40)
			if _, err := r.ReadAt(f[:m], body); err != nil {
				return l, perr(ErrCorrupt, "WAV fmt chunk is cut short")
			}
			tag := int(binary.LittleEndian.Uint16(f[0:]))
			l.channels = int(binary.LittleEndian.Uint16(f[2:]))
			l.rate = int(binary.LittleEndian.Uint32(f[4:]))
			l.blockAlign = int(binary.LittleEndian.Uint16(f[12:]))
			l.bits = int(binary.LittleEndian.Uint16(f[14:]))
			if tag == 0xFFFE { // WAVE_FORMAT_EXTENSIBLE: the subformat GUID starts with the tag
				if m < 40 {
					return l, perr(ErrCorrupt, "WAV extensible fmt chunk is %d bytes long; it needs 40", n)
				}
				tag = int(binary.LittleEndian.Uint16(f[24:]))
			}
			l.format = tag
			haveFmt = true
		case "data":
			if !haveFmt {
				return l, perr(ErrCorrupt, "WAV data chunk comes before the fmt chunk")
			}
			if err := l.check(); err != nil {
				return l, err
			}
			l.dataOff = body
			avail := size - body
			switch {
			case n == 0 || n == 0xFFFFFFFF:
				n = avail // length not written
			case n > avail:
				return l, perr(ErrCorrupt, "WAV data chunk says %s but the file has %s", sizeString(n), sizeString(avail))
			}
			l.dataLen = n - n%int64(l.blockAlign)
			if l.dataLen == 0 {
				return l, perr(ErrCorrupt, "WAV data chunk holds no samples")
			}
			return l, nil
		}
		if body+n > size {
			return l, perr(ErrCorrupt, "WAV chunk %q says %s but the file has %s", id, sizeString(n), sizeString(size-body))
		}
		off = body + n + n&1
	}
}

func (l wavLayout) check() error {
	switch l.format {
	case 1:
		if l.bits != 8 && l.bits != 16 && l.bits != 24 && l.bits != 32 {
			return perr(ErrUnsupported, "WAV with %d-bit samples; 8, 16, 24 or 32-bit are supported", l.bits)
		}
	case 3:
		if l.bits != 32 && l.bits != 64 {
			return perr(ErrUnsupported, "WAV with %d-bit float samples; 32 or 64-bit are supported", l.bits)
		}
	default:
		return perr(ErrUnsupported, "WAV with compressed samples (format 0x%04x); only PCM and float are supported", l.format)
	}
	if l.channels < 1 || l.channels > 2 {
		return perr(ErrUnsupported, "WAV with %d channels; mono and stereo are supported", l.channels)
	}
	if l.rate < 8000 || l.rate > 192000 {
		return perr(ErrUnsupported, "WAV sample rate %d Hz; 8000 to 192000 Hz are supported", l.rate)
	}
	if want := l.channels * l.bits / 8; l.blockAlign != want {
		return perr(ErrCorrupt, "WAV block align is %d; %d channels of %d bits need %d", l.blockAlign, l.channels, l.bits, want)
	}
	return nil
}

// ---- FLAC ----

func probeFLAC(r io.ReaderAt, size, start int64) (MediaInfo, error) {
	var b [4 + 4 + 34]byte
	if _, err := r.ReadAt(b[:], start); err != nil {
		return MediaInfo{}, perr(ErrCorrupt, "FLAC file ends inside its STREAMINFO header")
	}
	if b[4]&0x7f != 0 {
		return MediaInfo{}, perr(ErrCorrupt, "FLAC does not start with a STREAMINFO block")
	}
	if n := int(b[5])<<16 | int(b[6])<<8 | int(b[7]); n != 34 {
		return MediaInfo{}, perr(ErrCorrupt, "FLAC STREAMINFO is %d bytes long; it must be 34", n)
	}
	si := b[8:]
	rate := int(si[10])<<12 | int(si[11])<<4 | int(si[12])>>4
	channels := int(si[12]>>1&7) + 1
	bits := int(si[12]&1)<<4 | int(si[13]>>4) + 1
	total := int64(si[13]&0x0f)<<32 | int64(binary.BigEndian.Uint32(si[14:]))
	minBlock := int(binary.BigEndian.Uint16(si[0:]))
	maxBlock := int(binary.BigEndian.Uint16(si[2:]))
	switch {
	case rate == 0:
		return MediaInfo{}, perr(ErrCorrupt, "FLAC STREAMINFO gives a sample rate of 0")
	case minBlock < 16 || maxBlock < minBlock:
		return MediaInfo{}, perr(ErrCorrupt, "FLAC STREAMINFO gives block sizes %d..%d", minBlock, maxBlock)
	case channels > 2:
		return MediaInfo{}, perr(ErrUnsupported, "FLAC with %d channels; mono and stereo are supported", channels)
	case bits < 8 || bits > 24:
		return MediaInfo{}, perr(ErrUnsupported, "FLAC with %d-bit samples; 8 to 24-bit are supported", bits)
	case rate < 8000 || rate > 192000:
		return MediaInfo{}, perr(ErrUnsupported, "FLAC sample rate %d Hz; 8000 to 192000 Hz are supported", rate)
	}
	// A FLAC frame codes at least one sample in at least 10 bytes or so;
	// a header claiming far more samples than the file could hold lies.
	if total > 0 && (size-start) < total/int64(maxBlock) {
		return MediaInfo{}, perr(ErrCorrupt, "FLAC STREAMINFO says %d samples but the file has only %s", total, sizeString(size-start))
	}
	return MediaInfo{Codec: "flac", Rate: rate, Channels: channels, Frames: total, Duration: framesDuration(total, rate)}, nil
}

// ---- MP3 ----

// mpegHeader is a decoded MPEG audio frame header.
type mpegHeader struct {
	version  int // 1, 2, or 25 (MPEG-2.5)
	layer    int // 1, 2, 3
	crc      bool
	bitrate  int // bits per second
	rate     int
	padding  int
	mono     bool
	raw      uint32
	size     int // bytes, header included
	samples  int // per channel
	sideInfo int // Layer III side information bytes
	// free is, for a free-format frame (bitrate index 0), the stream's
	// frame size without the padding slot; 0 otherwise.
	free int
}

var mp3Bitrates = [2][3][16]int{
	{ // MPEG-1: layer I, II, III
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	},
	{ // MPEG-2 and 2.5
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	},
}

// parseMPEGHeader decodes a 4-byte frame header; ok is false if it is not
// one, or if it is free format (the header does not give the size).
func parseMPEGHeader(b []byte) (h mpegHeader, ok bool) {
	return parseMPEGHeaderFree(b, 0)
}

// parseMPEGHeaderFree is parseMPEGHeader for a stream whose free-format
// frames are free bytes long without padding: with free > 0 it takes
// free-format headers, and only those.
func parseMPEGHeaderFree(b []byte, free int) (h mpegHeader, ok bool) {
	v := binary.BigEndian.Uint32(b)
	if v&0xffe00000 != 0xffe00000 {
		return h, false
	}
	switch v >> 19 & 3 {
	case 0:
		h.version = 25
	case 2:
		h.version = 2
	case 3:
		h.version = 1
	default:
		return h, false
	}
	lay := int(v >> 17 & 3)
	if lay == 0 {
		return h, false
	}
	h.layer = 4 - lay
	bi := int(v >> 12 & 15)
	si := int(v >> 10 & 3)
	if (bi == 0) != (free > 0) || bi == 15 || si == 3 || v&3 == 2 {
		return h, false // free format or not as asked, bad bitrate, reserved rate, reserved emphasis
	}
	lsf := 0
	if h.version != 1 {
		lsf = 1
	}
	h.bitrate = mp3Bitrates[lsf][h.layer-1][bi] * 1000
	h.rate = [3]int{44100, 48000, 32000}[si]
	switch h.version {
	case 2:
		h.rate /= 2
	case 25:
		h.rate /= 4
	}
	h.crc = v>>16&1 == 0
	h.padding = int(v >> 9 & 1)
	h.mono = v>>6&3 == 3
	h.raw = v
	switch h.layer {
	case 1:
		h.size = (12*h.bitrate/h.rate + h.padding) * 4
		h.samples = 384
		if free > 0 {
			h.size = free + 4*h.padding
		}
	case 2:
		h.size = 144*h.bitrate/h.rate + h.padding
		h.samples = 1152
	case 3:
		if lsf == 1 {
			h.size = 72*h.bitrate/h.rate + h.padding
			h.samples = 576
		} else {
			h.size = 144*h.bitrate/h.rate + h.padding
			h.samples = 1152
		}
	}
	if free > 0 {
		h.free = free
		if h.layer != 1 {
			h.size = free + h.padding
		}
	}
	switch {
	case lsf == 0 && h.mono:
		h.sideInfo = 17
	case lsf == 0:
		h.sideInfo = 32
	case h.mono:
		h.sideInfo = 9
	default:
		h.sideInfo = 17
	}
	return h, true
}

// MPEGFrame is an MPEG audio frame header, for code that walks MP3 streams
// frame by frame (the relays).
type MPEGFrame struct{ h mpegHeader }

// ParseMPEGFrame decodes the 4-byte header at the start of b (at least 4
// bytes); ok is false for anything that is not a valid header (free
// format, reserved values).
func ParseMPEGFrame(b []byte) (MPEGFrame, bool) {
	h, ok := parseMPEGHeader(b)
	return MPEGFrame{h}, ok
}

func (f MPEGFrame) Version() int  { return f.h.version } // 1, 2 or 25 (MPEG-2.5)
func (f MPEGFrame) Layer() int    { return f.h.layer }
func (f MPEGFrame) Bitrate() int  { return f.h.bitrate } // bits per second
func (f MPEGFrame) Rate() int     { return f.h.rate }
func (f MPEGFrame) Mono() bool    { return f.h.mono }
func (f MPEGFrame) Size() int     { return f.h.size }     // bytes, header included
func (f MPEGFrame) Samples() int  { return f.h.samples }  // per channel
func (f MPEGFrame) SideInfo() int { return f.h.sideInfo } // Layer III side information bytes

// SameStream reports whether g can follow f: same version, layer and rate.
func (f MPEGFrame) SameStream(g MPEGFrame) bool { return f.h.sameStream(g.h) }

func (f MPEGFrame) String() string {
	ch := "stereo"
	if f.h.mono {
		ch = "mono"
	}
	return fmt.Sprintf("MP3 (%s layer III) %d kbps %d Hz %s", f.h.versionName(), f.h.bitrate/1000, f.h.rate, ch)
}

// sameStream reports whether g can follow h: same version, layer and rate.
func (h mpegHeader) sameStream(g mpegHeader) bool {
	const mask = 0xfffe0c00
	return h.raw&mask == g.raw&mask
}

func (h mpegHeader) versionName() string {
	switch h.version {
	case 1:
		return "MPEG-1"
	case 2:
		return "MPEG-2"
	}
	return "MPEG-2.5"
}

// freeFormatSize returns the size without padding of the free-format
// frame at the start of b (bitrate index 0: the header does not say): the
// distance to the next free-format header of the same stream, within the
// 4 KB a free-format frame can take. 0 if b does not start with one.
func freeFormatSize(b []byte) int {
	if len(b) < 4 || b[0] != 0xff {
		return 0
	}
	h, ok := parseMPEGHeaderFree(b, 1)
	if !ok {
		return 0
	}
	for k := 4 + h.sideInfo; k+4 <= len(b) && k <= 4096; k++ {
		if b[k] != 0xff {
			continue
		}
		if g, ok := parseMPEGHeaderFree(b[k:], 1); ok && h.sameStream(g) {
			if h.layer == 1 {
				return k - 4*h.padding
			}
			return k - h.padding
		}
	}
	return 0
}

// mp3Tag is what a Xing/Info/VBRI tag frame says.
type mp3Tag struct {
	frames         int64 // audio frames after the tag frame; 0 if not given
	bytes          int64 // bytes of the stream; 0 if not given
	lame           bool  // a LAME extension gives delay and padding
	delay, padding int
}

// parseMP3Tag reads a Xing/Info/VBRI tag from a whole frame (header
// included), as the go-mp3 fork does.
func parseMP3Tag(h mpegHeader, frame []byte) (mp3Tag, bool) {
	var t mp3Tag
	if h.layer != 3 {
		return t, false
	}
	off := 4 + h.sideInfo
	if h.crc {
		off += 2
	}
	be := func(b []byte) int64 { return int64(binary.BigEndian.Uint32(b)) }
	if len(frame) >= off+8 && (string(frame[off:off+4]) == "Xing" || string(frame[off:off+4]) == "Info") {
		flags := be(frame[off+4:])
		p := off + 8
		if flags&1 != 0 && len(frame) >= p+4 {
			t.frames = be(frame[p:])
			p += 4
		}
		if flags&2 != 0 && len(frame) >= p+4 {
			t.bytes = be(frame[p:])
			p += 4
		}
		if flags&4 != 0 {
			p += 100
		}
		if flags&8 != 0 {
			p += 4
		}
		if len(frame) >= p+24 && versionString(frame[p:p+4]) {
			t.lame = true
			b := frame[p+21:]
			t.delay = int(b[0])<<4 | int(b[1])>>4
			t.padding = int(b[1]&0x0f)<<8 | int(b[2])
		}
		return t, true
	}
	if len(frame) >= 36+18 && string(frame[36:40]) == "VBRI" {
		t.bytes = be(frame[36+10:])
		t.frames = be(frame[36+14:])
		return t, true
	}
	return t, false
}

func versionString(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return true
}

// gaplessFrames is the number of samples the decoder outputs for frames
// audio frames of samples each, with the tag's trimming (see the go-mp3
// fork's decode.go: output is raw[delay+529 : frames*spf-padding+529]).
func gaplessFrames(t mp3Tag, frames int64, spf int) int64 {
	raw := frames * int64(spf)
	if !t.lame {
		return raw
	}
	const decoderDelay = 529
	skip := int64(t.delay + decoderDelay)
	end := raw
	if t.frames > 0 {
		end = min(t.frames*int64(spf)-int64(t.padding)+decoderDelay, t.frames*int64(spf))
		end = max(end, skip)
		end = min(end, raw)
	}
	return max(end-skip, 0)
}

// probeMP3 finds the first frame within syncSearchLimit bytes of start,
// confirms it with the next frame, reads the tag frame if any, and counts
// frames (from the tag, else by a scan of the headers).
func probeMP3(r io.ReaderAt, size, start int64) (MediaInfo, error) {
	limit := min(size-start, syncSearchLimit+4)
	buf := make([]byte, limit)
	n, _ := r.ReadAt(buf, start)
	buf = buf[:n]
	first := int64(-1)
	var h mpegHeader
	for i := 0; i+4 <= len(buf) && i < syncSearchLimit; i++ {
		if buf[i] != 0xff {
			continue
		}
		c, ok := parseMPEGHeader(buf[i:])
		if !ok {
			// Free format: the size is the distance to the next header.
			free := freeFormatSize(buf[i:])
			if free == 0 {
				continue
			}
			c, _ = parseMPEGHeaderFree(buf[i:], free)
		}
		// Confirm: the next frame starts right after this one, or this
		// frame ends the file.
		next := start + int64(i) + int64(c.size)
		if next != size {
			var nb [4]byte
			if _, err := r.ReadAt(nb[:], next); err == nil {
				g, ok := parseMPEGHeaderFree(nb[:], c.free)
				if !ok || !c.sameStream(g) {
					continue
				}
			} else if next < size {
				continue
			}
			// next > size: a single truncated frame; reported below.
		}
		first, h = start+int64(i), c
		break
	}
	if first < 0 {
		if start > 0 {
			return MediaInfo{}, perr(ErrNotAudio, "an ID3 tag but no MP3 frame sync in the first 64 KiB after it")
		}
		return MediaInfo{}, perr(ErrNotAudio, "no MP3 frame sync in the first 64 KiB")
	}
	channels := 2
	if h.mono {
		channels = 1
	}
	codec := [4]string{"", "mp1", "mp2", "mp3"}[h.layer]
	info := MediaInfo{Codec: codec, Rate: h.rate, Channels: channels}

	fr := make([]byte, h.size)
	if _, err := r.ReadAt(fr, first); err != nil {
		return MediaInfo{}, perr(ErrCorrupt, "MP3 is truncated: its only frame needs %d bytes but the file has %d", h.size, size-first)
	}
	tag, hasTag := parseMP3Tag(h, fr)
	audioStart := first
	if hasTag {
		audioStart += int64(h.size)
	}
	if hasTag && tag.frames > 0 {
		// Trust the tag for the duration, but a file much shorter than
		// the tag says was cut short.
		if tag.bytes > 0 && size-first < tag.bytes*9/10 {
			return MediaInfo{}, perr(ErrCorrupt, "MP3 is truncated: its header says %s of audio frames but the file has %s", sizeString(tag.bytes), sizeString(size-first))
		}
		info.Frames = gaplessFrames(tag, tag.frames, h.samples)
		info.Duration = framesDuration(info.Frames, info.Rate)
		return info, nil
	}
	frames, cut, stereo, err := scanMP3(r, size, audioStart, h)
	if err != nil {
		return MediaInfo{}, err
	}
	if stereo {
		// A stream that switches from mono to stereo (11172-4's
		// l3-he_mode): the decoder's output is stereo throughout.
		info.Channels = 2
	}
	if frames == 0 {
		if cut != nil {
			return MediaInfo{}, perr(ErrCorrupt, "MP3 is truncated: its only audio frame, at byte %d, needs %d bytes but the file ends after %d", cut.pos, cut.need, cut.have)
		}
		return MediaInfo{}, perr(ErrCorrupt, "MP3 has a tag frame but no audio frames")
	}
	if cut != nil {
		info.Warnings = append(info.Warnings, cut.warning())
	}
	info.Frames = gaplessFrames(tag, frames, h.samples)
	info.Duration = framesDuration(info.Frames, info.Rate)
	return info, nil
}

// cutFrame is a last frame that the file ends inside of.
type cutFrame struct {
	pos        int64 // byte offset of its header
	need, have int64 // its size, and the bytes of it in the file
}

func (c *cutFrame) warning() string {
	return fmt.Sprintf("MP3 bị cắt cụt: khung cuối, ở byte %d, cần %d byte nhưng tệp chỉ còn %d; phát mọi khung đầy đủ trước nó / "+
		"MP3 is truncated: the last frame, at byte %d, needs %d bytes but the file ends after %d; every complete frame before it is played",
		c.pos, c.need, c.have, c.pos, c.need, c.have)
}

// scanMP3 counts the complete frames from off to the end of the file,
// stepping from header to header. Junk between frames is skipped the way
// the decoder skips it (next sync word of the same stream); an ID3v1 or APE
// tag at the end is fine. A last frame cut short is returned as cut: the
// decoder plays every frame before it (files cut short by editors, phones
// and interrupted copies are common, and mpg123 and ffmpeg play them).
// stereo says whether any frame has two channels.
func scanMP3(r io.ReaderAt, size, off int64, ref mpegHeader) (frames int64, cut *cutFrame, stereo bool, err error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
	pos := off
	for pos < size {
		hb, _ := br.Peek(4)
		if len(hb) < 4 {
			break // fewer than 4 bytes left: trailing junk
		}
		h, ok := parseMPEGHeaderFree(hb, ref.free)
		if !ok || !ref.sameStream(h) {
			if string(hb[:3]) == "TAG" && size-pos == 128 || string(hb) == "APET" || string(hb[:3]) == "ID3" {
				break // trailing tags
			}
			br.Discard(1) // resync one byte further on
			pos++
			continue
		}
		if pos+int64(h.size) > size {
			return frames, &cutFrame{pos: pos, need: int64(h.size), have: size - pos}, stereo, nil
		}
		if _, err := br.Discard(h.size); err != nil {
			return frames, &cutFrame{pos: pos, need: int64(h.size), have: size - pos}, stereo, nil
		}
		pos += int64(h.size)
		frames++
		stereo = stereo || !h.mono
	}
	return frames, nil, stereo, nil
}
