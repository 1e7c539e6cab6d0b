package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A name changes through the API as on the console's library page: a bad
// name is 400 naming the field, a name program files refer to is 409
// naming the files, a taken name 409, and only what changed is audited.
func TestMediaRename(t *testing.T) {
	d, rec := testDeps(t)
	h := New(d).Handler()
	item := "/api/v1/media/" + strings.Repeat("a", 64) + "/rename"
	if w := do(t, h, "POST", item, "operator", `{"from":"cu.mp3","to":"ban-tin-2025.mp3"}`); w.Code != http.StatusNoContent {
		t.Errorf("rename: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", item, "operator", `{"from":"cu.mp3","to":"a/b.mp3"}`); w.Code != http.StatusBadRequest || !strings.HasPrefix(errorText(t, w), "name: ") {
		t.Errorf("bad name: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", item, "operator", `{"from":"ban-tin.mp3","to":"x.mp3"}`); w.Code != http.StatusConflict ||
		!strings.Contains(errorText(t, w), "đang được tệp chương trình dùng, chưa đổi: p1.yaml (ward:phuong-1)") || !strings.Contains(errorText(t, w), "used by program files") {
		t.Errorf("name in use: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", item, "operator", `{"from":"cu.mp3","to":"nhac.mp3"}`); w.Code != http.StatusConflict {
		t.Errorf("taken name: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", item, "technician", `{"from":"cu.mp3","to":"y.mp3"}`); w.Code != http.StatusForbidden {
		t.Errorf("technician: %d %s", w.Code, w.Body)
	}
	want := []string{"u-operator|POST /api/v1/media/{sha256}/rename|" + strings.TrimSuffix(item, "/rename") + "/rename|"}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}
