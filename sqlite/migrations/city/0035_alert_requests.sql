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

-- The approver role (a second person for alerts). users.role's CHECK is
-- widened by rebuilding the table (SQLite cannot alter a CHECK); the
-- sessions and the users' scopes, whose rows the drop would delete through
-- their foreign keys, are kept aside and put back.
CREATE TEMP TABLE sessions_kept AS SELECT * FROM sessions;
CREATE TEMP TABLE user_scope_kept AS SELECT * FROM user_scope;
CREATE TABLE users_new (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'alerter', 'approver', 'technician')),
	token_hash    BLOB NOT NULL UNIQUE,
	created_at    INTEGER NOT NULL,
	password_hash TEXT,
	must_change   INTEGER NOT NULL DEFAULT 0,
	disabled_at   INTEGER
) STRICT;
INSERT INTO users_new(name, role, token_hash, created_at, password_hash, must_change, disabled_at)
	SELECT name, role, token_hash, created_at, password_hash, must_change, disabled_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
INSERT INTO sessions SELECT * FROM sessions_kept;
DROP TABLE sessions_kept;
INSERT INTO user_scope SELECT * FROM user_scope_kept;
DROP TABLE user_scope_kept;
