-- The ward agent's database. Everything here can be rebuilt (programs from
-- their files or the city, media from the store), except the as-run log not
-- yet shipped to the city.

CREATE TABLE media (
	sha256        TEXT PRIMARY KEY,
	size          INTEGER NOT NULL,
	name          TEXT NOT NULL DEFAULT '',      -- original file name
	codec         TEXT NOT NULL,
	source_rate   INTEGER NOT NULL,
	channels      INTEGER NOT NULL,
	cache_rate    INTEGER NOT NULL,               -- rate of the decoded cache
	frames        INTEGER NOT NULL,               -- length at cache_rate
	loudness_lufs REAL,                           -- NULL: silent (below the gate)
	true_peak_db  REAL,
	added_at      INTEGER NOT NULL                -- unix ms
) STRICT;

-- One row per origin of programs: "local" (loa-agent program load) and
-- "city" (the manifest). Replacing a row is how a program set is switched,
-- in one transaction.
CREATE TABLE program_source (
	name       TEXT PRIMARY KEY,
	path       TEXT NOT NULL,          -- the file it came from, for messages
	body       BLOB NOT NULL,          -- the program file as loaded (YAML)
	media_map  TEXT NOT NULL,          -- JSON: reference as written -> sha256
	version    TEXT NOT NULL DEFAULT '',
	loaded_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE asrun (
	id            INTEGER PRIMARY KEY,
	program       TEXT NOT NULL,
	source        TEXT NOT NULL DEFAULT '',
	occurrence    INTEGER NOT NULL,     -- scheduled start of the occurrence, unix ms
	part          INTEGER NOT NULL,     -- -1 whole occurrence, 0 chime/first item, ...
	item          TEXT NOT NULL,        -- media reference or stream URL
	kind          TEXT NOT NULL,        -- program | alert | live | relay
	planned_ms    INTEGER NOT NULL,
	actual_ms     INTEGER,              -- NULL: never started
	end_ms        INTEGER,
	result        TEXT NOT NULL,        -- completed | cut | interrupted | failed: reason | ...
	missed_ms     INTEGER NOT NULL DEFAULT 0,
	note          TEXT NOT NULL DEFAULT '',
	shipped       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX asrun_planned ON asrun(planned_ms);
CREATE INDEX asrun_unshipped ON asrun(shipped) WHERE shipped = 0;

CREATE TABLE kv (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
