package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"loa/city/api"
)

// fakePreview renders 05:29–05:32 and refuses a longer window.
type fakePreview struct{}

func (fakePreview) Preview(_ context.Context, ward, date, from, to string) (api.Preview, error) {
	if to != "05:32" {
		return api.Preview{}, &api.PreviewWindowError{Field: "to", Vi: "Khoảng nghe thử dài nhất 2 giờ", En: "a preview is at most 2 hours long"}
	}
	start := time.Date(2026, 5, 2, 5, 29, 0, 0, time.UTC)
	return api.Preview{Ward: ward, From: start, To: start.Add(3 * time.Minute), Rate: 16000, WAV: []byte("RIFFfake"), MP3: []byte("ID3fake"), Peaks: []float64{0, 1},
		Items: []api.PreviewItem{{Program: "sang", Title: "Bản tin sáng", Start: start.Add(time.Minute)}}}, nil
}

func TestPreview(t *testing.T) {
	d, _ := testDeps(t)
	h := New(d).Handler()
	w := do(t, h, "GET", "/api/v1/wards/phuong-1/preview?date=2026-05-02&from=05:29&to=05:32", "operator", "")
	var p api.Preview
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &p) != nil || len(p.Items) != 1 || p.Items[0].Title != "Bản tin sáng" || len(p.Peaks) != 2 {
		t.Fatalf("json: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "RIFF") {
		t.Fatal("the audio is in the JSON")
	}
	w = do(t, h, "GET", "/api/v1/wards/phuong-1/preview?date=2026-05-02&from=05:29&to=05:32&format=wav", "operator", "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "audio/wav" || w.Body.String() != "RIFFfake" {
		t.Fatalf("wav: %d %v %q", w.Code, w.Header(), w.Body)
	}
	w = do(t, h, "GET", "/api/v1/wards/phuong-1/preview?date=2026-05-02&from=05:29&to=05:32&format=mp3", "operator", "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "audio/mpeg" || w.Body.String() != "ID3fake" {
		t.Fatalf("mp3: %d %v %q", w.Code, w.Header(), w.Body)
	}
	w = do(t, h, "GET", "/api/v1/wards/phuong-1/preview?date=2026-05-02&from=05:29&to=05:32&format=ogg", "operator", "")
	if got := errorText(t, w); w.Code != http.StatusBadRequest || !strings.HasPrefix(got, "format: ") {
		t.Fatalf("ogg: %d %q", w.Code, got)
	}
	w = do(t, h, "GET", "/api/v1/wards/phuong-1/preview?date=2026-05-02&from=05:00&to=07:30", "operator", "")
	if got := errorText(t, w); w.Code != http.StatusBadRequest || got != "to: Khoảng nghe thử dài nhất 2 giờ (a preview is at most 2 hours long)" {
		t.Fatalf("too long: %d %q", w.Code, got)
	}
}
