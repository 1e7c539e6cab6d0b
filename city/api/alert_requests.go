package api

import "time"

// AlertRequest is an alert that needs a second person's approval before
// it is sent (the two-person rule, docs/alerts.md "Approval"): GET
// /api/v1/alert-requests, the answer (202) to a send that needs one, and
// to an approval or refusal.
type AlertRequest struct {
	ID string `json:"id"`
	// State: pending (waiting for an approver), approved (sent: Alert),
	// refused (Reason), expired (no one approved in time; nothing sent),
	// failed (approved, but the alert could not be sent: Reason).
	State       string    `json:"state"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	// Expires: not approved by then, nothing is sent.
	Expires  time.Time `json:"expires"`
	Priority string    `json:"priority"`
	Status   string    `json:"status"`
	Targets  string    `json:"targets"`
	// Wards are the wards the targets meant when it was asked.
	WardIDs  []string `json:"ward_ids"`
	Headline string   `json:"headline,omitempty"`
	// Request is the alert as asked.
	Request   NewAlert   `json:"request"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Alert is the alert sent on approval.
	Alert string `json:"alert,omitempty"`
}

// AlertRefusal is the body of POST /api/v1/alert-requests/{id}/refuse.
type AlertRefusal struct {
	Reason string `json:"reason"`
}
