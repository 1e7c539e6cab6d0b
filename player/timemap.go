package player

import (
	"math"
	"time"

	"loa/audio"
)

// TimeMap converts between wall-clock instants and output frames: where on
// the sample clock an instant falls, and when a frame is heard.
type TimeMap interface {
	// FrameAt is the output frame heard at t; ok is false while the output
	// has not started and the mapping is unknown.
	FrameAt(t time.Time) (frame int64, ok bool)
	// TimeAt is the instant frame is heard.
	TimeAt(frame int64) time.Time
}

// VirtualTime is the time map of an offline render: frame 0 is heard at
// From, exactly, and the sample clock is the only clock.
type VirtualTime struct {
	From time.Time
	Rate int
}

func (v VirtualTime) FrameAt(t time.Time) (int64, bool) {
	return int64(math.Round(t.Sub(v.From).Seconds() * float64(v.Rate))), true
}

func (v VirtualTime) TimeAt(frame int64) time.Time {
	return v.From.Add(audio.FramesToDuration(frame, v.Rate))
}

// OutputTime is the time map of a real output, from its anchor.
type OutputTime struct {
	Out  audio.Output
	Rate int
}

func (o OutputTime) FrameAt(t time.Time) (int64, bool) {
	base, ok := o.Out.Anchor()
	if !ok {
		return 0, false
	}
	return int64(math.Round(t.Sub(base).Seconds() * float64(o.Rate))), true
}

func (o OutputTime) TimeAt(frame int64) time.Time {
	base, _ := o.Out.Anchor()
	return base.Add(audio.FramesToDuration(frame, o.Rate))
}
