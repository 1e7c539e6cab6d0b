package console

import (
	"net/http"
	"strconv"
	"time"

	"loa/city/api"
)

type homeData struct {
	Wards   []wardRow
	Today   string
	CanEdit bool
}

type wardRow struct {
	ID      string
	Name    string // the display name, else the id
	State   string // shown text, in the reader's language
	Class   string // ok | warn | bad
	Playing string
	InSync  bool
	Seen    string
}

// getHome is the overview: every ward with its state as the technicians'
// board computes it, what plays, whether it has the city's programs.
func (c *Console) getHome(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	wards, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "home", err)
		return
	}
	wards = scopedWards(s, wards)
	now := c.deps.Now()
	d := homeData{Today: now.In(c.deps.Location).Format("02/01/2006"), CanEdit: canEditLibrary(s.Role)}
	for _, wd := range wards {
		row := wardRow{ID: wd.ID, Name: wardName(wd), InSync: wd.InSync, State: T(l, "home.unknown"), Class: "warn"}
		if h := wd.Health; h != nil {
			row.State, row.Class = shownState(l, h), stateClass(h.State)
			if np := h.NowPlaying; np != nil {
				row.Playing = np.Title
				if row.Playing == "" {
					row.Playing = np.ID
				}
			}
		}
		if wd.LastSeen != nil {
			row.Seen = ago(l, now.Sub(*wd.LastSeen))
		}
		d.Wards = append(d.Wards, row)
	}
	p := c.newPage(r, s, "nav.home")
	p.Data = d
	c.render(w, r, http.StatusOK, "home", p)
}

// stateClass colours a state: faults red, doubts amber, on air and idle
// green (api.WardHealth.State).
func stateClass(state string) string {
	switch state {
	case "on air", "idle":
		return "ok"
	case "late", "out of sync":
		return "warn"
	default:
		return "bad"
	}
}

func ago(l Lang, d time.Duration) string {
	switch {
	case d < time.Minute:
		return T(l, "ago.now")
	case d < time.Hour:
		return itoa(int(d/time.Minute)) + " " + T(l, "ago.min")
	case d < 48*time.Hour:
		return itoa(int(d/time.Hour)) + " " + T(l, "ago.hour")
	default:
		return itoa(int(d/(24*time.Hour))) + " " + T(l, "ago.day")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// wardName is how people call a ward: its display name, else its id.
func wardName(w api.Ward) string {
	if w.DisplayName != "" {
		return w.DisplayName
	}
	return w.ID
}
