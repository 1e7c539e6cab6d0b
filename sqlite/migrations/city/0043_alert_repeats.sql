-- Alerts repeated every N hours until replaced, cancelled or an end (the
-- disaster practice of QĐ 18/2021; docs/alerts.md "Repeat until"). The
-- city re-sends the request as an Update of the last alert sent when next
-- comes; kept here so that a restarted city keeps the schedule.
CREATE TABLE alert_repeats (
	id        TEXT PRIMARY KEY,    -- the first alert sent
	sent_by   TEXT NOT NULL,
	request   TEXT NOT NULL,       -- the request as JSON (api.NewAlert), re-planned each time
	every_ms  INTEGER NOT NULL,
	until_at  INTEGER NOT NULL,    -- unix ms: nothing is re-sent at or after it
	next_at   INTEGER NOT NULL,    -- unix ms: the next re-send
	last      TEXT NOT NULL,       -- the last alert sent
	sent      INTEGER NOT NULL DEFAULT 1,
	state     TEXT NOT NULL DEFAULT 'active', -- active | ended | stopped | failed
	reason    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX alert_repeats_state ON alert_repeats(state);
