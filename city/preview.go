package city

import (
	"loa/city/preview"
)

// newPreview builds the preview service (Nghe thử) over the city's
// programs and media store: the agent's renderer, run in the city.
// One service serves both faces, so that they share its recent renders.
func (c *City) newPreview() *preview.Service {
	if c.preview == nil {
		c.preview = &preview.Service{Wards: c.Programs, MediaPath: c.Store.Path, Location: c.loc, Log: c.Log}
	}
	return c.preview
}
