-- Fleet health (docs/monitoring.md). Heartbeats are kept in memory only:
-- what is written is a ward's state when it changes, with the heartbeat
-- that changed it, so that a restarted city knows where every ward stood.

CREATE TABLE ward_health (
	ward      TEXT PRIMARY KEY,                 -- not a foreign key: a heartbeat may precede the registry's refresh
	state     TEXT NOT NULL,                    -- on air | idle | silent! | late | offline | clock! | device! | out of sync
	since     INTEGER NOT NULL,                 -- unix ms
	problems  TEXT NOT NULL DEFAULT '[]',       -- JSON [{state, detail}]
	last_seen INTEGER,                          -- last heartbeat, unix ms; NULL: never
	heartbeat BLOB                              -- that heartbeat (JSON)
) STRICT;

CREATE TABLE ward_state_changes (
	id         INTEGER PRIMARY KEY,
	ward       TEXT NOT NULL,
	at         INTEGER NOT NULL,                -- unix ms
	from_state TEXT NOT NULL,
	to_state   TEXT NOT NULL,
	problems   TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX ward_state_changes_ward ON ward_state_changes(ward, at);
CREATE INDEX ward_state_changes_at ON ward_state_changes(at);

-- The wards' broadcast logs (nhật ký phát sóng), shipped through the
-- JetStream stream ASRUN. (ward, ward_entry, planned_ms) is the entry's
-- identity: a second copy is ignored.
CREATE TABLE asrun (
	id          INTEGER PRIMARY KEY,
	ward        TEXT NOT NULL,
	ward_entry  INTEGER NOT NULL,               -- the ward's own row id
	program     TEXT NOT NULL,
	source      TEXT NOT NULL DEFAULT '',
	occurrence  INTEGER NOT NULL,
	part        INTEGER NOT NULL,
	item        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	planned_ms  INTEGER NOT NULL,
	actual_ms   INTEGER,
	end_ms      INTEGER,
	result      TEXT NOT NULL,
	missed_ms   INTEGER NOT NULL DEFAULT 0,
	note        TEXT NOT NULL DEFAULT '',
	received_at INTEGER NOT NULL,
	UNIQUE (ward, ward_entry, planned_ms)
) STRICT;
CREATE INDEX asrun_ward_planned ON asrun(ward, planned_ms);
