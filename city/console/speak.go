package console

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"loa/vitext"
)

// Speaker renders text to speech (the city's library and espeak-ng).
type Speaker interface {
	// Normalize is text as it will be spoken in voice, with each word
	// that was expanded (loa/vitext, with the city's abbreviations).
	Normalize(text, voice string) (string, []vitext.Expansion)
	// Speak returns a WAV of text, as given, read in voice
	// (alert.Voices) at speed words a minute.
	Speak(ctx context.Context, text, voice string, speed int) ([]byte, error)
}

// voices offered on the page, in the order of the GLOSSARY.
var voices = []struct{ ID, Key string }{
	{"vi", "speak.voice.north"}, {"vi-vn-x-central", "speak.voice.central"}, {"vi-vn-x-south", "speak.voice.south"},
}

// speeds offered, in words a minute; 150 is the alerts' default, slower
// than espeak-ng's 175 because horns echo between houses.
var speeds = []struct {
	WPM int
	Key string
}{{130, "speak.speed.slow"}, {150, "speak.speed.normal"}, {170, "speak.speed.fast"}}

// maxSpeakText bounds a bulletin typed into the page (about 20 minutes of
// speech).
const maxSpeakText = 20000

type speakData struct {
	Text, Voice, Name, Title string
	Speed                    int
	Voices                   []option
	Speeds                   []option
	Spoken                   string
	Expansions               []vitext.Expansion
	PreviewID                string
	Error                    string
	Saved                    *uploadResult
	CanEdit                  bool
}

type option struct {
	Value    string
	Label    string
	Selected bool
}

func (c *Console) speakForm(r *http.Request, s *Session) speakData {
	l := langOf(r)
	d := speakData{Text: r.PostFormValue("text"), Voice: r.PostFormValue("voice"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Title: strings.TrimSpace(r.PostFormValue("title")), CanEdit: canEditLibrary(s.Role)}
	d.Speed, _ = strconv.Atoi(r.PostFormValue("speed"))
	if d.Voice == "" {
		d.Voice = "vi"
	}
	if d.Speed == 0 {
		d.Speed = 150
	}
	for _, v := range voices {
		d.Voices = append(d.Voices, option{v.ID, T(l, v.Key), v.ID == d.Voice})
	}
	for _, sp := range speeds {
		d.Speeds = append(d.Speeds, option{strconv.Itoa(sp.WPM), T(l, sp.Key), sp.WPM == d.Speed})
	}
	return d
}

func (c *Console) getSpeak(w http.ResponseWriter, r *http.Request, s *Session) {
	p := c.newPage(r, s, "speak")
	p.Data = c.speakForm(r, s)
	c.render(w, r, http.StatusOK, "speak", p)
}

// postSpeak previews (renders and keeps the sound for a while) or saves
// the text to the library. The page shows the text as it will be spoken
// and every word that was expanded.
func (c *Console) postSpeak(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	d := c.speakForm(r, s)
	p := c.newPage(r, s, "speak")
	status := http.StatusOK
	show := func() {
		p.Data = d
		c.render(w, r, status, "speak", p)
	}
	bad := func(key string) {
		d.Error = T(l, key)
		status = http.StatusBadRequest
		show()
	}
	switch {
	case strings.TrimSpace(d.Text) == "":
		bad("speak.err.empty")
		return
	case utf8.RuneCountInString(d.Text) > maxSpeakText:
		bad("speak.err.long")
		return
	case !validVoice(d.Voice):
		bad("speak.err.voice")
		return
	case !validSpeed(d.Speed):
		bad("speak.err.speed")
		return
	}
	d.Spoken, d.Expansions = c.deps.Speaker.Normalize(d.Text, d.Voice)
	save := r.PostFormValue("action") == "save"
	if save {
		if !d.CanEdit {
			c.errorPage(w, r, s, http.StatusForbidden, T(l, "forbidden"))
			return
		}
		if d.Title == "" {
			bad("speak.err.title")
			return
		}
		if d.Name == "" {
			d.Name = slug(d.Title) + ".wav"
		}
	}
	wav, err := c.deps.Speaker.Speak(r.Context(), d.Spoken, d.Voice, d.Speed)
	if err != nil {
		c.internal(w, r, s, "speak", err)
		return
	}
	if !save {
		d.PreviewID = c.previews.put(wav, c.deps.Now())
		show()
		return
	}
	m, created, err := c.deps.Library.Add(r.Context(), bytes.NewReader(wav), d.Name, d.Title, s.User)
	d.Saved = &uploadResult{File: d.Name, Title: m.Title, Created: created}
	if err != nil {
		d.Saved.Error = err.Error()
		status = http.StatusBadRequest
	}
	show()
}

func (c *Console) getSpeakPreview(w http.ResponseWriter, r *http.Request, s *Session) {
	wav, ok := c.previews.get(strings.TrimSuffix(r.PathValue("id"), ".wav"), c.deps.Now())
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "speak.err.gone"))
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(wav))
}

func validVoice(v string) bool {
	for _, x := range voices {
		if x.ID == v {
			return true
		}
	}
	return false
}

func validSpeed(n int) bool {
	for _, x := range speeds {
		if x.WPM == n {
			return true
		}
	}
	return false
}

// slug makes a library name from a title: "Bản tin sáng 14/9" ->
// "ban-tin-sang-14-9".
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range fold(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 60 {
		s = strings.TrimSuffix(s[:60], "-")
	}
	if s == "" {
		s = "doc-van-ban"
	}
	return s
}

// previewCache keeps rendered previews for a quarter of an hour, at most
// previewMax of them (about 1 MB a minute of speech each).
type previewCache struct {
	mu sync.Mutex
	m  map[string]preview
}

type preview struct {
	wav []byte
	at  time.Time
}

const (
	previewMax = 16
	previewTTL = 15 * time.Minute
)

func (p *previewCache) put(wav []byte, now time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]preview{}
	}
	oldest := ""
	for id, v := range p.m {
		if now.Sub(v.at) > previewTTL {
			delete(p.m, id)
		} else if oldest == "" || v.at.Before(p.m[oldest].at) {
			oldest = id
		}
	}
	if len(p.m) >= previewMax {
		delete(p.m, oldest)
	}
	id := randomToken()
	p.m[id] = preview{wav, now}
	return id
}

func (p *previewCache) get(id string, now time.Time) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[id]
	if !ok || now.Sub(v.at) > previewTTL {
		return nil, false
	}
	return v.wav, true
}
