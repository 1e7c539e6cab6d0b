package console

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"

	"loa/city/api"
)

// The compose page's "Ghi âm" block (static/record.js) records the
// microphone with MediaRecorder and puts the recording into the form's
// "recording" file field. It becomes the alert's content exactly like an
// upload: the library converts and ingests it (city/library/convert.go:
// a browser's WebM/Opus, Ogg/Opus or MP4/AAC is converted to WAV by
// ffmpeg first), and the confirmation step plays the library item.

// recordingExts are the extensions a recording is named with, by the
// type the browser recorded in; the library reads the content, not the
// name.
var recordingExts = map[string]string{"audio/webm": ".webm", "video/webm": ".webm", "audio/ogg": ".ogg", "audio/mp4": ".m4a", "video/mp4": ".m4a"}

var notNameChars = regexp.MustCompile(`[^a-z0-9._-]+`)

// recordingName is the library name of a recording made by user now:
// ghi-am-20261206-094512-an.webm.
func (c *Console) recordingName(user, contentType string) string {
	ext := ".webm"
	if mt, _, _ := strings.Cut(contentType, ";"); recordingExts[strings.TrimSpace(strings.ToLower(mt))] != "" {
		ext = recordingExts[strings.TrimSpace(strings.ToLower(mt))]
	}
	u := notNameChars.ReplaceAllString(strings.ToLower(user), "-")
	return "ghi-am-" + c.deps.Now().In(c.deps.Location).Format("20060102-150405") + "-" + u + ext
}

// alertAudio adds the form's file field to the library as the alert's
// content: "file" (an upload, named by its file name) or "recording" (a
// recording made on the page, named by recordingName). On failure it
// returns the message to show, naming the file.
func (c *Console) alertAudio(r *http.Request, s *Session, field, headline string) (api.Media, string) {
	l := langOf(r)
	f, hdr, err := r.FormFile(field)
	if err != nil {
		if field == "recording" {
			return api.Media{}, T(l, "record.err.none")
		}
		return api.Media{}, T(l, "alert.err.file")
	}
	defer f.Close()
	name := hdr.Filename
	title := headline
	if field == "recording" {
		name = c.recordingName(s.User, hdr.Header.Get("Content-Type"))
		if title == "" {
			title = T(l, "record.title") + " " + c.deps.Now().In(c.deps.Location).Format("15:04 02/01/2006")
		}
	} else if title == "" {
		title = name
	}
	m, _, err := c.deps.Library.Add(r.Context(), f, name, title, s.User)
	if err != nil {
		// The library's refusals name the file already.
		msg := strings.TrimPrefix(err.Error(), "not usable audio: ")
		if !strings.Contains(msg, name) && !strings.Contains(msg, filepath.Base(name)) {
			msg = name + ": " + msg
		}
		return api.Media{}, msg
	}
	return m, ""
}
