-- Alerts (issue 6): the wards' NATS keys, the alerts as signed and sent,
-- each copy to publish, the media wards may fetch for them, and the wards'
-- receipts.

-- A ward's NATS identity: the public half of its NKEY. The seed was shown
-- once, when the ward was added (or its key re-issued), and is not kept.
CREATE TABLE ward_nats (
	ward       TEXT PRIMARY KEY REFERENCES wards(id) ON DELETE CASCADE,
	nkey       TEXT NOT NULL UNIQUE,             -- "U..."
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE alerts (
	id           TEXT PRIMARY KEY,
	msg_type     TEXT NOT NULL,                  -- Alert | Update | Cancel
	refs         TEXT NOT NULL DEFAULT '',       -- ids it updates or cancels, space-separated
	status       TEXT NOT NULL,                  -- Actual | Test | Exercise
	priority     TEXT NOT NULL,
	issued       INTEGER NOT NULL,               -- unix ms
	expires      INTEGER NOT NULL,
	sent_by      TEXT NOT NULL,
	targets      TEXT NOT NULL,                  -- as the operator gave them: all | ward ids, group:G
	headline     TEXT NOT NULL DEFAULT '',
	payload      BLOB NOT NULL,                  -- the signed JSON
	envelope     BLOB NOT NULL,                  -- the signing.Envelope as published
	cancelled_by TEXT,                           -- the Cancel or Update that stopped it
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX alerts_issued ON alerts(issued);

-- The wards an alert was for when it was sent (every ward, for all).
CREATE TABLE alert_wards (
	alert TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	ward  TEXT NOT NULL,
	PRIMARY KEY (alert, ward)
) WITHOUT ROWID, STRICT;
CREATE INDEX alert_wards_ward ON alert_wards(ward);

-- Each copy of an alert to publish, one per subject. A copy JetStream has
-- not acknowledged (published_at NULL) is retried until the alert expires.
CREATE TABLE alert_copies (
	alert        TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	subject      TEXT NOT NULL,
	published_at INTEGER,
	stream_seq   INTEGER,
	PRIMARY KEY (alert, subject)
) WITHOUT ROWID, STRICT;

-- Media an alert plays (content, chime): its wards may fetch them.
CREATE TABLE alert_media (
	alert  TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	sha256 TEXT NOT NULL,
	PRIMARY KEY (alert, sha256)
) WITHOUT ROWID, STRICT;
CREATE INDEX alert_media_sha ON alert_media(sha256);

-- Receipts from the wards, as they came.
CREATE TABLE alert_reports (
	id          INTEGER PRIMARY KEY,
	alert       TEXT NOT NULL,                   -- for an unverified rejection: the id claimed, maybe forged
	verified    INTEGER NOT NULL,
	ward        TEXT NOT NULL,                   -- from the NATS subject, which only that ward may use
	state       TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	at          INTEGER NOT NULL,                -- by the ward's clock, unix ms
	fetch_ms    INTEGER NOT NULL DEFAULT 0,
	received_at INTEGER NOT NULL,                -- by the city's clock
	stream_seq  INTEGER UNIQUE                   -- in REPORTS: a redelivery is not a second row
) STRICT;
CREATE INDEX alert_reports_alert ON alert_reports(alert, ward);
