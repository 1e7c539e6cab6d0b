-- Alerts waiting for a second person's approval (the two-person rule,
-- docs/alerts.md "Approval"). Nothing of a request is published until an
-- approver approves it; refused and expired requests send nothing.
CREATE TABLE alert_requests (
	id           TEXT PRIMARY KEY,    -- yc-YYYYMMDD-HHMMSS-xxxxxx (yêu cầu)
	requested_by TEXT NOT NULL,
	requested_at INTEGER NOT NULL,    -- unix ms
	expires_at   INTEGER NOT NULL,    -- unix ms: not approved by then, it is expired
	priority     TEXT NOT NULL,
	status       TEXT NOT NULL,       -- Actual | Test | Exercise
	targets      TEXT NOT NULL,       -- as asked: all, ward ids, group:NAME
	wards        TEXT NOT NULL,       -- the wards they meant when asked, space-separated
	headline     TEXT NOT NULL DEFAULT '',
	request      TEXT NOT NULL,       -- the request as JSON (api.NewAlert)
	state        TEXT NOT NULL DEFAULT 'pending', -- pending | approved | refused | failed
	decided_by   TEXT NOT NULL DEFAULT '',
	decided_at   INTEGER,             -- unix ms
	reason       TEXT NOT NULL DEFAULT '', -- a refusal's reason, or why an approved request could not be sent
	alert        TEXT NOT NULL DEFAULT '' -- the alert sent on approval
) STRICT;
CREATE INDEX alert_requests_at ON alert_requests(requested_at);
