package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"loa/city/api"
)

// calls counts the changes that reached the services.
type calls struct {
	mu sync.Mutex
	n  []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = append(c.n, s)
}

func (c *calls) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.n...)
}

type countingPrograms struct {
	fakePrograms
	c *calls
}

func (p countingPrograms) Load(ctx context.Context, target, file string, body []byte, by string, check bool) (api.ProgramLoad, error) {
	p.c.add("load " + target)
	return p.fakePrograms.Load(ctx, target, file, body, by, check)
}

func (p countingPrograms) Delete(ctx context.Context, target, by string) (api.ProgramLoad, error) {
	p.c.add("delete " + target)
	return p.fakePrograms.Delete(ctx, target, by)
}

func (p countingPrograms) List(ctx context.Context) ([]api.ProgramSet, error) {
	return []api.ProgramSet{{Target: "all"}, {Target: "group:quan-1"}, {Target: "group:quan-3"}, {Target: "ward:da-kao"}, {Target: "ward:vo-thi-sau"}}, nil
}

type countingAlerting struct {
	fakeAlerting
	c *calls
}

func (a countingAlerting) Send(ctx context.Context, req api.NewAlert, by string) (api.Alert, bool, error) {
	a.c.add("send " + req.To)
	return a.fakeAlerting.Send(ctx, req, by)
}

func (a countingAlerting) Cancel(ctx context.Context, id, by string) (api.Alert, bool, error) {
	a.c.add("cancel " + id)
	return a.fakeAlerting.Cancel(ctx, id, by)
}

func (a countingAlerting) StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error) {
	a.c.add("live " + req.To)
	return a.fakeAlerting.StartLive(ctx, req, by)
}

func (a countingAlerting) StopLive(ctx context.Context, id, by string) error {
	a.c.add("stop " + id)
	return a.fakeAlerting.StopLive(ctx, id, by)
}

// TestScopedPrincipal: a token (or console session) of a user scoped to
// group quan-1 reads and changes quan-1's wards, and for every route that
// addresses another ward, group or the whole city gets 403 with a
// message in both languages, and nothing reaches the services; lists are
// filtered. A city-wide user is not limited.
func TestScopedPrincipal(t *testing.T) {
	d, rec := testDeps(t)
	changes := &calls{}
	d.Programs = countingPrograms{c: changes}
	d.Wards = fakeWards{list: []api.Ward{{ID: "ben-nghe", Groups: []string{"quan-1"}}, {ID: "da-kao", Groups: []string{"quan-1"}},
		{ID: "vo-thi-sau", Groups: []string{"quan-3"}}}}
	alerting := countingAlerting{c: changes, fakeAlerting: fakeAlerting{targets: "vo-thi-sau",
		list: []api.AlertListEntry{{ID: "a-all", Targets: "all"}, {ID: "a-q1", Targets: "group:quan-1"}, {ID: "a-q3", Targets: "group:quan-3"}},
		live: []api.Live{{ID: "l-q3", To: "vo-thi-sau"}, {ID: "l-q1", To: "da-kao"}}}}
	d.Alerting = alerting
	h := New(d).Handler()

	refused := []struct{ method, path, body string }{
		{"PUT", "/api/v1/programs/group:quan-3", "programs: []\n"},
		{"PUT", "/api/v1/programs/ward:vo-thi-sau", "programs: []\n"},
		{"PUT", "/api/v1/programs/all", "programs: []\n"},
		{"DELETE", "/api/v1/programs/ward:vo-thi-sau", ""},
		{"GET", "/api/v1/programs/group:quan-3", ""},
		{"GET", "/api/v1/wards/vo-thi-sau", ""},
		{"GET", "/api/v1/wards/vo-thi-sau/timeline", ""},
		{"GET", "/api/v1/wards/vo-thi-sau/asrun", ""},
		{"GET", "/api/v1/wards/nowhere", ""},
		{"POST", "/api/v1/live", `{"to":"da-kao,vo-thi-sau","stream":"http://x/y"}`},
		{"POST", "/api/v1/live", `{"to":"all","stream":"http://x/y"}`},
		{"DELETE", "/api/v1/live/l-q3", ""},
		{"GET", "/api/v1/alerts/a-q3", ""},
	}
	for _, c := range refused {
		w := do(t, h, c.method, c.path, "operator-q1", c.body)
		msg := errorText(t, w)
		if w.Code != http.StatusForbidden || !strings.Contains(msg, "ngoài phạm vi") || !strings.Contains(msg, "outside the scope of u-operator-q1") {
			t.Errorf("%s %s: %d %q; want 403 outside the scope, in both languages", c.method, c.path, w.Code, msg)
		}
	}
	for _, c := range []struct{ path, body string }{
		{"/api/v1/alerts", `{"to":"group:quan-3","text":"Bão"}`},
		{"/api/v1/alerts", `{"to":"all","text":"Bão"}`},
		{"/api/v1/alerts/a-q3/cancel", ""},
	} {
		if w := do(t, h, "POST", c.path, "alerter-q1", c.body); w.Code != http.StatusForbidden || !strings.Contains(errorText(t, w), " / ") {
			t.Errorf("alerter-q1 POST %s %s: %d %s", c.path, c.body, w.Code, w.Body)
		}
	}
	if got := changes.all(); len(got) > 0 {
		t.Fatalf("refused requests reached the services: %q", got)
	}
	if got := rec.all(); len(got) > 0 {
		t.Errorf("refused requests audited as changes: %q", got)
	}

	for _, c := range []struct{ method, path, tok, body string }{
		{"PUT", "/api/v1/programs/group:quan-1", "operator-q1", "programs: []\n"},
		{"PUT", "/api/v1/programs/ward:da-kao", "operator-q1", "programs: []\n"},
		{"DELETE", "/api/v1/programs/ward:ben-nghe", "operator-q1", ""},
		{"GET", "/api/v1/wards/da-kao/timeline", "operator-q1", ""},
		{"GET", "/api/v1/wards/ben-nghe/asrun", "operator-q1", ""},
		{"GET", "/api/v1/programs/all", "operator-q1", ""},
		{"POST", "/api/v1/live", "operator-q1", `{"to":"da-kao,group:quan-1","stream":"http://x/y"}`},
		{"DELETE", "/api/v1/live/l-q1", "operator-q1", ""},
		{"POST", "/api/v1/alerts", "alerter-q1", `{"to":"ben-nghe","text":"Bão"}`},
		{"PUT", "/api/v1/programs/all", "operator", "programs: []\n"},
		{"POST", "/api/v1/alerts/a-q3/cancel", "alerter", ""},
	} {
		if w := do(t, h, c.method, c.path, c.tok, c.body); w.Code >= 300 {
			t.Errorf("%s %s %s: %d %s", c.tok, c.method, c.path, w.Code, w.Body)
		}
	}
	want := []string{"load group:quan-1", "load ward:da-kao", "delete ward:ben-nghe", "live da-kao,group:quan-1", "stop l-q1", "send ben-nghe", "load all", "cancel a-q3"}
	if got := changes.all(); !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}

	ids := func(path, tok, field string) []string {
		t.Helper()
		w := do(t, h, "GET", path, tok, "")
		var rows []map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &rows); err != nil {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r[field].(string))
		}
		return out
	}
	for _, c := range []struct {
		path, tok, field string
		want             []string
	}{
		{"/api/v1/wards", "operator-q1", "id", []string{"ben-nghe", "da-kao"}},
		{"/api/v1/wards", "operator", "id", []string{"ben-nghe", "da-kao", "vo-thi-sau"}},
		{"/api/v1/programs", "operator-q1", "target", []string{"all", "group:quan-1", "ward:da-kao"}},
		{"/api/v1/alerts", "alerter-q1", "id", []string{"a-all", "a-q1"}},
		{"/api/v1/live", "operator-q1", "id", []string{"l-q1"}},
	} {
		if got := ids(c.path, c.tok, c.field); !slices.Equal(got, c.want) {
			t.Errorf("%s as %s: %q, want %q", c.path, c.tok, got, c.want)
		}
	}

	// The console's session of a scoped user is scoped the same.
	r := httptest.NewRequest("GET", "/api/v1/wards/vo-thi-sau", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "operator-q1"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || !strings.Contains(errorText(t, w), "outside the scope of console-operator-q1") {
		t.Errorf("scoped console session: %d %s", w.Code, w.Body)
	}
}

// A scoped approver sees the requests that reach her wards and decides
// only those whose every target is hers: approving sends to all of them.
func TestScopedApprover(t *testing.T) {
	d, _ := testDeps(t)
	changes := &calls{}
	d.Wards = fakeWards{list: []api.Ward{{ID: "ben-nghe", Groups: []string{"quan-1"}}, {ID: "da-kao", Groups: []string{"quan-1"}},
		{ID: "vo-thi-sau", Groups: []string{"quan-3"}}}}
	d.Approvals = fakeApprovals{c: changes, reqs: []api.AlertRequest{
		{ID: "yc-q1", State: "pending", Targets: "group:quan-1"},
		{ID: "yc-q3", State: "pending", Targets: "group:quan-3"},
		{ID: "yc-both", State: "pending", Targets: "da-kao,vo-thi-sau"},
	}}
	h := New(d).Handler()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/alert-requests/yc-q3", ""},
		{"POST", "/api/v1/alert-requests/yc-q3/approve", ""},
		{"POST", "/api/v1/alert-requests/yc-both/approve", ""},
		{"POST", "/api/v1/alert-requests/yc-both/refuse", `{"reason":"sai"}`},
	} {
		w := do(t, h, c.method, c.path, "approver-q1", c.body)
		if msg := errorText(t, w); w.Code != http.StatusForbidden || !strings.Contains(msg, "ngoài phạm vi") || !strings.Contains(msg, "outside the scope") {
			t.Errorf("%s %s: %d %q; want 403 outside the scope", c.method, c.path, w.Code, msg)
		}
	}
	if got := changes.all(); len(got) > 0 {
		t.Fatalf("refused decisions reached the service: %q", got)
	}
	w := do(t, h, "GET", "/api/v1/alert-requests", "approver-q1", "")
	var rows []api.AlertRequest
	if err := json.Unmarshal(w.Body.Bytes(), &rows); err != nil {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	var ids []string
	for _, q := range rows {
		ids = append(ids, q.ID)
	}
	if want := []string{"yc-q1", "yc-both"}; !slices.Equal(ids, want) {
		t.Errorf("requests seen by approver-q1: %q, want %q", ids, want)
	}
	if w := do(t, h, "POST", "/api/v1/alert-requests/yc-q1/approve", "approver-q1", ""); w.Code != http.StatusOK {
		t.Errorf("approve in scope: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", "/api/v1/alert-requests/yc-q3/approve", "approver", ""); w.Code != http.StatusOK {
		t.Errorf("city-wide approver: %d %s", w.Code, w.Body)
	}
	if got, want := changes.all(), []string{"approve yc-q1", "approve yc-q3"}; !slices.Equal(got, want) {
		t.Errorf("decisions = %q, want %q", got, want)
	}
}
