package agent

// The station's mixing engine is made here, in one place: the daemon
// (Run) and the offline renderer (`loa-agent render`) both call NewEngine,
// so that a render is mixed and limited exactly as the speakers are.

import (
	"time"

	"loa/audio"
	"loa/audio/dsp"
)

// Limiter settings of the output stage, shared by the daemon and render so
// that a render is what the speakers get.
const (
	limiterLookahead = 2 * time.Millisecond
	limiterRelease   = 100 * time.Millisecond
)

// NewEngine makes the station's mixing engine with its output limiter.
func NewEngine(rate int, ceilingDBTP float64, silenceDBFS float64) *audio.Engine {
	return audio.NewEngine(audio.EngineConfig{
		Rate:        rate,
		Limiter:     dsp.NewLimiter(rate, ceilingDBTP, limiterLookahead, limiterRelease),
		SilenceDBFS: silenceDBFS,
	})
}
