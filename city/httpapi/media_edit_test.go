package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// An item's title changes, and an item is deleted, through the API as on
// the console's library page: a bad title is 400 naming the field, an item
// in use is 409 naming its uses, and only what changed is in the audit log.
func TestMediaRetitleAndDelete(t *testing.T) {
	d, rec := testDeps(t)
	h := New(d).Handler()
	free, used := "/api/v1/media/"+strings.Repeat("a", 64), "/api/v1/media/"+strings.Repeat("c", 64)
	if w := do(t, h, "PATCH", free, "operator", `{"title":"Bản tin sáng"}`); w.Code != http.StatusNoContent {
		t.Errorf("retitle: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "PATCH", free, "operator", `{"title":""}`); w.Code != http.StatusBadRequest || !strings.Contains(errorText(t, w), "tiêu đề") || !strings.Contains(errorText(t, w), "title") {
		t.Errorf("empty title: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "DELETE", used, "operator", ""); w.Code != http.StatusConflict || !strings.Contains(errorText(t, w), "ward:phuong-1 tin-sang") || !strings.Contains(errorText(t, w), "in use") {
		t.Errorf("delete in use: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "DELETE", free, "operator", ""); w.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", w.Code, w.Body)
	}
	want := []string{"u-operator|PATCH /api/v1/media/{sha256}|" + free + "|", "u-operator|DELETE /api/v1/media/{sha256}|" + free + "|"}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}
