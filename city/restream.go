package city

import (
	"time"

	"loa/city/restream"
)

// RestreamConfig is the outside streams the city pulls once and
// re-streams to its wards (city/restream, docs/live.md).
type RestreamConfig struct {
	// Sources are the streams: a name (the mount) and the upstream URL,
	// written exactly as the wards' program files write it in relay:.
	Sources []restream.Source `yaml:"sources"`
	// Bitrate is the MP3 bit rate of a transcoded stream, kbit/s (64).
	Bitrate int `yaml:"bitrate"`
	// Linger is how long a pull goes on after its last ward left (10s).
	Linger Duration `yaml:"linger"`
	// ListenerQueue is how many MP3 frames (26 ms each) a ward may lag
	// before it is dropped (256).
	ListenerQueue int `yaml:"listener_queue"`
}

func defaultRestreamConfig() RestreamConfig {
	return RestreamConfig{Bitrate: 64, Linger: Duration(10 * time.Second), ListenerQueue: 256}
}

// restreams is the re-stream service, made at the first call.
func (c *City) restreams() *restream.Service {
	c.restreamOnce.Do(func() {
		r := c.Config.Restream
		c.restream = restream.New(restream.Config{Sources: r.Sources, FFmpeg: c.Config.Ingest.FFmpeg, Bitrate: r.Bitrate,
			Linger: time.Duration(r.Linger), ListenerQueue: r.ListenerQueue, Log: c.Log.With("component", "restream")})
	})
	return c.restream
}
