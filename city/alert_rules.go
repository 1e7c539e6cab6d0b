package city

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"loa/city/alerting"
	"loa/sqlite"
)

// AlertRulesConfig is the city's safety rules for alerts (docs/alerts.md
// "Approval" and "Test alerts").
type AlertRulesConfig struct {
	Approval ApprovalConfig `yaml:"approval"`
	// Training: the city is in training mode; an alert that gives no
	// status is a Test (default false).
	Training bool `yaml:"training"`
	// TestPrefix is spoken before a Test or Exercise alert's audio
	// (default "Đây là bản tin thử nghiệm."; "" speaks nothing).
	TestPrefix string `yaml:"test_prefix"`
}

// ApprovalConfig is the two-person rule.
type ApprovalConfig struct {
	// EmergencyWards: an emergency to at least this many wards needs a
	// second person (role approver) to approve it (default 2: more than
	// one ward; 0: never). UrgentWards the same for urgent alerts
	// (default 0).
	EmergencyWards int `yaml:"emergency_wards"`
	UrgentWards    int `yaml:"urgent_wards"`
	// Expires: a request not approved within it sends nothing (default
	// 15m).
	Expires Duration `yaml:"expires"`
	// BreakGlass lets one person send such an alert at once, typing its
	// targets again and giving a reason, recorded loudly (default true).
	BreakGlass bool `yaml:"break_glass"`
}

// DefaultTestPrefix is what a test alert says first.
const DefaultTestPrefix = "Đây là bản tin thử nghiệm."

func defaultAlertRules() AlertRulesConfig {
	return AlertRulesConfig{Approval: ApprovalConfig{EmergencyWards: 2, Expires: Duration(15 * time.Minute), BreakGlass: true},
		TestPrefix: DefaultTestPrefix}
}

func (r *AlertRulesConfig) check(where string) error {
	a := r.Approval
	switch {
	case a.EmergencyWards < 0 || a.UrgentWards < 0:
		return fmt.Errorf("%s: alert_rules.approval: emergency_wards and urgent_wards: want 0 (never) or more", where)
	case a.Expires <= 0 || time.Duration(a.Expires) > 24*time.Hour:
		return fmt.Errorf("%s: alert_rules.approval.expires: %s, want more than 0 and at most 24h", where, time.Duration(a.Expires))
	case utf8.RuneCountInString(r.TestPrefix) > 200:
		return fmt.Errorf("%s: alert_rules.test_prefix: at most 200 characters", where)
	}
	return nil
}

func (r AlertRulesConfig) service() (alerting.ApprovalRule, bool, string) {
	return alerting.ApprovalRule{EmergencyWards: r.Approval.EmergencyWards, UrgentWards: r.Approval.UrgentWards,
		Expires: time.Duration(r.Approval.Expires), BreakGlass: r.Approval.BreakGlass}, r.Training, r.TestPrefix
}

func (m alertMedia) SpeakBefore(ctx context.Context, id, prefix, voice string, speed int, key, by string) (sqlite.CityMedia, error) {
	return m.c.Library.SpeakBefore(ctx, id, prefix, voice, speed, key, by)
}

// alertRequests is the city's database as the two-person rule uses it.
type alertRequests struct{ db *sqlite.CityDB }

func (s alertRequests) AddAlertRequest(ctx context.Context, r sqlite.AlertRequest) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.AddAlertRequest(ctx, r) })
}

func (s alertRequests) AlertRequest(ctx context.Context, id string) (sqlite.AlertRequest, error) {
	return s.db.Read().AlertRequest(ctx, id)
}

func (s alertRequests) AlertRequests(ctx context.Context, limit int) ([]sqlite.AlertRequest, error) {
	return s.db.Read().AlertRequests(ctx, limit)
}

func (s alertRequests) DecideAlertRequest(ctx context.Context, id, state, by, reason string, at time.Time) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.DecideAlertRequest(ctx, id, state, by, reason, at) })
}

func (s alertRequests) SetAlertRequestOutcome(ctx context.Context, id, alert, failure string) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.SetAlertRequestOutcome(ctx, id, alert, failure) })
}
