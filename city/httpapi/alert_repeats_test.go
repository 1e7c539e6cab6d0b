package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"loa/city/api"
)

type fakeRepeats []api.AlertRepeat

func (f fakeRepeats) Repeats(ctx context.Context, limit int) ([]api.AlertRepeat, error) {
	return f, nil
}

// The repeated alerts are listed to those who read alerts; a ward's
// token is refused.
func TestListAlertRepeats(t *testing.T) {
	d, _ := testDeps(t)
	d.Repeats = fakeRepeats{{ID: "cb-1", Targets: "all", EveryH: 2, State: "active", Last: "cb-2", Sent: 2}}
	w := do(t, New(d).Handler(), "GET", "/api/v1/alerts/repeats", "operator", "")
	var got []api.AlertRepeat
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || len(got) != 1 || got[0].Last != "cb-2" || got[0].EveryH != 2 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	if w := do(t, New(d).Handler(), "GET", "/api/v1/alerts/repeats", "ward", ""); w.Code != http.StatusForbidden {
		t.Fatalf("ward: %d", w.Code)
	}
}
