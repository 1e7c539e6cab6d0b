package alerting

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// fakeRequests keeps requests in a map, as the city's SQLite does.
type fakeRequests struct {
	mu   sync.Mutex
	rows map[string]sqlite.AlertRequest
}

func (f *fakeRequests) AddAlertRequest(ctx context.Context, r sqlite.AlertRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rows[r.ID]; ok {
		return sqlite.ErrExists
	}
	r.State = "pending"
	f.rows[r.ID] = r
	return nil
}

func (f *fakeRequests) AlertRequest(ctx context.Context, id string) (sqlite.AlertRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rows[id]
	if !ok {
		return r, sqlite.ErrNotFound
	}
	return r, nil
}

func (f *fakeRequests) AlertRequests(ctx context.Context, limit int) ([]sqlite.AlertRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sqlite.AlertRequest
	for _, r := range f.rows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RequestedAt.After(out[j].RequestedAt) })
	return out[:min(limit, len(out))], nil
}

func (f *fakeRequests) DecideAlertRequest(ctx context.Context, id, state, by, reason string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rows[id]
	if !ok || r.State != "pending" || !at.Before(r.Expires) {
		return sqlite.ErrNotPending
	}
	r.State, r.DecidedBy, r.DecidedAt, r.Reason = state, by, at, reason
	f.rows[id] = r
	return nil
}

func (f *fakeRequests) SetAlertRequestOutcome(ctx context.Context, id, alert, failure string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rows[id]
	if failure != "" {
		r.State, r.Reason = "failed", failure
	} else {
		r.Alert = alert
	}
	f.rows[id] = r
	return nil
}

type auditRow struct{ actor, action, target, detail string }

// approvalFixture is the fixture with the default two-person rule, a
// test prefix and an audit log.
type approvalFixture struct {
	*fixture
	reqs  *fakeRequests
	mu    sync.Mutex
	audit []auditRow
}

func newApprovalFixture(t *testing.T, training bool) *approvalFixture {
	f := &approvalFixture{fixture: newFixture(t), reqs: &fakeRequests{rows: map[string]sqlite.AlertRequest{}}}
	f.svc.cfg.Approval = ApprovalRule{EmergencyWards: 2, Expires: 15 * time.Minute, BreakGlass: true}
	f.svc.cfg.Training = training
	f.svc.cfg.TestPrefix = "Đây là bản tin thử nghiệm."
	f.svc.requests = f.reqs
	f.svc.auditf = func(ctx context.Context, actor, action, target, detail string) {
		f.mu.Lock()
		f.audit = append(f.audit, auditRow{actor, action, target, detail})
		f.mu.Unlock()
	}
	return f
}

func (f *approvalFixture) audited(action string) []auditRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []auditRow
	for _, r := range f.audit {
		if r.action == action {
			out = append(out, r)
		}
	}
	return out
}

func pendingOf(t *testing.T, err error) api.AlertRequest {
	t.Helper()
	var p *PendingError
	if !errors.As(err, &p) || !errors.Is(err, ErrApprovalPending) {
		t.Fatalf("want a pending request, got %v", err)
	}
	return p.Request
}

// An emergency to two wards is not sent: it is held as a request with
// who, what, to whom and its expiry; the issuer cannot approve it; an
// alerter cannot; a second approver can, and then it is signed and
// published as the issuer's, once; a second approval is a conflict.
func TestApprovalHoldsUntilASecondPerson(t *testing.T) {
	f := newApprovalFixture(t, false)
	ctx := context.Background()
	_, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1,phuong-2", Text: "Bão số 5 đổ bộ.", Priority: "emergency", Headline: "Bão số 5"}, "an")
	req := pendingOf(t, err)
	if len(f.bus.taken()) != 0 || f.media.said() != 0 {
		t.Fatalf("a held alert was published or spoken: %v", f.bus.taken())
	}
	if req.State != "pending" || req.RequestedBy != "an" || req.Targets != "phuong-1,phuong-2" || fmt.Sprint(req.WardIDs) != "[phuong-1 phuong-2]" ||
		!req.Expires.Equal(f.now.Add(15*time.Minute)) || req.Priority != "emergency" || req.Request.Text != "Bão số 5 đổ bộ." ||
		!strings.HasPrefix(req.ID, "yc-20260912-153000-") {
		t.Fatalf("request: %+v", req)
	}
	if !strings.Contains(err.Error(), "CHƯA gửi") || !strings.Contains(err.Error(), "NOT sent") {
		t.Fatalf("message not bilingual: %v", err)
	}
	// The issuer, even an approver, cannot approve their own.
	_, _, _, err = f.svc.Approve(ctx, req.ID, "an", RoleApprover)
	if !errors.Is(err, ErrNotApprover) || !strings.Contains(err.Error(), "không thể tự duyệt") || !strings.Contains(err.Error(), "cannot approve it yourself") {
		t.Fatalf("own approval: %v", err)
	}
	// Someone without the approver role cannot.
	if _, _, _, err = f.svc.Approve(ctx, req.ID, "binh", "alerter"); !errors.Is(err, ErrNotApprover) {
		t.Fatalf("alerter's approval: %v", err)
	}
	if len(f.bus.taken()) != 0 {
		t.Fatal("a refused approval published")
	}
	f.now = f.now.Add(time.Minute)
	got, res, queued, err := f.svc.Approve(ctx, req.ID, "chi", RoleApprover)
	if err != nil || queued {
		t.Fatalf("approve: %v %v", err, queued)
	}
	if got.State != "approved" || got.DecidedBy != "chi" || got.Alert != res.ID || res.SentBy != "an" || res.State != "sent" {
		t.Fatalf("approved: %+v alert %+v", got, res)
	}
	taken := f.bus.taken()
	if len(taken) != 2 || len(taken["alert.ward.phuong-1"]) != 1 {
		t.Fatalf("published %v", taken)
	}
	a := f.open(t, taken["alert.ward.phuong-2"][0])
	if a.Sender != "an@ubnd-hue" || a.Priority != alert.Emergency || a.ID != res.ID {
		t.Fatalf("alert: %+v", a)
	}
	if _, _, _, err := f.svc.Approve(ctx, req.ID, "dung", RoleApprover); !errors.Is(err, ErrAlertConflict) {
		t.Fatalf("second approval: %v", err)
	}
	if len(f.bus.taken()["alert.ward.phuong-1"]) != 1 {
		t.Fatal("approved twice, sent twice")
	}
	if len(f.audited("alert.request")) != 1 || len(f.audited("alert.approve")) != 1 || f.audited("alert.approve")[0].actor != "chi" {
		t.Fatalf("audit: %+v", f.audit)
	}
}

// A refusal needs a reason and sends nothing; an expired request sends
// nothing and shows as expired; neither can be approved afterwards.
func TestApprovalRefusedAndExpired(t *testing.T) {
	f := newApprovalFixture(t, false)
	ctx := context.Background()
	_, _, err := f.svc.Send(ctx, api.NewAlert{To: "all", Media: "coi.wav", Priority: "emergency"}, "an")
	req := pendingOf(t, err)
	if _, err := f.svc.Refuse(ctx, req.ID, "chi", RoleApprover, "  "); !isBadInput(err) || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("refuse without a reason: %v", err)
	}
	got, err := f.svc.Refuse(ctx, req.ID, "chi", RoleApprover, "Sai nội dung")
	if err != nil || got.State != "refused" || got.Reason != "Sai nội dung" || got.DecidedBy != "chi" {
		t.Fatalf("refuse: %+v %v", got, err)
	}
	if _, _, _, err := f.svc.Approve(ctx, req.ID, "dung", RoleApprover); !errors.Is(err, ErrAlertConflict) {
		t.Fatalf("approve a refused request: %v", err)
	}

	_, _, err = f.svc.Send(ctx, api.NewAlert{To: "group:quan-1", Media: "coi.wav", Priority: "emergency"}, "an")
	req2 := pendingOf(t, err)
	pend, _ := f.svc.Requests(ctx, 10, true)
	if len(pend) != 1 || pend[0].ID != req2.ID {
		t.Fatalf("pending: %+v", pend)
	}
	f.now = f.now.Add(15 * time.Minute)
	if got, _ := f.svc.Request(ctx, req2.ID); got.State != "expired" {
		t.Fatalf("after 15 min: %+v", got)
	}
	if _, _, _, err := f.svc.Approve(ctx, req2.ID, "chi", RoleApprover); !errors.Is(err, ErrAlertConflict) || !strings.Contains(err.Error(), "hết hạn") {
		t.Fatalf("approve an expired request: %v", err)
	}
	if pend, _ := f.svc.Requests(ctx, 10, true); len(pend) != 0 {
		t.Fatalf("still pending: %+v", pend)
	}
	if len(f.bus.taken()) != 0 {
		t.Fatalf("refused or expired alerts published: %v", f.bus.taken())
	}
}

// What the rule does not name goes at once: an emergency to one ward, an
// urgent alert to all.
func TestApprovalRuleScope(t *testing.T) {
	f := newApprovalFixture(t, false)
	ctx := context.Background()
	if _, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav", Priority: "emergency"}, "an"); err != nil {
		t.Fatalf("emergency to one ward: %v", err)
	}
	if _, _, err := f.svc.Send(ctx, api.NewAlert{To: "all", Media: "coi.wav"}, "an"); err != nil {
		t.Fatalf("urgent to all: %v", err)
	}
	f.svc.cfg.Approval.UrgentWards = 3
	_, _, err := f.svc.Send(ctx, api.NewAlert{To: "all", Media: "coi.wav"}, "an")
	pendingOf(t, err)
}

// Break-glass: one person sends at once with the targets typed again and
// a reason; it is audited and counted. A wrong confirmation or no reason
// sends nothing; so does break-glass where the city forbids it.
func TestBreakGlass(t *testing.T) {
	f := newApprovalFixture(t, false)
	ctx := context.Background()
	base := api.NewAlert{To: "all", Media: "coi.wav", Priority: "emergency", BreakGlass: true, Reason: "Không liên lạc được người duyệt"}
	for _, c := range []struct {
		name, confirm, reason, want string
	}{
		{"wrong confirmation", "phuong-1", base.Reason, "confirm"},
		{"no confirmation", "", base.Reason, "confirm"},
		{"no reason", "tất cả", "", "reason"},
	} {
		req := base
		req.Confirm, req.Reason = c.confirm, c.reason
		if _, _, err := f.svc.Send(ctx, req, "an"); !isBadInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	if len(f.bus.taken()) != 0 || f.svc.BreakGlassCount() != 0 {
		t.Fatal("a bad break-glass was sent")
	}
	req := base
	req.Confirm = "Tất cả"
	res, _, err := f.svc.Send(ctx, req, "an")
	if err != nil || res.State != "sent" || len(f.bus.taken()["alert.all"]) != 1 {
		t.Fatalf("break-glass: %+v %v", res, err)
	}
	if f.svc.BreakGlassCount() != 1 || f.svc.Health().BreakGlass != 1 {
		t.Fatalf("counted %d", f.svc.BreakGlassCount())
	}
	bg := f.audited("alert.break_glass")
	if len(bg) != 1 || bg[0].actor != "an" || bg[0].target != res.ID || !strings.Contains(bg[0].detail, "Không liên lạc được người duyệt") {
		t.Fatalf("audit: %+v", f.audit)
	}
	// Wards by name: the list typed again.
	req = base
	req.To, req.Confirm = "phuong-1,phuong-3", "phuong-1,phuong-3"
	if _, _, err := f.svc.Send(ctx, req, "an"); err != nil {
		t.Fatalf("break-glass to wards: %v", err)
	}
	f.svc.cfg.Approval.BreakGlass = false
	req.Confirm = "phuong-1,phuong-3"
	if _, _, err := f.svc.Send(ctx, req, "an"); !isBadInput(err) || !strings.Contains(err.Error(), "break_glass") {
		t.Fatalf("break-glass forbidden: %v", err)
	}
}

// In training mode an alert without a status is a Test, and a test
// alert's audio is the spoken prefix before its content; an Actual one
// is left as it is.
func TestTestAlertsSayTheyAreTests(t *testing.T) {
	f := newApprovalFixture(t, true)
	ctx := context.Background()
	res, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav"}, "an")
	if err != nil {
		t.Fatal(err)
	}
	coi := mediaOf("coi.wav").SHA256
	if res.Status != "Test" || res.Content.SHA256 != mediaOf("Đây là bản tin thử nghiệm. + "+coi).SHA256 {
		t.Fatalf("test alert: %+v", res)
	}
	res, _, err = f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav", Status: "Actual"}, "an")
	if err != nil || res.Status != "Actual" || res.Content.SHA256 != coi {
		t.Fatalf("actual alert: %+v %v", res, err)
	}
	f.svc.cfg.TestPrefix = ""
	res, _, err = f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav", Status: "Exercise"}, "an")
	if err != nil || res.Content.SHA256 != coi {
		t.Fatalf("no prefix configured: %+v %v", res, err)
	}
}

func isBadInput(err error) bool {
	var bad *cmdkit.BadInputError
	return errors.As(err, &bad)
}

func (m *fakeMedia) SpeakBefore(ctx context.Context, id, prefix, voice string, speed int, key, by string) (sqlite.CityMedia, error) {
	m.mu.Lock()
	m.spoken = append(m.spoken, prefix+" + "+key)
	m.mu.Unlock()
	return mediaOf(prefix + " + " + key), nil
}
