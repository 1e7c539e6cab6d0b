package console

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
)

// fakeAlerts is the alerting service: an emergency to two wards or more
// waits for approval; calls are recorded.
type fakeAlerts struct {
	mu        sync.Mutex
	cancelled []string
	submitted []api.NewAlert
	approved  []string
	reqs      map[string]api.AlertRequest
	training  bool
}

func (f *fakeAlerts) Plan(ctx context.Context, req api.NewAlert, by string) ([]string, bool, error) {
	wards := strings.Split(strings.ReplaceAll(req.To, "group:quan-1", "phuong-ben-nghe,phuong-2"), ",")
	return wards, req.Priority == "emergency" && len(wards) > 1, nil
}

func (f *fakeAlerts) Submit(ctx context.Context, req api.NewAlert, by string) (*api.Alert, *api.AlertRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, req)
	if wards, needs, _ := f.Plan(ctx, req, by); needs && !req.BreakGlass {
		q := api.AlertRequest{ID: "yc-1", State: "pending", RequestedBy: by, Priority: req.Priority, Status: "Actual", Targets: req.To, WardIDs: wards, Request: req}
		f.reqs[q.ID] = q
		return nil, &q, nil
	}
	return &api.Alert{ID: "cb-1"}, nil, nil
}

func (f *fakeAlerts) Cancel(ctx context.Context, id, by string) (api.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return api.Alert{ID: id}, nil
}

func (f *fakeAlerts) Status(ctx context.Context, id string) (api.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	state := "sent"
	if len(f.cancelled) > 0 {
		state = "cancelled"
	}
	return api.Alert{ID: id, State: state, MsgType: "Alert", Headline: "Bão số 5", Issued: time.Date(2026, 12, 6, 7, 30, 0, 0, time.UTC), Status: "Actual", Priority: "emergency", Targets: "group:quan-1",
		Wards: []api.WardAlertState{{Ward: "phuong-2", State: "received"}}, Summary: api.AlertSummary{Wards: 1}}, nil
}

func (f *fakeAlerts) List(ctx context.Context, limit int) ([]api.AlertListEntry, error) {
	return []api.AlertListEntry{{ID: "cb-20261206-080000-aaaaaa", Status: "Test", Priority: "urgent", Targets: "all", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}, nil
}

func (f *fakeAlerts) Requests(ctx context.Context, limit int, pendingOnly bool) ([]api.AlertRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.AlertRequest
	for _, q := range f.reqs {
		out = append(out, q)
	}
	return out, nil
}

func (f *fakeAlerts) Request(ctx context.Context, id string) (api.AlertRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, ok := f.reqs[id]
	if !ok {
		return q, &AlertError{Msg: "no such request"}
	}
	return q, nil
}

func (f *fakeAlerts) Approve(ctx context.Context, id, by, role string) (api.AlertRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.reqs[id]
	if q.RequestedBy == by {
		return q, &AlertError{Msg: "bạn không thể tự duyệt / you cannot approve it yourself"}
	}
	f.approved = append(f.approved, id)
	q.State, q.Alert = "approved", "cb-1"
	f.reqs[id] = q
	return q, nil
}

func (f *fakeAlerts) Refuse(ctx context.Context, id, by, role, reason string) (api.AlertRequest, error) {
	return f.reqs[id], nil
}

func (f *fakeAlerts) Rules() AlertRules {
	return AlertRules{TestPrefix: "Đây là bản tin thử nghiệm.", BreakGlass: true, Training: f.training}
}

func startAlertConsole(t *testing.T) (*testConsole, *fakeAlerts) {
	t.Helper()
	tc := startConsole(t)
	fa := &fakeAlerts{reqs: map[string]api.AlertRequest{}}
	tc.accounts.users["an"] = &fakeUser{password: "mật-khẩu-dài-4", role: "alerter", changed: true}
	tc.accounts.users["binh"] = &fakeUser{password: "mật-khẩu-dài-5", role: "approver", changed: true}
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Station: "Phường Bến Nghé", Library: tc.library, Speaker: tc.speaker,
		Schedules: tc.programs, Alerts: fa, Location: time.FixedZone("ICT", 7*3600), Now: func() time.Time { return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	return tc, fa
}

// The alert pages are for those who send or approve alerts; the compose
// form's check shows every ward and what will play, and sends nothing;
// the confirmed request goes to the service, which holds it; the composer
// sees no approve button on their own request; the approver approves; a
// decision without the CSRF token changes nothing.
func TestAlertComposeConfirmApprove(t *testing.T) {
	tc, fa := startAlertConsole(t)
	op := browser(t)
	login(t, tc, op, "lan", "mật-khẩu-dài-1")
	if code, _, _ := do(t, op, "GET", tc.srv.URL+"/alerts", nil, nil); code != http.StatusForbidden {
		t.Fatalf("operator on /alerts: %d", code)
	}

	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	code, _, page := do(t, an, "GET", tc.srv.URL+"/alerts/new", nil, nil)
	if code != 200 || !strings.Contains(page, `value="phuong-ben-nghe"`) || !strings.Contains(page, "Phường Đa Kao (phuong-2)") {
		t.Fatalf("compose: %d\n%s", code, page)
	}
	tok := csrfOf(t, page)
	form := url.Values{"csrf": {tok}, "action": {"preview"}, "kind": {"text"}, "text": {"Bão số 5 đổ bộ lúc 14h."}, "voice": {"vi"}, "speed": {"150"},
		"to": {"phuong-ben-nghe", "phuong-2"}, "priority": {"emergency"}, "status": {"Actual"}, "expires": {"30m"}, "repeat": {"1"}, "chime": {"on"}}
	code, _, page = do(t, an, "POST", tc.srv.URL+"/alerts/new", form, nil)
	if code != 200 || !strings.Contains(page, "phuong-ben-nghe") || !strings.Contains(page, "Phường Đa Kao") || !strings.Contains(page, `id="play"`) ||
		!strings.Contains(page, "cần người thứ hai") || !strings.Contains(page, "/library/speak/") {
		t.Fatalf("confirmation: %d\n%s", code, page)
	}
	if len(fa.submitted) != 0 {
		t.Fatal("the check sent the alert")
	}
	_, rest, _ := strings.Cut(page, `name="request" value="`)
	reqJSON, _, _ := strings.Cut(rest, `"`)
	reqJSON = html.UnescapeString(reqJSON)
	var req api.NewAlert
	if err := json.Unmarshal([]byte(reqJSON), &req); err != nil || req.To != "phuong-ben-nghe,phuong-2" || req.Text != "Bão số 5 đổ bộ lúc 14h." || req.ExpiresS != 1800 {
		t.Fatalf("request carried: %v %+v", err, req)
	}
	code, hdr, _ := do(t, an, "POST", tc.srv.URL+"/alerts/new", url.Values{"csrf": {tok}, "action": {"send"}, "request": {reqJSON}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/alerts/yc-1" || len(fa.submitted) != 1 {
		t.Fatalf("send: %d %v %d", code, hdr, len(fa.submitted))
	}
	_, _, page = do(t, an, "GET", tc.srv.URL+"/alerts/yc-1", nil, nil)
	if strings.Contains(page, `id="approve"`) {
		t.Fatal("the composer is offered to approve")
	}

	binh := browser(t)
	login(t, tc, binh, "binh", "mật-khẩu-dài-5")
	_, _, page = do(t, binh, "GET", tc.srv.URL+"/alerts/yc-1", nil, nil)
	if !strings.Contains(page, `id="approve"`) || !strings.Contains(page, "Bão số 5") {
		t.Fatalf("approver's view:\n%s", page)
	}
	if code, _, _ := do(t, binh, "POST", tc.srv.URL+"/alerts/yc-1/approve", url.Values{}, nil); code != http.StatusForbidden || len(fa.approved) != 0 {
		t.Fatalf("approve without CSRF: %d %v", code, fa.approved)
	}
	code, hdr, _ = do(t, binh, "POST", tc.srv.URL+"/alerts/yc-1/approve", url.Values{"csrf": {csrfOf(t, page)}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/alerts/cb-1" || len(fa.approved) != 1 {
		t.Fatalf("approve: %d %v %v", code, hdr, fa.approved)
	}
	// The follow-up page, and the list with its test alert in its colour.
	_, _, page = do(t, binh, "GET", tc.srv.URL+"/alerts/cb-1", nil, nil)
	if !strings.Contains(page, `data-events="/alerts/cb-1/events"`) || !strings.Contains(page, "Đã nhận") {
		t.Fatalf("follow-up:\n%s", page)
	}
	_, _, page = do(t, binh, "GET", tc.srv.URL+"/alerts", nil, nil)
	if !strings.Contains(page, `<li class="test">`) {
		t.Fatalf("the test alert is not marked:\n%s", page)
	}
}

// A cancel needs its box ticked; once cancelled, the page offers the
// correction, prepared, which goes to the same targets as an urgent text.
func TestAlertCancelThenCorrection(t *testing.T) {
	tc, fa := startAlertConsole(t)
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	_, _, page := do(t, an, "GET", tc.srv.URL+"/alerts/cb-1", nil, nil)
	if !strings.Contains(page, `id="cancel"`) || strings.Contains(page, `id="correct"`) {
		t.Fatalf("follow-up before a cancel:\n%s", page)
	}
	tok := csrfOf(t, page)
	if code, _, _ := do(t, an, "POST", tc.srv.URL+"/alerts/cb-1/cancel", url.Values{"csrf": {tok}}, nil); code != http.StatusBadRequest || len(fa.cancelled) != 0 {
		t.Fatalf("cancel without the box: %d %v", code, fa.cancelled)
	}
	if code, _, _ := do(t, an, "POST", tc.srv.URL+"/alerts/cb-1/cancel", url.Values{"csrf": {tok}, "sure": {"on"}}, nil); code != http.StatusSeeOther || len(fa.cancelled) != 1 {
		t.Fatalf("cancel: %d %v", code, fa.cancelled)
	}
	_, _, page = do(t, an, "GET", tc.srv.URL+"/alerts/cb-1", nil, nil)
	if !strings.Contains(page, `id="correct"`) || !strings.Contains(page, "Cải chính: bản tin Bão số 5 phát lúc 14 giờ 30 đã được huỷ bỏ") {
		t.Fatalf("correction offered:\n%s", page)
	}
	code, hdr, _ := do(t, an, "POST", tc.srv.URL+"/alerts/cb-1/correct", url.Values{"csrf": {tok}, "text": {"Cải chính: bản tin Bão số 5 đã được huỷ bỏ."}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/alerts/cb-1" || len(fa.submitted) != 1 {
		t.Fatalf("correction: %d %v %d", code, hdr, len(fa.submitted))
	}
	if c := fa.submitted[0]; c.To != "group:quan-1" || c.Priority != "urgent" || !strings.HasPrefix(c.Text, "Cải chính") {
		t.Fatalf("correction sent: %+v", c)
	}
}

// An alerter scoped to one ward is offered only that ward (no "all", no
// group that is not wholly hers), and a check or a send to another ward is
// refused with the scope page and reaches nothing; an approver scoped to
// that ward cannot approve a request that also reaches another ward.
func TestAlertPagesKeepToTheScope(t *testing.T) {
	tc, fa := startAlertConsole(t)
	tc.accounts.SetScope(context.Background(), "an", []string{"phuong-2"}, nil, "admin")
	tc.accounts.SetScope(context.Background(), "binh", []string{"phuong-2"}, nil, "admin")
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	code, _, page := do(t, an, "GET", tc.srv.URL+"/alerts/new", nil, nil)
	if code != 200 || !strings.Contains(page, `value="phuong-2"`) || strings.Contains(page, `value="phuong-ben-nghe"`) || strings.Contains(page, `value="all"`) {
		t.Fatalf("a scoped compose form: %d\n%s", code, page)
	}
	tok := csrfOf(t, page)
	form := url.Values{"csrf": {tok}, "action": {"preview"}, "kind": {"text"}, "text": {"Bão số 5."}, "voice": {"vi"}, "speed": {"150"},
		"to": {"all"}, "priority": {"urgent"}, "status": {"Actual"}, "expires": {"30m"}, "repeat": {"1"}}
	if code, _, page := do(t, an, "POST", tc.srv.URL+"/alerts/new", form, nil); code != http.StatusForbidden || !strings.Contains(page, "ngoài phạm vi") {
		t.Errorf("a check to all by a scoped alerter: %d", code)
	}
	req := `{"to":"phuong-ben-nghe","text":"Bão","priority":"urgent"}`
	if code, _, page := do(t, an, "POST", tc.srv.URL+"/alerts/new", url.Values{"csrf": {tok}, "action": {"send"}, "request": {req}}, nil); code != http.StatusForbidden || !strings.Contains(page, "ngoài phạm vi") {
		t.Errorf("a send to another ward by a scoped alerter: %d", code)
	}
	if len(fa.submitted) != 0 {
		t.Fatalf("refused alerts reached the service: %+v", fa.submitted)
	}

	fa.reqs["yc-9"] = api.AlertRequest{ID: "yc-9", State: "pending", RequestedBy: "lan", Priority: "emergency", Targets: "phuong-ben-nghe,phuong-2"}
	binh := browser(t)
	login(t, tc, binh, "binh", "mật-khẩu-dài-5")
	_, _, page = do(t, binh, "GET", tc.srv.URL+"/alerts/yc-9", nil, nil)
	if strings.Contains(page, `id="approve"`) {
		t.Error("a scoped approver is offered a request that reaches another ward")
	}
	if code, _, _ := do(t, binh, "POST", tc.srv.URL+"/alerts/yc-9/approve", url.Values{"csrf": {csrfOf(t, page)}}, nil); code != http.StatusForbidden || len(fa.approved) != 0 {
		t.Errorf("a scoped approver approved outside her scope: %d %v", code, fa.approved)
	}
}

// The menu offers each role the pages that serve it: an operator no
// alert pages, an alerter no reports, an administrator everything.
func TestMenuFollowsTheRole(t *testing.T) {
	tc, _ := startAlertConsole(t)
	for _, c := range []struct {
		user, password string
		has, hasNot    []string
	}{
		{"lan", "mật-khẩu-dài-1", []string{`href="/live"`, `href="/reports"`}, []string{`href="/alerts"`, `href="/users"`}},
		{"an", "mật-khẩu-dài-4", []string{`href="/alerts"`, `href="/live"`}, []string{`href="/reports"`, `href="/users"`}},
		{"binh", "mật-khẩu-dài-5", []string{`href="/alerts"`}, []string{`href="/live"`, `href="/reports"`}},
		{"admin", "mật-khẩu-dài-3", []string{`href="/alerts"`, `href="/live"`, `href="/reports"`, `href="/users"`}, nil},
	} {
		b := browser(t)
		login(t, tc, b, c.user, c.password)
		_, _, page := do(t, b, "GET", tc.srv.URL+"/", nil, nil)
		for _, h := range c.has {
			if !strings.Contains(page, h) {
				t.Errorf("%s's menu lacks %s", c.user, h)
			}
		}
		for _, h := range c.hasNot {
			if strings.Contains(page, h) {
				t.Errorf("%s's menu offers %s", c.user, h)
			}
		}
	}
}
