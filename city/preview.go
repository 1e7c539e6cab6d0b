package city

import (
	"loa/city/preview"
)

// PreviewRenderer is the offline renderer the preview (Nghe thử) runs:
// agentrender.Render, set by cmd/loa-city before the city opens. The city
// package cannot import the agent (the agent's tests run a city); without
// it a preview answers that this build has no renderer.
var PreviewRenderer preview.Renderer

// newPreview builds the preview service over the city's programs and media
// store. One service serves both faces, so that they share its recent
// renders.
func (c *City) newPreview() *preview.Service {
	if c.preview == nil {
		c.preview = &preview.Service{Render: PreviewRenderer, Wards: c.Programs, MediaPath: c.Store.Path, Location: c.loc, Log: c.Log,
			// The library's ffmpeg (ingest.ffmpeg) encodes the browser's MP3.
			FFmpeg: c.Config.Ingest.FFmpeg}
	}
	return c.preview
}
