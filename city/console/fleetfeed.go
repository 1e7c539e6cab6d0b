package console

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"loa/city/api"
)

// The fleet page's live feed at scale (issue 16). A board of 10,000 wards
// is about 2.3 MB of rows; sending it whole to every viewer on every
// change cost the city more than a core with 20 viewers. Instead:
//
//   - The rows are drawn once for all viewers: a snapshot of the wards
//     (one Fleet.Wards call) and, per language, each row encoded once. A
//     viewer woken by a change takes the newest snapshot begun after it
//     was woken, or draws one; viewers woken by the same changes share it.
//   - Each viewer keeps what it last sent: the first event of a stream (a
//     connection, a reconnection too) is the whole board, every later one
//     only the rows that changed since, the rows that left (gone: out of
//     the group, unregistered) and the heartbeat times that moved (seen:
//     the page writes "12 giây trước" itself, so a heartbeat that changes
//     nothing else costs a few bytes, not a row).
//   - Every event has an id, "<stream>.<n>": the page checks that each
//     update follows the one before on the same stream and reconnects
//     (and so gets the whole board) when one does not.

// fleetFeed is the console's shared snapshot of the fleet's rows.
type fleetFeed struct {
	mu   sync.Mutex // one draw at a time; guards snap
	snap *fleetSnap
}

// fleetSnap is the wards as one Fleet.Wards call gave them, with their
// rows encoded per language on first use.
type fleetSnap struct {
	began time.Time // (monotonic) when it was drawn: it holds every change notified before
	now   time.Time // the clock (Deps.Now) it was drawn at
	wards []api.Ward

	mu    sync.Mutex
	langs map[Lang]map[string]*fleetCell // by language, then ward id
	prev  *fleetSnap                     // until its rows are drawn: bodies to reuse
}

// fleetCell is one ward's row as the feed sends it.
type fleetCell struct {
	row    fleetRow
	body   string // the row's JSON
	sum    uint64 // body's hash: what a viewer keeps of the row it sent
	seenAt int64  // its last heartbeat, Unix ms (0: never)
}

// rowSeed seeds the rows' hashes (one per process: the hashes are only
// compared within it).
var rowSeed = maphash.MakeSeed()

// snapshot is a snapshot begun at or after `after`, drawn now if the
// newest is older.
func (f *fleetFeed) snapshot(ctx context.Context, c *Console, after time.Time) (*fleetSnap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snap != nil && !f.snap.began.Before(after) {
		return f.snap, nil
	}
	began := time.Now()
	wards, err := c.deps.Fleet.Wards(ctx)
	if err != nil {
		return nil, err
	}
	if old := f.snap; old != nil {
		old.mu.Lock()
		old.prev = nil // one snapshot back at most
		old.mu.Unlock()
	}
	f.snap = &fleetSnap{began: began, now: c.deps.Now(), wards: wards, prev: f.snap}
	return f.snap, nil
}

// cells are the snapshot's rows in language l, by ward id.
func (s *fleetSnap) cells(c *Console, l Lang) map[string]*fleetCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.langs[l]; ok {
		return m
	}
	var old map[string]*fleetCell
	if s.prev != nil {
		s.prev.mu.Lock()
		old = s.prev.langs[l]
		s.prev.mu.Unlock()
	}
	rows := c.fleetRows(l, s.wards, "", s.now)
	m := make(map[string]*fleetCell, len(rows))
	for _, row := range rows {
		b, _ := json.Marshal(row)
		cell := &fleetCell{row: row, body: string(b), seenAt: row.SeenAt}
		if o := old[row.ID]; o != nil && o.body == cell.body {
			cell.body, cell.sum = o.body, o.sum // the same row: one copy, hashed once
		} else {
			cell.sum = maphash.String(rowSeed, cell.body)
		}
		m[row.ID] = cell
	}
	if s.langs == nil {
		s.langs = map[Lang]map[string]*fleetCell{}
	}
	s.langs[l] = m
	if len(s.langs) == len(langs) {
		s.prev = nil
	}
	return m
}

// langs are the languages a page may be in.
var langs = []Lang{Vietnamese, English}

// fleetView is what one viewer's stream has sent.
type fleetView struct {
	stream string // the stream's id, new for each connection
	n      int32  // events sent
	rows   map[string]fleetSent
}

// fleetSent is what a viewer keeps of a row it sent: 24 bytes in the map,
// not the row (at 10,000 wards, 20 viewers kept 146 bytes a ward each
// when they held the row's body and a pointer to it).
type fleetSent struct {
	sum    uint64 // the row's hash (fleetCell.sum)
	seenAt int64
	n      int32 // the event it was last in the board of
}

// event is the viewer's next event from snap: the whole board when full,
// else what changed since the last one (changes: how many rows, gone
// rows and heartbeat times it carries). The rows are those of the
// session's scope and of group ("" every group), in the page's order.
func (v *fleetView) event(c *Console, snap *fleetSnap, l Lang, s *Session, group string, full bool) (name string, data []byte, changes int) {
	cells := snap.cells(c, l)
	if full || v.rows == nil {
		v.rows = map[string]fleetSent{}
	}
	v.n++
	var rows []*fleetCell
	seen := map[string]int64{}
	for _, wd := range scopedWards(s, snap.wards) { // a scoped user: her wards only
		if group != "" && !slices.Contains(wd.Groups, group) {
			continue
		}
		cell := cells[wd.ID]
		if cell == nil {
			continue
		}
		sent, ok := v.rows[wd.ID]
		if !ok {
			sent = fleetSent{seenAt: -1}
		}
		sent.n = v.n
		if full || !ok || sent.sum != cell.sum {
			rows = append(rows, cell)
			sent.sum = cell.sum
		}
		if sent.seenAt != cell.seenAt && (cell.seenAt != 0 || !full) {
			seen[wd.ID] = cell.seenAt
		}
		sent.seenAt = cell.seenAt
		v.rows[wd.ID] = sent
	}
	var gone []string
	for id, sent := range v.rows {
		if sent.n != v.n {
			gone = append(gone, id)
			delete(v.rows, id)
		}
	}
	sort.Strings(gone)
	// Problems first, worst first; then by name (as fleetRows).
	sort.Slice(rows, func(i, j int) bool { return rowBefore(&rows[i].row, &rows[j].row) })

	var b bytes.Buffer
	b.WriteString(`{"rows":[`)
	for i, cell := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(cell.body)
	}
	b.WriteString(`]`)
	if len(gone) > 0 {
		g, _ := json.Marshal(gone)
		b.WriteString(`,"gone":`)
		b.Write(g)
	}
	sj, _ := json.Marshal(seen)
	b.WriteString(`,"seen":`)
	b.Write(sj)
	b.WriteString(`,"now":`)
	b.WriteString(strconv.FormatInt(snap.now.UnixMilli(), 10))
	up, _ := json.Marshal(snap.now.In(c.deps.Location).Format("15:04:05"))
	b.WriteString(`,"updated":`)
	b.Write(up)
	b.WriteString(`}`)
	name = "rows"
	if full {
		name = "board"
	}
	return name, b.Bytes(), len(rows) + len(gone) + len(seen)
}

// rowBefore is the fleet page's order: problems first, worst first; then
// by name, then by id.
func rowBefore(a, b *fleetRow) bool {
	if a.Severity != b.Severity {
		return a.Severity > b.Severity
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.ID < b.ID
}
