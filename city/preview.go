package city

import (
	"loa/city/preview"
)

// newPreview builds the preview service (Nghe thử) over the city's
// programs and media store: the agent's renderer, run in the city.
func (c *City) newPreview() *preview.Service {
	return &preview.Service{Wards: c.Programs, MediaPath: c.Store.Path, Location: c.loc, Log: c.Log}
}
