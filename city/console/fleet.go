package console

import (
	"loa/city/api"
	"loa/fleet"
)

// shownState is a ward's state as a page shows it, in the reader's
// language: a live announcement is "Đang phát trực tiếp", never a plain
// "on air" nor "idle".
func shownState(l Lang, h *api.WardHealth) string {
	kind := ""
	if h.NowPlaying != nil {
		kind = h.NowPlaying.Kind
	}
	vi, en := fleet.State(h.State).ShownFor(kind)
	if l == English {
		return en
	}
	return vi
}
