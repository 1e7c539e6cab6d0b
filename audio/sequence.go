package audio

import (
	"errors"
	"fmt"
	"io"
)

// FrameReader reads PCM frames at the engine rate from a random position.
// *PCMFile (the decoded cache of a media file) is one.
type FrameReader interface {
	ReadFrames(at int64, dst [][2]float64) (int, error)
	Close() error
}

// Part is one piece of a Sequence: a stretch of a PCM file, or silence when
// Path is empty.
type Part struct {
	// Index is the caller's number for the part (for example the item's
	// place in the program), reported in events.
	Index int
	Path  string
	// Offset is the first frame of the file to play; Frames is how many
	// frames the part lasts on air. A file shorter than planned is padded
	// with silence, so that later parts keep their place on the timeline.
	Offset int64
	Frames int64
	Gain   float64
	// Reader, when set, is read instead of opening Path: a live stream (a
	// relay) read from its current position for Frames frames. The
	// sequence does not close it; its owner does.
	Reader FrameReader
}

// Sequence plays parts back to back with no gap: a program's chime and
// items, or an alert's chime, content and repeats. It is a beep.Streamer,
// read only by the engine's output goroutine.
//
// A part whose file cannot be read is replaced by silence of its planned
// length and reported (PartFailed): the rest of the sequence still plays at
// its planned time.
type Sequence struct {
	open    func(path string) (FrameReader, error)
	parts   []Part
	cur     int
	played  int64 // frames played of the current part
	pos     int64 // frames produced by the whole sequence
	reader  FrameReader
	failed  bool
	pending []seqEvent
}

type seqEvent struct {
	part int
	at   int64
	err  error
}

// NewSequence makes a sequence of parts; open opens a part's file.
func NewSequence(open func(path string) (FrameReader, error), parts []Part) *Sequence {
	return &Sequence{open: open, parts: parts, cur: -1}
}

// Frames is the length of the whole sequence.
func (s *Sequence) Frames() int64 {
	var n int64
	for _, p := range s.parts {
		n += p.Frames
	}
	return n
}

// Stream implements beep.Streamer.
func (s *Sequence) Stream(dst [][2]float64) (int, bool) {
	n := 0
	for n < len(dst) {
		if s.cur >= len(s.parts) {
			return n, n > 0
		}
		if s.cur < 0 || s.played >= s.parts[s.cur].Frames {
			if !s.next() {
				return n, n > 0
			}
			continue
		}
		p := &s.parts[s.cur]
		want := min(int64(len(dst)-n), p.Frames-s.played)
		chunk := dst[n : n+int(want)]
		got := 0
		if s.reader != nil && !s.failed {
			k, err := s.reader.ReadFrames(p.Offset+s.played, chunk)
			got = k
			if err != nil && !errors.Is(err, io.EOF) {
				// The cache file broke under us: silence for the rest of
				// the part, reported. (A short file, io.EOF, is padded.)
				s.failed = true
				s.pending = append(s.pending, seqEvent{part: p.Index, at: s.pos + int64(k), err: fmt.Errorf("part %d: %w", p.Index, err)})
			}
			if p.Gain != 1 {
				for i := range chunk[:got] {
					chunk[i][0] *= p.Gain
					chunk[i][1] *= p.Gain
				}
			}
		}
		clear(chunk[got:])
		s.played += want
		s.pos += want
		n += int(want)
	}
	return n, true
}

// Err implements beep.Streamer; failures of parts are events, not errors.
func (s *Sequence) Err() error { return nil }

func (s *Sequence) next() bool {
	if s.reader != nil {
		s.reader.Close()
		s.reader = nil
	}
	s.cur++
	s.played = 0
	s.failed = false
	if s.cur >= len(s.parts) {
		s.cur = len(s.parts)
		return false
	}
	p := s.parts[s.cur]
	var err error
	if p.Reader != nil {
		s.reader = keepOpen{p.Reader}
	} else if p.Path != "" {
		s.reader, err = s.open(p.Path)
		if err != nil {
			s.reader = nil
			s.failed = true
			err = fmt.Errorf("part %d: %w", p.Index, err)
		}
	}
	s.pending = append(s.pending, seqEvent{part: p.Index, at: s.pos, err: err})
	return true
}

// drain hands the part changes since the last call to fn, with the
// sequence position at which each happened.
func (s *Sequence) drain(fn func(part int, at int64, err error)) {
	for _, ev := range s.pending {
		fn(ev.part, ev.at, ev.err)
	}
	s.pending = s.pending[:0]
}

// Close releases the open file.
func (s *Sequence) Close() error {
	if s.reader != nil {
		err := s.reader.Close()
		s.reader = nil
		return err
	}
	return nil
}

// keepOpen is a reader the sequence must not close.
type keepOpen struct{ FrameReader }

func (keepOpen) Close() error { return nil }

// StreamReader reads a live source (a beep.Streamer that never blocks, such
// as a relay) as a FrameReader: positions are ignored, frames come in
// order, and what the source lacks is silence.
type StreamReader struct {
	S interface {
		Stream([][2]float64) (int, bool)
	}
}

func (r StreamReader) ReadFrames(_ int64, dst [][2]float64) (int, error) {
	n, _ := r.S.Stream(dst)
	clear(dst[n:])
	return len(dst), nil
}

func (r StreamReader) Close() error { return nil }
