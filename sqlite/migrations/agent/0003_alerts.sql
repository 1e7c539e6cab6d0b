-- Alerts (issue 6).

-- Alerts this ward accepted: the replay guard (an id seen before is
-- refused, across restarts) and what to resume after a restart. A row is
-- dropped a week after its alert expired: a copy arriving after that is
-- refused as expired anyway (the expiry is signed).
CREATE TABLE alerts_seen (
	id          TEXT PRIMARY KEY,
	stream_seq  INTEGER NOT NULL,          -- ALERTS sequence it came with: a redelivery has the same
	received_at INTEGER NOT NULL,          -- unix ms
	expires     INTEGER NOT NULL,
	state       TEXT NOT NULL,             -- received | started | finished | cancelled | failed | skipped
	envelope    BLOB NOT NULL              -- as received, to resume after a restart
) STRICT;
CREATE INDEX alerts_seen_expires ON alerts_seen(expires);

-- Receipts the city's NATS has not acknowledged yet.
CREATE TABLE alert_outbox (
	id         INTEGER PRIMARY KEY,
	body       BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
