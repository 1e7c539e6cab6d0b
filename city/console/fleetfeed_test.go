package console

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"loa/city/api"
	"loa/internal/testwait"
)

// fleetEvent is one server-sent event of /fleet/events, decoded.
type fleetEvent struct {
	ID, Name string
	Data     struct {
		Rows []struct {
			ID   string `json:"id"`
			Slug string `json:"slug"`
			Sev  int    `json:"sev"`
		} `json:"rows"`
		Gone    []string         `json:"gone"`
		Seen    map[string]int64 `json:"seen"`
		Now     int64            `json:"now"`
		Updated string           `json:"updated"`
	}
	Raw string
}

func (e fleetEvent) rowIDs() []string {
	var ids []string
	for _, r := range e.Data.Rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// fleetStream opens /fleet/events (hdr: request headers) and returns the
// function that waits for its next event, and the one that closes it.
func fleetStream(t *testing.T, c *http.Client, url string, hdr map[string]string) (next func() fleetEvent, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	events := make(chan fleetEvent, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var e fleetEvent
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "id: "):
				e.ID = l[4:]
			case strings.HasPrefix(l, "event: "):
				e.Name = l[7:]
			case strings.HasPrefix(l, "data: "):
				e.Raw = l[6:]
				if err := json.Unmarshal([]byte(e.Raw), &e.Data); err != nil {
					t.Errorf("event %s: %v\n%s", e.Name, err, e.Raw)
				}
			case l == "" && e.Name != "":
				events <- e
				e = fleetEvent{}
			}
		}
	}()
	next = func() fleetEvent {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event in 10 s")
		}
		return fleetEvent{}
	}
	return next, func() { cancel(); resp.Body.Close() }
}

// A viewer gets the whole board first, then only what changed: a
// heartbeat that changes nothing else is its time alone, a state change
// the one row, a ward unregistered its id among the gone; every event's
// id follows the one before on the same stream.
func TestFleetEventsSendOnlyChangedRows(t *testing.T) {
	tc, f := startFleetConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	next, stop := fleetStream(t, b, tc.srv.URL+"/fleet/events", nil)
	defer stop()

	e := next()
	stream, _, _ := strings.Cut(e.ID, ".")
	if e.Name != "board" || e.ID != stream+".1" || strings.Join(e.rowIDs(), " ") != "phuong-moi phuong-im phuong-tot" {
		t.Fatalf("first event %s %s: rows %v, want the whole board, problems first", e.ID, e.Name, e.rowIDs())
	}
	seen := tc.now.Add(-12 * time.Second).UnixMilli()
	if len(e.Data.Seen) != 2 || e.Data.Seen["phuong-tot"] != seen || e.Data.Seen["phuong-im"] != seen || e.Data.Now != tc.now.UnixMilli() {
		t.Errorf("first event's heartbeat times %v (now %d)", e.Data.Seen, e.Data.Now)
	}
	if strings.Contains(e.Raw, "giây trước") {
		t.Errorf("a row carries its relative time (it would change every second): %s", e.Raw)
	}

	// A heartbeat that changes nothing but its time.
	f.mu.Lock()
	later := tc.now.Add(3 * time.Second)
	h := *f.wards[0].Health
	h.LastHeartbeat = &later
	f.wards[0].Health = &h
	f.mu.Unlock()
	f.changed <- struct{}{}
	e = next()
	if e.Name != "rows" || e.ID != stream+".2" || len(e.Data.Rows) != 0 || len(e.Data.Gone) != 0 ||
		len(e.Data.Seen) != 1 || e.Data.Seen["phuong-tot"] != later.UnixMilli() {
		t.Errorf("after a heartbeat: %s %s %s", e.ID, e.Name, e.Raw)
	}

	// A state change: that row only.
	f.set("phuong-im", &api.WardHealth{State: "offline", Problems: []api.WardProblem{{State: "offline", Detail: "no heartbeat for 53s"}}, LastHeartbeat: &later})
	f.changed <- struct{}{}
	e = next()
	if e.Name != "rows" || e.ID != stream+".3" || strings.Join(e.rowIDs(), " ") != "phuong-im" || e.Data.Rows[0].Slug != "offline" ||
		len(e.Data.Seen) != 1 || e.Data.Seen["phuong-im"] != later.UnixMilli() {
		t.Errorf("after a state change: %s %s %s", e.ID, e.Name, e.Raw)
	}

	// A ward gone from the registry.
	f.mu.Lock()
	f.wards = slices.DeleteFunc(f.wards, func(w api.Ward) bool { return w.ID == "phuong-moi" })
	f.mu.Unlock()
	f.changed <- struct{}{}
	e = next()
	if e.Name != "rows" || e.ID != stream+".4" || len(e.Data.Rows) != 0 || strings.Join(e.Data.Gone, " ") != "phuong-moi" {
		t.Errorf("after a ward removed: %s %s %s", e.ID, e.Name, e.Raw)
	}
}

// A reconnection (the browser's EventSource sends the last id it got) is
// a new stream: the whole board first, under a new stream id.
func TestFleetEventsReconnectGetsTheWholeBoard(t *testing.T) {
	tc, f := startFleetConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	next, stop := fleetStream(t, b, tc.srv.URL+"/fleet/events", nil)
	first := next()
	f.set("phuong-im", &api.WardHealth{State: "offline"})
	f.changed <- struct{}{}
	delta := next()
	if delta.Name != "rows" || len(delta.Data.Rows) != 1 {
		t.Fatalf("the update %s %s", delta.Name, delta.Raw)
	}
	stop()
	testwait.For(t, "the first stream's watch to end", 10*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.watchers == 0 })

	next, stop = fleetStream(t, b, tc.srv.URL+"/fleet/events", map[string]string{"Last-Event-ID": delta.ID})
	defer stop()
	e := next()
	old, _, _ := strings.Cut(first.ID, ".")
	stream, n, _ := strings.Cut(e.ID, ".")
	if e.Name != "board" || stream == old || n != "1" || strings.Join(e.rowIDs(), " ") != "phuong-im phuong-moi phuong-tot" {
		t.Errorf("after reconnecting: %s %s rows %v; want the whole board on a new stream", e.ID, e.Name, e.rowIDs())
	}
}

// A technician scoped to one ward never gets another ward in an update:
// not its row, not its heartbeat time, not its leaving.
func TestFleetEventsKeepToTheScope(t *testing.T) {
	tc, f := startFleetConsole(t)
	tc.accounts.SetScope(context.Background(), "ky-thuat", []string{"phuong-tot"}, nil, "admin")
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	next, stop := fleetStream(t, b, tc.srv.URL+"/fleet/events", nil)
	defer stop()
	outside := func(e fleetEvent) bool {
		return strings.Contains(e.Raw, "phuong-im") || strings.Contains(e.Raw, "phuong-moi")
	}
	if e := next(); e.Name != "board" || strings.Join(e.rowIDs(), " ") != "phuong-tot" || outside(e) {
		t.Fatalf("first event %s: %s", e.Name, e.Raw)
	}
	later := tc.now.Add(5 * time.Second)
	// The other wards change, heartbeat, and one leaves the registry ...
	f.set("phuong-im", &api.WardHealth{State: "offline", LastHeartbeat: &later})
	f.set("phuong-moi", &api.WardHealth{State: "on air", LastHeartbeat: &later})
	f.changed <- struct{}{}
	f.mu.Lock()
	f.wards = slices.DeleteFunc(f.wards, func(w api.Ward) bool { return w.ID == "phuong-moi" })
	f.mu.Unlock()
	f.changed <- struct{}{}
	// ... then hers.
	f.set("phuong-tot", &api.WardHealth{State: "silent!", Problems: []api.WardProblem{{State: "silent!", Detail: "silent on air for 12s"}}, LastHeartbeat: &later})
	f.changed <- struct{}{}
	for {
		e := next()
		if outside(e) {
			t.Fatalf("an update names a ward outside the scope: %s", e.Raw)
		}
		if slices.Contains(e.rowIDs(), "phuong-tot") {
			if e.Data.Rows[0].Slug != "silent" {
				t.Errorf("her ward's update %s", e.Raw)
			}
			break
		}
	}
}

// A viewer of one group: a ward moved out of it leaves her page (gone),
// a ward moved in comes whole.
func TestFleetEventsFollowTheGroup(t *testing.T) {
	tc, f := startFleetConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	next, stop := fleetStream(t, b, tc.srv.URL+"/fleet/events?group=xa-b", nil)
	defer stop()
	if e := next(); strings.Join(e.rowIDs(), " ") != "phuong-moi phuong-im" {
		t.Fatalf("first event %s", e.Raw)
	}
	f.mu.Lock()
	f.wards[1].Groups = []string{"xa-a"} // phuong-im
	f.wards[0].Groups = []string{"xa-a", "xa-b"}
	f.mu.Unlock()
	f.changed <- struct{}{}
	e := next()
	if strings.Join(e.Data.Gone, " ") != "phuong-im" || strings.Join(e.rowIDs(), " ") != "phuong-tot" || e.Data.Seen["phuong-tot"] == 0 {
		t.Errorf("after the groups changed: %s", e.Raw)
	}
}

// Viewers woken by the same change share one reading of the wards.
func TestFleetEventsShareTheWards(t *testing.T) {
	tc, f := startFleetConsole(t)
	var nexts []func() fleetEvent
	for range 3 {
		b := browser(t)
		login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
		next, stop := fleetStream(t, b, tc.srv.URL+"/fleet/events", nil)
		defer stop()
		next()
		nexts = append(nexts, next)
	}
	f.mu.Lock()
	f.calls = 0
	f.mu.Unlock()
	later := tc.now.Add(5 * time.Second)
	f.set("phuong-im", &api.WardHealth{State: "offline", LastHeartbeat: &later})
	// The fake's one channel: one signal for each viewer.
	for range 3 {
		f.changed <- struct{}{}
	}
	for _, next := range nexts {
		if e := next(); strings.Join(e.rowIDs(), " ") != "phuong-im" {
			t.Errorf("update %s", e.Raw)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls > 2 {
		t.Errorf("3 viewers read the wards %d times for one change", f.calls)
	}
}
