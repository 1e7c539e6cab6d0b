package console

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// The console's static assets are compressed once, when the first console
// starts, and served compressed to browsers that accept it: a phone on 3G
// gets the fleet page's map script in a third of its size (each page must
// stay under 150 KB transferred), and no request pays for compressing.

type gzipAsset struct {
	body []byte
	ct   string
}

type gzipAssets map[string]gzipAsset // by path under static/

// precompress gzips every text asset that gets smaller by it.
func precompress(fsys fs.FS) gzipAssets {
	out := gzipAssets{}
	fs.WalkDir(fsys, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if !strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "javascript") && !strings.Contains(ct, "json") && !strings.Contains(ct, "svg") {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(raw)
		zw.Close()
		if buf.Len() < len(raw) {
			out[strings.TrimPrefix(p, "static/")] = gzipAsset{body: buf.Bytes(), ct: ct}
		}
		return nil
	})
	return out
}

// acceptsGzip reads Accept-Encoding for gzip (not refused with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) != "gzip" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// serve answers a request under /static/: the compressed copy when the
// browser takes gzip, else the file as it is.
func (g gzipAssets) serve(w http.ResponseWriter, r *http.Request, files http.Handler) {
	w.Header().Add("Vary", "Accept-Encoding")
	a, ok := g[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok || !acceptsGzip(r) {
		files.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ct)
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.body)
	}
}
