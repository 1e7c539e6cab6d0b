package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"loa/city/api"
)

// The compose page's additions: the repeat "every N hours until" (the
// practice of QĐ 18/2021; the alerting service keeps and runs the
// schedule) and a map of the located wards, whose points tick the wards'
// checkboxes (static/alertmap.js; without it the checkboxes work alone).

// composeMore is the part of composeData these add.
type composeMore struct {
	// EveryH ("" none) and Until (datetime-local, the city's time) as
	// typed; RepeatText says them on the confirmation step.
	EveryH, Until, RepeatText string
	// MapPoints are the located wards the user may alert (nil: no map);
	// Tiles and Attrib the city's tile server ("": the points alone).
	MapPoints     []mapPoint
	Tiles, Attrib string
}

type mapPoint struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// untilLayout is an <input type="datetime-local">'s value.
const untilLayout = "2006-01-02T15:04"

// composeExtras reads the repeat fields and finds the map's points among
// the wards offered.
func (c *Console) composeExtras(d *composeData, r *http.Request, wards []api.Ward) {
	d.EveryH, d.Until = strings.TrimSpace(r.FormValue("every_h")), strings.TrimSpace(r.FormValue("until"))
	for _, w := range wards {
		if w.Lat != nil && w.Lon != nil {
			d.MapPoints = append(d.MapPoints, mapPoint{w.ID, wardName(w), *w.Lat, *w.Lon})
		}
	}
	if len(d.MapPoints) > 0 && c.deps.Fleet != nil {
		d.Tiles, d.Attrib = c.deps.Fleet.MapTiles()
	}
}

// mapCSP lets the compose page load the map's tiles, and only it.
func (c *Console) mapCSP(w http.ResponseWriter, d composeData) {
	if o := tileOrigin(d.Tiles); o != "" && d.MapPoints != nil {
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"), "img-src 'self' data:", "img-src 'self' data: "+o, 1))
	}
}

// repeatRequest puts the repeat fields into req; a message when they are
// wrong (the service checks the bounds again and names the field).
func (c *Console) repeatRequest(req *api.NewAlert, d *composeData, l Lang) string {
	if d.EveryH == "" && d.Until == "" {
		return ""
	}
	every, err := strconv.ParseFloat(strings.ReplaceAll(d.EveryH, ",", "."), 64)
	if err != nil || every <= 0 {
		return T(l, "alert.err.every")
	}
	until, err := time.ParseInLocation(untilLayout, d.Until, c.deps.Location)
	if err != nil {
		return T(l, "alert.err.until")
	}
	req.EveryH, req.Until = every, &until
	d.RepeatText = strings.NewReplacer("{n}", strconv.FormatFloat(every, 'f', -1, 64), "{until}", until.Format("15:04 02/01/2006")).Replace(T(l, "alert.repeat.every.text"))
	return ""
}

// alertRepeats is the part of Alerts that lists repeated series (an
// Alerts without it shows none).
type alertRepeats interface {
	Repeats(ctx context.Context, limit int) ([]api.AlertRepeat, error)
}

// repeatRow is one active series on the alerts page.
type repeatRow struct {
	ID, Last, Targets, By, Every, Until, Next string
	Sent                                      int
}

// repeating lists the active series the user's scope reaches.
func (c *Console) repeating(r *http.Request, s *Session) []repeatRow {
	rp, ok := c.deps.Alerts.(alertRepeats)
	if !ok {
		return nil
	}
	list, err := rp.Repeats(r.Context(), 50)
	if err != nil {
		c.deps.Log.Error("console: repeated alerts", "err", err)
		return nil
	}
	var out []repeatRow
	for _, q := range list {
		if q.State != "active" || q.Next == nil || !c.targetsOK(r, s, q.Targets, false) {
			continue
		}
		out = append(out, c.repeatRow(q))
	}
	return out
}

// repeatRow is a series as the pages show it (Next empty when none is
// due).
func (c *Console) repeatRow(q api.AlertRepeat) repeatRow {
	row := repeatRow{ID: q.ID, Last: q.Last, Targets: q.Targets, By: q.SentBy, Every: strconv.FormatFloat(q.EveryH, 'f', -1, 64),
		Until: c.when(q.Until), Sent: q.Sent}
	if q.Next != nil {
		row.Next = c.when(*q.Next)
	}
	return row
}

// seriesRow is the repeat series an alert is the first or the latest of
// (shown on its follow-up page), with its state in the page's language.
type seriesRow struct {
	repeatRow
	State string
}

// seriesOf finds the series whose first or latest alert is id (nil: none,
// or the alerts service lists no series).
func (c *Console) seriesOf(r *http.Request, id string) *seriesRow {
	rp, ok := c.deps.Alerts.(alertRepeats)
	if !ok {
		return nil
	}
	list, err := rp.Repeats(r.Context(), 50)
	if err != nil {
		c.deps.Log.Error("console: repeated alerts", "err", err)
		return nil
	}
	l := langOf(r)
	for _, q := range list {
		if q.ID != id && q.Last != id {
			continue
		}
		row := &seriesRow{repeatRow: c.repeatRow(q), State: T(l, "alert.series."+q.State)}
		if q.State != "active" {
			row.Next = ""
		}
		if q.Reason != "" {
			row.State += " (" + q.Reason + ")"
		}
		return row
	}
	return nil
}
