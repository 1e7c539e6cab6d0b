package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"loa/city/api"
)

// Library is what the console needs of the city's media library.
type Library interface {
	// Media lists the library, newest first.
	Media(ctx context.Context) ([]api.Media, error)
	// MediaFile opens an item's canonical MP3.
	MediaFile(ctx context.Context, sha256 string) (*os.File, error)
	// Add ingests one uploaded file under name (transcoded, checked,
	// measured); created is false when the same content was there.
	Add(ctx context.Context, body io.Reader, name, title, by string) (m api.Media, created bool, err error)
	// Retitle changes an item's title; its names stay.
	Retitle(ctx context.Context, sha256, title string) error
	// Delete removes an item, or says what still uses it.
	Delete(ctx context.Context, sha256 string) error
	// Rename gives one of an item's names another, or says which program
	// files still refer to it.
	Rename(ctx context.Context, sha256, from, to string) error
}

// mediaRow is one item as the library page shows it.
type mediaRow struct {
	api.Media
	Duration string
	Loudness string
	Added    string // dd/mm/yyyy HH:MM in the city's zone
}

type libraryData struct {
	Query   string
	Items   []mediaRow
	Total   int
	Results []uploadResult
	CanEdit bool
}

type uploadResult struct {
	File    string
	Title   string
	Error   string
	Created bool
}

// roles that may change the library (as in the API).
func canEditLibrary(role string) bool { return role == "admin" || role == "operator" }

func (c *Console) getLibrary(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showLibrary(w, r, s, http.StatusOK, nil)
}

func (c *Console) showLibrary(w http.ResponseWriter, r *http.Request, s *Session, status int, results []uploadResult) {
	all, err := c.deps.Library.Media(r.Context())
	if err != nil {
		c.internal(w, r, s, "library", err)
		return
	}
	l := langOf(r)
	q := strings.TrimSpace(r.FormValue("q"))
	d := libraryData{Query: q, Total: len(all), Results: results, CanEdit: canEditLibrary(s.Role)}
	needle := fold(q)
	for _, m := range all {
		if needle != "" && !strings.Contains(fold(m.Title+" "+strings.Join(m.Names, " ")+" "+m.OriginalName), needle) {
			continue
		}
		d.Items = append(d.Items, mediaRow{Media: m, Duration: clock(m.DurationSeconds), Loudness: loudness(l, m.LoudnessLUFS),
			Added: m.AddedAt.In(c.deps.Location).Format("02/01/2006 15:04")})
	}
	p := c.newPage(r, s, "nav.library")
	p.Data = d
	c.render(w, r, status, "library", p)
}

// clock formats seconds as m:ss or h:mm:ss.
func clock(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// loudness formats LUFS with the language's decimal mark.
func loudness(l Lang, lufs *float64) string {
	if lufs == nil {
		return T(l, "library.silent")
	}
	s := fmt.Sprintf("%.1f LUFS", *lufs)
	if l == Vietnamese {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// getMediaAudio plays an item in the browser (Range requests for seeking).
func (c *Console) getMediaAudio(w http.ResponseWriter, r *http.Request, s *Session) {
	sha := r.PathValue("sha256")
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
		return
	}
	f, err := c.deps.Library.MediaFile(r.Context(), sha)
	if err != nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// postLibraryUpload takes the upload form without JavaScript: one
// multipart request, each file ingested in turn. (With JavaScript the page
// uses the resumable upload API instead, with a progress bar.)
func (c *Console) postLibraryUpload(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	if !canEditLibrary(s.Role) {
		c.errorPage(w, r, s, http.StatusForbidden, T(l, "forbidden"))
		return
	}
	// authed has checked the CSRF token from the query string or header:
	// a multipart body is read only here, once.
	mr, err := r.MultipartReader()
	if err != nil {
		c.showLibrary(w, r, s, http.StatusBadRequest, []uploadResult{{Error: T(l, "library.nofile")}})
		return
	}
	var results []uploadResult
	title := ""
	failed := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			results = append(results, uploadResult{Error: err.Error()})
			failed = true
			break
		}
		switch {
		case part.FormName() == "title" && part.FileName() == "":
			b, _ := io.ReadAll(io.LimitReader(part, 500))
			title = strings.TrimSpace(string(b))
		case part.FormName() == "file" && part.FileName() != "":
			name := path.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
			m, created, err := c.deps.Library.Add(r.Context(), part, name, title, s.User)
			res := uploadResult{File: name, Title: m.Title, Created: created}
			if err != nil {
				res.Error = err.Error()
				failed = true
			}
			results = append(results, res)
		}
		part.Close()
	}
	if len(results) == 0 {
		results = append(results, uploadResult{Error: T(l, "library.nofile")})
		failed = true
	}
	status := http.StatusOK
	if failed {
		status = http.StatusBadRequest
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].Error != "" && results[j].Error == "" })
	c.showLibrary(w, r, s, status, results)
}

// postMediaEdit changes an item's title or one of its names, or deletes
// it; a refusal (in use, bad title or name) is shown on the library page
// and changes nothing.
func (c *Console) postMediaEdit(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	if !canEditLibrary(s.Role) {
		c.errorPage(w, r, s, http.StatusForbidden, T(l, "forbidden"))
		return
	}
	sha := r.PathValue("sha256")
	var err error
	var done string
	switch r.PostFormValue("action") {
	case "title":
		err, done = c.deps.Library.Retitle(r.Context(), sha, r.PostFormValue("title")), T(l, "library.retitled")
	case "rename":
		err, done = c.deps.Library.Rename(r.Context(), sha, r.PostFormValue("from"), r.PostFormValue("name")), T(l, "library.renamed")
	case "delete":
		err, done = c.deps.Library.Delete(r.Context(), sha), T(l, "library.deleted")
	default:
		err = errors.New("?")
	}
	if err != nil {
		c.showLibrary(w, r, s, http.StatusBadRequest, []uploadResult{{Error: err.Error()}})
		return
	}
	c.showLibrary(w, r, s, http.StatusOK, []uploadResult{{Title: done, Created: true}})
}
