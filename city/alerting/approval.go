package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"loa/alert"
	"loa/city/api"
	"loa/sqlite"
)

// The two-person rule (docs/alerts.md "Approval"): an alert the rule
// names is not sent by the person who asks for it; it waits, recorded,
// until a second person with the approver role approves it (then it is
// signed and published exactly as any other), refuses it, or it expires.
// It lives here, in the service, so that the JSON API, the console and
// CAP ingest all obey it.

// RoleApprover is the role of the people who approve alerts.
const RoleApprover = "approver"

// ApprovalRule says which alerts need a second person.
type ApprovalRule struct {
	// EmergencyWards: an emergency reaching at least this many wards
	// needs approval (0: never). UrgentWards the same for urgent alerts.
	EmergencyWards, UrgentWards int
	// Expires: a request not approved within it is expired; nothing is
	// sent.
	Expires time.Duration
	// BreakGlass lets one person send such an alert at once, with the
	// targets typed again and a reason (recorded loudly).
	BreakGlass bool
}

// Errors of approvals.
var (
	// ErrApprovalPending: the alert needs a second person's approval; it
	// is recorded as a pending request and NOT sent (HTTP 202).
	ErrApprovalPending = errors.New("alert waits for approval")
	// ErrNotApprover: the person may not approve or refuse this request
	// (not an approver, or their own request) (HTTP 403).
	ErrNotApprover = errors.New("not allowed to approve")
	// ErrRequestNotFound: no request has that id (404).
	ErrRequestNotFound = errors.New("no such alert request")
)

// PendingError is ErrApprovalPending with the request recorded.
type PendingError struct{ Request api.AlertRequest }

func (e *PendingError) Error() string {
	return fmt.Sprintf("cảnh báo CHƯA gửi: chờ người thứ hai (vai trò approver) duyệt yêu cầu %s trước %s / alert NOT sent: waiting for a second person (role approver) to approve request %s by %s",
		e.Request.ID, e.Request.Expires.Format(time.RFC3339), e.Request.ID, e.Request.Expires.Format(time.RFC3339))
}

func (e *PendingError) Unwrap() error { return ErrApprovalPending }

// RequestStore keeps the requests waiting for approval (the city's
// SQLite database). A missing request is sqlite.ErrNotFound; a decision
// on one decided or expired meanwhile is sqlite.ErrNotPending.
type RequestStore interface {
	AddAlertRequest(ctx context.Context, r sqlite.AlertRequest) error
	AlertRequest(ctx context.Context, id string) (sqlite.AlertRequest, error)
	AlertRequests(ctx context.Context, limit int) ([]sqlite.AlertRequest, error)
	DecideAlertRequest(ctx context.Context, id, state, by, reason string, at time.Time) error
	SetAlertRequestOutcome(ctx context.Context, id, alert, failure string) error
}

// AuditFunc writes one change to the city's audit log (audit.Log.Record).
type AuditFunc func(ctx context.Context, actor, action, target, detail string)

// needsApproval reports whether the rule holds a (resolved to wards) for
// a second person.
func (s *Service) needsApproval(a *alert.Alert, wards []string) bool {
	n := 0
	switch a.Priority {
	case alert.Emergency:
		n = s.cfg.Approval.EmergencyWards
	case alert.Urgent:
		n = s.cfg.Approval.UrgentWards
	}
	return n > 0 && len(wards) >= n
}

// checkBreakGlass checks a break-glass request: allowed, the targets
// typed again, a reason.
func (s *Service) checkBreakGlass(req api.NewAlert, a *alert.Alert) error {
	if !s.cfg.Approval.BreakGlass {
		return badInput("break_glass: không được phép ở thành phố này (alert_rules.approval.break_glass: false); cần người duyệt / not allowed in this city; an approver must approve")
	}
	confirm := strings.TrimSpace(req.Confirm)
	ok := false
	if a.Targets.All {
		ok = strings.EqualFold(confirm, "tất cả") || strings.EqualFold(confirm, "all")
	} else {
		ok = confirm != "" && (confirm == strings.TrimSpace(req.To) || confirm == a.Targets.String())
	}
	if !ok {
		want := strings.TrimSpace(req.To)
		if a.Targets.All {
			want = "tất cả"
		}
		return badInput("confirm: gõ lại đúng nơi nhận %q để gửi khẩn không chờ duyệt / type the targets %q again to send without approval", want, want)
	}
	if r := strings.TrimSpace(req.Reason); utf8.RuneCountInString(r) < 5 {
		return badInput("reason: ghi rõ lý do gửi khẩn không chờ duyệt (ít nhất 5 ký tự) / say why the alert cannot wait for an approver (at least 5 characters)")
	}
	return nil
}

// newRequestID names a request: yc-YYYYMMDD-HHMMSS-xxxxxx (yêu cầu).
func (s *Service) newRequestID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "yc-" + now.In(s.loc).Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// hold records req as a request waiting for approval; nothing is sent.
func (s *Service) hold(ctx context.Context, req api.NewAlert, a *alert.Alert, wards []string, by string) error {
	if s.requests == nil {
		return fmt.Errorf("alert %s needs approval but the city keeps no requests", a.ID)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	req.BreakGlass, req.Confirm, req.Reason = false, "", ""
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	life := s.cfg.Approval.Expires
	if life <= 0 {
		life = 15 * time.Minute
	}
	row := sqlite.AlertRequest{ID: s.newRequestID(now), RequestedBy: by, RequestedAt: now, Expires: now.Add(life),
		Priority: string(a.Priority), Status: string(a.Status), Targets: a.Targets.String(), Wards: wards, Headline: a.Headline, Request: body, State: "pending"}
	if err := s.requests.AddAlertRequest(ctx, row); err != nil {
		return fmt.Errorf("record alert request: %w", err)
	}
	s.log.Info("alert waits for approval", "request", row.ID, "priority", row.Priority, "status", row.Status, "targets", row.Targets,
		"wards", len(wards), "by", by, "expires", row.Expires)
	s.audit(ctx, by, "alert.request", row.ID, fmt.Sprintf("%s %s to %s (%d wards): waits for approval until %s", row.Priority, row.Status,
		row.Targets, len(wards), row.Expires.Format(time.RFC3339)))
	return &PendingError{Request: s.requestJSON(row)}
}

// breakGlass records a break-glass send loudly: the audit log, a warning
// in the log, the counter behind loa_city_alert_break_glass_total.
func (s *Service) breakGlass(ctx context.Context, req api.NewAlert, a *alert.Alert, wards []string, by string) {
	s.breakGlassCount.Add(1)
	reason := strings.TrimSpace(req.Reason)
	s.log.Warn("BREAK-GLASS: alert sent without a second person's approval", "alert", a.ID, "priority", a.Priority,
		"targets", a.Targets.String(), "wards", len(wards), "by", by, "reason", reason)
	s.audit(ctx, by, "alert.break_glass", a.ID, fmt.Sprintf("GỬI KHẨN KHÔNG CHỜ DUYỆT / BREAK-GLASS: %s to %s (%d wards); reason: %s",
		a.Priority, a.Targets.String(), len(wards), reason))
}

func (s *Service) audit(ctx context.Context, actor, action, target, detail string) {
	if s.auditf != nil {
		s.auditf(ctx, actor, action, target, detail)
	}
}

// BreakGlassCount is how many alerts were sent by break-glass since the
// city started.
func (s *Service) BreakGlassCount() uint64 { return s.breakGlassCount.Load() }

// requestState is a request's state at now: a pending one past its
// expiry is expired.
func (s *Service) requestState(r sqlite.AlertRequest) string {
	if r.State == "pending" && !s.now().Before(r.Expires) {
		return "expired"
	}
	return r.State
}

func (s *Service) requestJSON(r sqlite.AlertRequest) api.AlertRequest {
	out := api.AlertRequest{ID: r.ID, State: s.requestState(r), RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt.UTC(), Expires: r.Expires.UTC(),
		Priority: r.Priority, Status: r.Status, Targets: r.Targets, WardIDs: r.Wards, Headline: r.Headline, DecidedBy: r.DecidedBy,
		Reason: r.Reason, Alert: r.Alert}
	if out.WardIDs == nil {
		out.WardIDs = []string{}
	}
	if !r.DecidedAt.IsZero() {
		t := r.DecidedAt.UTC()
		out.DecidedAt = &t
	}
	json.Unmarshal(r.Request, &out.Request) // written by hold
	return out
}

// Request is one request for approval.
func (s *Service) Request(ctx context.Context, id string) (api.AlertRequest, error) {
	if s.requests == nil {
		return api.AlertRequest{}, fmt.Errorf("%w: %s", ErrRequestNotFound, id)
	}
	r, err := s.requests.AlertRequest(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return api.AlertRequest{}, fmt.Errorf("%w: %s", ErrRequestNotFound, id)
	}
	if err != nil {
		return api.AlertRequest{}, err
	}
	return s.requestJSON(r), nil
}

// Requests lists the latest requests, newest first; pendingOnly keeps
// those still waiting.
func (s *Service) Requests(ctx context.Context, limit int, pendingOnly bool) ([]api.AlertRequest, error) {
	out := []api.AlertRequest{}
	if s.requests == nil {
		return out, nil
	}
	rows, err := s.requests.AlertRequests(ctx, limit)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		j := s.requestJSON(r)
		if pendingOnly && j.State != "pending" {
			continue
		}
		out = append(out, j)
	}
	return out, nil
}

// decidable loads request id and checks that by (of role) may decide it.
func (s *Service) decidable(ctx context.Context, id, by, role string, own bool) (sqlite.AlertRequest, error) {
	if s.requests == nil {
		return sqlite.AlertRequest{}, fmt.Errorf("%w: %s", ErrRequestNotFound, id)
	}
	r, err := s.requests.AlertRequest(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return r, fmt.Errorf("%w: %s", ErrRequestNotFound, id)
	}
	if err != nil {
		return r, err
	}
	if role != RoleApprover {
		return r, fmt.Errorf("%w: chỉ người có vai trò approver mới duyệt hoặc từ chối cảnh báo; %s có vai trò %s / only a user with the approver role may approve or refuse alerts; %s is %s",
			ErrNotApprover, by, role, by, role)
	}
	if !own && by == r.RequestedBy {
		return r, fmt.Errorf("%w: bạn đã soạn yêu cầu %s, không thể tự duyệt; cần một người khác có vai trò approver / you made request %s and cannot approve it yourself; another person with the approver role must",
			ErrNotApprover, id, id)
	}
	switch st := s.requestState(r); st {
	case "pending":
		return r, nil
	case "expired":
		return r, fmt.Errorf("%w: yêu cầu %s đã hết hạn lúc %s, không gửi gì; soạn lại nếu vẫn cần / request %s expired at %s and sent nothing; compose it again if still needed",
			ErrAlertConflict, id, r.Expires.In(s.loc).Format("15:04:05"), id, r.Expires.In(s.loc).Format("15:04:05"))
	default:
		return r, fmt.Errorf("%w: yêu cầu %s đã được quyết định (%s, %s) / request %s was decided already (%s by %s)",
			ErrAlertConflict, id, st, r.DecidedBy, id, st, r.DecidedBy)
	}
}

// Approve approves request id as by (of role): the alert is signed and
// published exactly as if it needed no approval, sent by whoever asked
// for it. The one who asked cannot approve it (ErrNotApprover). Of two
// approvals at once one wins; the other is ErrAlertConflict.
func (s *Service) Approve(ctx context.Context, id, by, role string) (api.AlertRequest, api.Alert, bool, error) {
	r, err := s.decidable(ctx, id, by, role, false)
	if err != nil {
		return api.AlertRequest{}, api.Alert{}, false, err
	}
	if s.publisher() == nil {
		return api.AlertRequest{}, api.Alert{}, false, ErrNoNATS
	}
	var req api.NewAlert
	if err := json.Unmarshal(r.Request, &req); err != nil {
		return api.AlertRequest{}, api.Alert{}, false, fmt.Errorf("alert request %s as stored: %w", id, err)
	}
	// Checked again: a ward or a library item may be gone since.
	a, plan, err := s.planAlert(ctx, req, r.RequestedBy)
	if err != nil {
		return api.AlertRequest{}, api.Alert{}, false, err
	}
	now := s.now()
	if err := s.requests.DecideAlertRequest(ctx, id, "approved", by, "", now); errors.Is(err, sqlite.ErrNotPending) {
		return api.AlertRequest{}, api.Alert{}, false, fmt.Errorf("%w: request %s was decided or expired meanwhile", ErrAlertConflict, id)
	} else if err != nil {
		return api.AlertRequest{}, api.Alert{}, false, err
	}
	s.log.Info("alert request approved", "request", id, "by", by, "asked_by", r.RequestedBy)
	s.audit(ctx, by, "alert.approve", id, fmt.Sprintf("approved %s's %s to %s", r.RequestedBy, r.Priority, r.Targets))
	res, queued, err := s.deliver(ctx, req, a, plan, r.RequestedBy)
	wctx := context.WithoutCancel(ctx)
	switch {
	case err == nil || queued:
		if oerr := s.requests.SetAlertRequestOutcome(wctx, id, a.ID, ""); oerr != nil {
			s.log.Error("alert request: the alert sent could not be recorded", "request", id, "alert", a.ID, "err", oerr)
		}
		s.audit(ctx, r.RequestedBy, "alert.send", a.ID, fmt.Sprintf("request %s approved by %s", id, by))
	default:
		if oerr := s.requests.SetAlertRequestOutcome(wctx, id, "", err.Error()); oerr != nil {
			s.log.Error("alert request: its failure could not be recorded", "request", id, "err", oerr)
		}
	}
	j, rerr := s.Request(wctx, id)
	if rerr != nil && err == nil {
		err = rerr
	}
	return j, res, queued, err
}

// Refuse refuses request id as by (of role), with a reason: nothing is
// sent. The one who asked, if an approver, may withdraw their own.
func (s *Service) Refuse(ctx context.Context, id, by, role, reason string) (api.AlertRequest, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return api.AlertRequest{}, badInput("reason: ghi lý do từ chối / say why the alert is refused")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return api.AlertRequest{}, badInput("reason: tối đa 500 ký tự / at most 500 characters")
	}
	r, err := s.decidable(ctx, id, by, role, true)
	if err != nil {
		return api.AlertRequest{}, err
	}
	if err := s.requests.DecideAlertRequest(ctx, id, "refused", by, reason, s.now()); errors.Is(err, sqlite.ErrNotPending) {
		return api.AlertRequest{}, fmt.Errorf("%w: request %s was decided or expired meanwhile", ErrAlertConflict, id)
	} else if err != nil {
		return api.AlertRequest{}, err
	}
	s.log.Info("alert request refused", "request", id, "by", by, "asked_by", r.RequestedBy, "reason", reason)
	s.audit(ctx, by, "alert.refuse", id, fmt.Sprintf("refused %s's %s to %s: %s", r.RequestedBy, r.Priority, r.Targets, reason))
	return s.Request(ctx, id)
}

// breakGlassCounter is the count behind BreakGlassCount.
type breakGlassCounter = atomic.Uint64

// Plan checks a request as Send would, without recording or sending
// anything: the wards it reaches and whether it needs a second person
// (the console's confirmation step shows both).
func (s *Service) Plan(ctx context.Context, req api.NewAlert, by string) (wards []string, needsApproval bool, err error) {
	a, plan, err := s.planAlert(ctx, req, by)
	if err != nil {
		return nil, false, err
	}
	return plan.wards, s.needsApproval(a, plan.wards), nil
}

// Rules are the city's alert rules as the console shows them.
type Rules struct {
	// Training: an alert without a status is a Test.
	Training bool
	// TestPrefix is spoken before a test alert ("": nothing).
	TestPrefix string
	// BreakGlass: one person may send an alert that needs approval.
	BreakGlass bool
}

// Rules returns the rules in force.
func (s *Service) Rules() Rules {
	return Rules{Training: s.cfg.Training, TestPrefix: s.cfg.TestPrefix, BreakGlass: s.cfg.Approval.BreakGlass}
}
