package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"loa/city/api"
	"loa/fleet"
	"loa/schedule"
)

// Fleet is what the technicians' pages (Trạm phát) need of the city's
// board (city/board): the same wards, states and histories the JSON API
// gives, and a way to be woken when the board changes.
type Fleet interface {
	// Wards is every registered ward with its health, as GET /api/v1/wards.
	Wards(ctx context.Context) ([]api.Ward, error)
	// Ward is one ward with its health; ErrNoWard when it does not exist.
	Ward(ctx context.Context, id string) (api.Ward, error)
	// Heartbeats are the ward's recent heartbeats, newest first.
	Heartbeats(ward string) []api.WardBeat
	// AsRunDay is the ward's broadcast log for day d.
	AsRunDay(ctx context.Context, ward string, d schedule.Date) (api.AsRunDay, error)
	// Watch wakes the caller after the board changed (changes coalesce
	// into one pending signal); stop ends the watch.
	Watch() (changed <-chan struct{}, stop func())
	// MapTiles is the map's tile URL template and its attribution ("":
	// no tiles, the points alone).
	MapTiles() (url, attribution string)
}

// ErrNoWard: no ward with that id.
var ErrNoWard = errors.New("no such ward")

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

// fleetRow is one ward on the fleet page, and in its live updates (JSON).
type fleetRow struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
	State    string   `json:"state"`             // shown, in the reader's language
	Slug     string   `json:"slug"`              // the state as a class: on_air, silent, ...
	Class    string   `json:"class"`             // ok | warn | bad
	Severity int      `json:"sev"`               // the page's order: problems first, worst first
	Problem  string   `json:"problem,omitempty"` // the worst problem's detail
	More     int      `json:"more,omitempty"`    // further problems
	Playing  string   `json:"playing,omitempty"`
	Live     bool     `json:"live,omitempty"`
	Level    string   `json:"level"`
	Seen     string   `json:"-"` // the live page writes it from SeenAt
	SeenAt   int64    `json:"-"` // the last heartbeat, Unix ms (0: never); sent apart
	Version  string   `json:"version"`
	Lat      *float64 `json:"lat,omitempty"`
	Lon      *float64 `json:"lon,omitempty"`
}

type fleetData struct {
	Rows     []fleetRow
	Groups   []string
	Group    string
	Problems int
	Points   int // wards with a location
	// MapPoints are the located wards, for the map script (html/template
	// writes them as JSON into the page).
	MapPoints any
	Tiles     string
	Attrib    string
	Updated   string
	// Control sends a command to several wards (control.go); nil: none.
	Control *controlData
}

// playingText is what plays, by its title: the program's (or alert's,
// or announcement's) title, and the item's name when the ward knows it.
func playingText(l Lang, p *api.NowPlaying) string {
	if p == nil {
		return ""
	}
	s := p.Title
	if s == "" && p.Kind != fleet.PlayingLive {
		s = p.ID // a live announcement's id means nothing to people
	}
	switch {
	case p.Kind == fleet.PlayingLive && s == "":
		return T(l, "fleet.live")
	case p.Kind == fleet.PlayingLive:
		s = T(l, "fleet.live") + ": " + s
	case p.Kind == fleet.PlayingAlert:
		s = T(l, "fleet.alert") + ": " + s
	}
	if _, hash := fleet.HashPrefix(p.Item); p.Item != "" && !hash {
		s += " — " + p.Item
	}
	return s
}

// agoShort is a relative time to the second under a minute: a technician
// watching a ward go silent needs "12 giây trước", not "vừa xong".
func agoShort(l Lang, d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(max(int(d/time.Second), 0)) + " " + T(l, "fleet.secago")
	}
	return ago(l, d)
}

func (c *Console) fleetRows(l Lang, wards []api.Ward, group string, now time.Time) []fleetRow {
	rows := make([]fleetRow, 0, len(wards))
	for _, wd := range wards {
		if group != "" && !slices.Contains(wd.Groups, group) {
			continue
		}
		row := fleetRow{ID: wd.ID, Name: wardName(wd), Groups: wd.Groups, Lat: wd.Lat, Lon: wd.Lon, Level: "–", Version: "–", Seen: T(l, "fleet.never")}
		h := wd.Health
		if h == nil {
			h = &api.WardHealth{State: string(fleet.Offline)}
		}
		st := fleet.State(h.State)
		row.State, row.Slug, row.Class, row.Severity = shownState(l, h), st.Slug(), stateClass(h.State), st.Severity()
		if len(h.Problems) > 0 {
			row.Problem, row.More = h.Problems[0].Detail, len(h.Problems)-1
		}
		// An offline ward's last heartbeat says what played then, not now.
		if h.NowPlaying != nil && st != fleet.Offline {
			row.Playing, row.Live = playingText(l, h.NowPlaying), h.NowPlaying.Kind == fleet.PlayingLive
		}
		if h.LastHeartbeat != nil {
			row.Seen, row.SeenAt = agoShort(l, now.Sub(*h.LastHeartbeat)), h.LastHeartbeat.UnixMilli()
			if h.LevelDBFS != nil && st != fleet.Offline {
				row.Level = strconv.FormatFloat(*h.LevelDBFS, 'f', 1, 64) + " dBFS"
			}
		}
		if h.Version != "" {
			row.Version = h.Version
		}
		if row.Slug == "on_air" && row.Live {
			row.Slug = "live"
		}
		rows = append(rows, row)
	}
	// Problems first, worst first; then by name.
	sort.SliceStable(rows, func(i, j int) bool { return rowBefore(&rows[i], &rows[j]) })
	return rows
}

func groupsOf(wards []api.Ward) []string {
	var gs []string
	for _, w := range wards {
		for _, g := range w.Groups {
			if !slices.Contains(gs, g) {
				gs = append(gs, g)
			}
		}
	}
	sort.Strings(gs)
	return gs
}

// getFleet is the technicians' board (Trạm phát): every ward, problems
// first, live through server-sent events (fleet.js); without JavaScript a
// plain table, current at each reload.
func (c *Console) getFleet(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	wards, err := c.deps.Fleet.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "fleet", err)
		return
	}
	wards = scopedWards(s, wards) // a scoped user: her wards only
	now := c.deps.Now()
	group := r.URL.Query().Get("group")
	d := fleetData{Groups: groupsOf(wards), Group: group, Rows: c.fleetRows(l, wards, group, now),
		Updated: now.In(c.deps.Location).Format("15:04:05")}
	if !slices.Contains(d.Groups, group) {
		d.Group = ""
	}
	d.Control = c.fleetControls(r, s, wards, d.Group)
	type point struct {
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Lat   float64 `json:"lat"`
		Lon   float64 `json:"lon"`
		State string  `json:"state"`
		Class string  `json:"class"`
	}
	var pts []point
	for _, row := range d.Rows {
		if row.Problem != "" {
			d.Problems++
		}
		if row.Lat != nil && row.Lon != nil {
			pts = append(pts, point{row.ID, row.Name, *row.Lat, *row.Lon, row.State, row.Class})
		}
	}
	d.Points = len(pts)
	if len(pts) > 0 {
		d.MapPoints = pts
		d.Tiles, d.Attrib = c.deps.Fleet.MapTiles()
	}
	if o := tileOrigin(d.Tiles); o != "" {
		// The map's tiles, and only on this page.
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"), "img-src 'self' data:", "img-src 'self' data: "+o, 1))
	}
	p := c.newPage(r, s, "nav.fleet")
	p.Data = d
	c.render(w, r, http.StatusOK, "fleet", p)
}

// SSE: a viewer's updates come at most this often, and at least this
// often (an empty update: the connection is alive, the time it was
// drawn); a write that takes longer than fleetWriteTimeout ends the
// stream (a stuck client does not keep its goroutine).
const (
	fleetMinGap       = time.Second
	fleetRefresh      = 5 * time.Second
	fleetWriteTimeout = 10 * time.Second
)

// getFleetEvents streams the fleet's rows as server-sent events: first a
// "board" event with every row (JSON), then, when the board changes, a
// "rows" event with only the rows that changed since (fleetfeed.go), at
// most one a second. A reconnection is a new stream: it starts with the
// whole board. It runs in the request's own goroutine (one per viewer,
// none other) and ends when the viewer goes.
func (c *Console) getFleetEvents(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	group := r.URL.Query().Get("group")
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	changed, stop := c.deps.Fleet.Watch()
	defer stop()
	refresh := time.NewTicker(fleetRefresh)
	defer refresh.Stop()
	view := fleetView{stream: strconv.FormatInt(time.Now().UnixNano(), 36)}
	var last time.Time
	// send draws what changed since the last event from a snapshot begun
	// after `after`; full: the whole board; quiet: nothing is sent when
	// nothing of the viewer's changed.
	send := func(after time.Time, full, quiet bool) bool {
		snap, err := c.fleetFeed.snapshot(r.Context(), c, after)
		if err != nil {
			c.deps.Log.Warn("console: fleet events", "err", err)
			return r.Context().Err() == nil
		}
		name, data, changes := view.event(c, snap, l, s, group, full)
		if quiet && changes == 0 {
			return true
		}
		rc.SetWriteDeadline(time.Now().Add(fleetWriteTimeout))
		if _, err := fmt.Fprintf(w, "id: %s.%d\nevent: %s\ndata: %s\n\n", view.stream, view.n, name, data); err != nil {
			return false
		}
		last = time.Now()
		return rc.Flush() == nil
	}
	rc.SetWriteDeadline(time.Now().Add(fleetWriteTimeout))
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil || rc.Flush() != nil || !send(time.Now(), true, false) {
		return
	}
	for {
		var after time.Time
		quiet := true
		select {
		case <-r.Context().Done():
			return
		case <-changed:
			// Woken after a change: a snapshot begun from now on holds it.
			// Changes while this viewer waits out its gap wake it again.
			after = time.Now()
			if wait := fleetMinGap - time.Since(last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-r.Context().Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		case <-refresh.C:
			if time.Since(last) < fleetRefresh/2 {
				continue
			}
			after, quiet = last, false
		}
		if !send(after, false, quiet) {
			return
		}
	}
}

type beatRow struct {
	At, State, Class, Playing, Level, Silent, Disk string
}

type asrunRow struct {
	Planned, Actual, Program, Item, Result, Class, Note string
}

type timelineRow struct {
	Start, End, Title, Class string
}

type problemRow struct {
	State, Detail, Why string
}

type fleetWardData struct {
	Ward     api.Ward
	Row      fleetRow
	Problems []problemRow
	Timeline []timelineRow
	AsRun    []asrunRow
	Beats    []beatRow
	Today    string
	Clock    string
	Disk     string
	Sync     string
	// Control are the ward's controls (control.go); nil: none for her.
	Control *controlData
}

// getFleetWard is one ward's page: its state and problems explained, its
// timeline today, what it logged as run, its recent heartbeats.
func (c *Console) getFleetWard(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	id := r.PathValue("ward")
	wd, err := c.deps.Fleet.Ward(r.Context(), id)
	if errors.Is(err, ErrNoWard) {
		c.errorPage(w, r, s, http.StatusNotFound, fmt.Sprintf(T(l, "fleet.noward"), id))
		return
	}
	if err != nil {
		c.internal(w, r, s, "fleet ward", err)
		return
	}
	if len(scopedWards(s, []api.Ward{wd})) == 0 {
		c.outOfScope(w, r, s)
		return
	}
	now := c.deps.Now()
	loc := c.deps.Location
	today := schedule.DateOf(now.In(loc))
	d := fleetWardData{Ward: wd, Today: now.In(loc).Format("02/01/2006")}
	d.Row = c.fleetRows(l, []api.Ward{wd}, "", now)[0]
	if h := wd.Health; h != nil {
		for _, p := range h.Problems {
			vi, en := fleet.State(p.State).ShownFor("")
			name := vi
			if l == English {
				name = en
			}
			d.Problems = append(d.Problems, problemRow{State: name, Detail: p.Detail, Why: T(l, "fleet.why."+fleet.State(p.State).Slug())})
		}
		if ck := h.Clock; ck != nil {
			d.Clock = ck.Source
			if !ck.Trusted {
				d.Clock += " · " + T(l, "fleet.untrusted")
			}
		}
		if h.LastHeartbeat != nil {
			d.Disk = fmt.Sprintf("%.0f MB", float64(h.DiskFree)/1e6)
			d.Sync = T(l, "fleet.insync")
			if h.Sync.Version != h.Sync.CityVersion {
				d.Sync = fmt.Sprintf(T(l, "fleet.outsync"), h.Sync.Version, h.Sync.CityVersion)
			}
		}
	} else {
		d.Problems = append(d.Problems, problemRow{State: fleet.Offline.Vietnamese(), Why: T(l, "fleet.why.offline")})
	}
	if tl, err := c.deps.Schedules.Timeline(r.Context(), id, today); err == nil {
		for _, o := range tl.Occurrences {
			cls := ""
			switch {
			case o.Displaced:
				cls = "displaced"
			case !now.Before(o.End):
				cls = "past"
			case !now.Before(o.Start):
				cls = "current"
			}
			title := o.Title
			if title == "" {
				title = o.Program
			}
			d.Timeline = append(d.Timeline, timelineRow{Start: o.Start.In(loc).Format("15:04"), End: o.End.In(loc).Format("15:04"), Title: title, Class: cls})
		}
	} else {
		c.deps.Log.Warn("console: ward timeline", "ward", id, "err", err)
	}
	if day, err := c.deps.Fleet.AsRunDay(r.Context(), id, today); err == nil {
		es := day.Entries
		for i := len(es) - 1; i >= 0 && len(d.AsRun) < 20; i-- {
			e := es[i]
			row := asrunRow{Planned: e.Planned.In(loc).Format("15:04:05"), Actual: "–", Program: e.Program, Item: e.Item, Result: e.Result, Note: e.Note}
			if _, hash := fleet.HashPrefix(e.Item); hash {
				row.Item = ""
			}
			if e.Actual != nil {
				row.Actual = e.Actual.In(loc).Format("15:04:05")
			}
			switch strings.SplitN(e.Result, ":", 2)[0] {
			case "completed":
				row.Class = "ok"
			case "missed", "failed", "skipped":
				row.Class = "bad"
			default:
				row.Class = "warn"
			}
			d.AsRun = append(d.AsRun, row)
		}
	} else {
		c.deps.Log.Warn("console: ward as-run", "ward", id, "err", err)
	}
	for _, b := range c.deps.Fleet.Heartbeats(id) {
		st := fleet.State(b.State)
		kind := ""
		if b.NowPlaying != nil {
			kind = b.NowPlaying.Kind
		}
		vi, en := st.ShownFor(kind)
		name := vi
		if l == English {
			name = en
		}
		row := beatRow{At: b.At.In(loc).Format("15:04:05"), State: name, Class: stateClass(b.State), Playing: playingText(l, b.NowPlaying),
			Level: strconv.FormatFloat(b.LevelDBFS, 'f', 1, 64), Disk: fmt.Sprintf("%.0f MB", float64(b.DiskFree)/1e6)}
		if b.SilentS > 0 {
			row.Silent = strconv.FormatFloat(b.SilentS, 'f', 0, 64) + " s"
		}
		d.Beats = append(d.Beats, row)
	}
	d.Control = c.wardControls(r, s, id)
	p := c.newPage(r, s, "nav.fleet")
	p.Title = d.Row.Name
	p.Data = d
	c.render(w, r, http.StatusOK, "fleetward", p)
}

// tileOrigin is the source a tile URL template loads from, as CSP names
// it ("https://*.tile.openstreetmap.org" for "https://{s}.tile..."); ""
// for none or a template that is not an http(s) URL.
func tileOrigin(tpl string) string {
	scheme, rest, ok := strings.Cut(tpl, "://")
	if !ok || scheme != "https" && scheme != "http" {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	host = strings.ReplaceAll(host, "{s}", "*")
	if host == "" || strings.ContainsAny(host, "{}; '\"") {
		return ""
	}
	return scheme + "://" + host
}
