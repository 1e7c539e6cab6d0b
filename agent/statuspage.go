package agent

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"

	"loa/schedule"
)

// static is the ward's status page: a technician with a phone on the
// ward's network opens http://WARD:8790/ and sees what plays, today's
// schedule, the last as-run rows and the problems. Plain HTML and a little
// JavaScript, embedded in the binary: no build step, nothing to install.
//
//go:embed static
var static embed.FS

func (d *Daemon) statusPageRoutes(mux *http.ServeMux) {
	sub, _ := fs.Sub(static, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /api/v1/timeline", d.handleTimeline)
}

// Timeline is GET /api/v1/timeline?date=YYYY-MM-DD: the day's schedule as
// `loa-agent program show --json` prints it, media by the names operators
// know.
type Timeline struct {
	Date     string          `json:"date"`
	Timezone string          `json:"timezone"`
	Programs []TimelineEntry `json:"programs"`
}

func (d *Daemon) handleTimeline(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	sched := d.sched
	d.mu.Unlock()
	if sched == nil {
		sched = schedule.New(nil)
	}
	day := schedule.DateOf(d.wall().In(sched.Location()))
	if s := r.URL.Query().Get("date"); s != "" {
		var err error
		if day, err = schedule.ParseDate(s); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("date %q: want YYYY-MM-DD", s)})
			return
		}
	}
	tl := Timeline{Date: day.String(), Timezone: sched.Location().String(), Programs: timelineEntries(sched, day)}
	names := map[string]string{}
	for i := range tl.Programs {
		for j, it := range tl.Programs[i].Items {
			n, ok := names[it]
			if !ok {
				n = d.itemName(it)
				names[it] = n
			}
			tl.Programs[i].Items[j] = n
		}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(tl)
}
