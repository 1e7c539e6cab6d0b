package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"loa/city/api"
)

// Previewer renders what a ward would play over a window (Nghe thử) with
// the station's own renderer (city/preview).
type Previewer interface {
	// Preview renders ward over date from–to (YYYY-MM-DD, HH:MM, HH:MM);
	// a bad window is an *api.PreviewWindowError.
	Preview(ctx context.Context, ward, date, from, to string) (api.Preview, error)
}

type previewData struct {
	Ward           api.Ward
	Wards          []api.Ward
	Date, From, To string
	Field, Error   string // the bad field and its message
	Rendered       bool
	DateText       string // dd/mm/yyyy
	AudioURL       string
	Items          []previewRow
	Wave           template.HTML // inline SVG
	Silent         bool
}

type previewRow struct {
	Start, Title, Item string
	Left               float64 // % of the window
}

// getPreview shows the preview form and, with a window, the rendered
// window: its timeline above its waveform, and a player.
func (c *Console) getPreview(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.deps.Preview == nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
		return
	}
	ward, ok := c.wardOf(w, r, s)
	if !ok {
		return
	}
	l := langOf(r)
	wards, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "preview", err)
		return
	}
	tomorrow := c.deps.Now().In(c.deps.Location).AddDate(0, 0, 1)
	d := previewData{Ward: ward, Wards: scopedWards(s, wards), Date: tomorrow.Format("2006-01-02"), From: "05:25", To: "06:05"}
	q := r.URL.Query()
	status := http.StatusOK
	if q.Has("from") {
		d.Date, d.From, d.To = q.Get("date"), q.Get("from"), q.Get("to")
		p, err := c.deps.Preview.Preview(r.Context(), ward.ID, d.Date, d.From, d.To)
		var we *api.PreviewWindowError
		switch {
		case errors.As(err, &we):
			d.Field = we.Field
			d.Error = we.Vi + " · " + we.En
			status = http.StatusBadRequest
		case err != nil:
			c.internal(w, r, s, "preview", err)
			return
		default:
			d.Rendered = true
			d.DateText = p.From.In(c.deps.Location).Format("02/01/2006")
			v := url.Values{"date": {d.Date}, "from": {d.From}, "to": {d.To}}
			// The MP3 (a 40-minute window is 14 MB, its WAV 77 MB: too
			// much for a phone over 3G); the WAV when the city has no ffmpeg.
			ext := ".mp3"
			if len(p.MP3) == 0 {
				ext = ".wav"
			}
			d.AudioURL = "/schedule/" + url.PathEscape(ward.ID) + "/preview" + ext + "?" + v.Encode()
			span := p.To.Sub(p.From)
			for _, it := range p.Items {
				d.Items = append(d.Items, previewRow{Start: it.Start.In(c.deps.Location).Format("15:04:05"), Title: it.Title, Item: it.Item,
					Left: 100 * float64(it.Start.Sub(p.From)) / float64(span)})
			}
			var marks []float64
			for _, it := range d.Items {
				marks = append(marks, it.Left)
			}
			d.Wave, d.Silent = waveSVG(p.Peaks, marks, T(l, "preview.wave"))
		}
	}
	pg := c.newPage(r, s, "nav.programs")
	pg.Data = d
	c.render(w, r, status, "preview", pg)
}

// getPreviewAudio serves the rendered window as MP3 (preview.mp3, what the
// page's player plays) or WAV (preview.wav). The renderer is
// deterministic and the MP3 is encoded once per render and kept with it:
// the same window gives the same bytes as the page's and the API's.
func (c *Console) getPreviewAudio(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.deps.Preview == nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
		return
	}
	ward, ok := c.wardOf(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	p, err := c.deps.Preview.Preview(r.Context(), ward.ID, q.Get("date"), q.Get("from"), q.Get("to"))
	var we *api.PreviewWindowError
	if errors.As(err, &we) {
		http.Error(w, we.Error(), http.StatusBadRequest)
		return
	}
	if err != nil {
		c.internal(w, r, s, "preview", err)
		return
	}
	name, typ, body := "preview.wav", "audio/wav", p.WAV
	if strings.HasSuffix(r.URL.Path, ".mp3") {
		if len(p.MP3) == 0 {
			c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
			return
		}
		name, typ, body = "preview.mp3", "audio/mpeg", p.MP3
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=300")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// waveSVG draws peaks as an inline SVG, one bar per peak, mirrored about
// the middle, with a mark where each item starts (marks in % of the
// window); silent reports that every peak is silence.
func waveSVG(peaks, marks []float64, label string) (template.HTML, bool) {
	var b strings.Builder
	n := len(peaks)
	fmt.Fprintf(&b, `<svg class="wave" viewBox="0 0 %d 100" preserveAspectRatio="none" role="img" aria-label="%s"><path d="`, max(n, 1), template.HTMLEscapeString(label))
	silent := true
	for i, p := range peaks {
		h := p * 48
		if p > 0.001 {
			silent = false
		}
		if h < 0.5 {
			h = 0.5
		}
		fmt.Fprintf(&b, "M%d %.1fV%.1f", i, 50-h, 50+h)
	}
	b.WriteString(`"/>`)
	for _, m := range marks {
		x := m * float64(max(n, 1)) / 100
		fmt.Fprintf(&b, `<path class="mark" d="M%.1f 0V100"/>`, x)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), silent
}
