-- The city's signed commands to wards (docs/commands.md) and every ack a
-- ward sent back: done, failed, or refused with its reason. An ack may
-- name a command the city never sent (a forged one a ward refused): it is
-- kept all the same, that is how the city hears of the attempt.
CREATE TABLE commands (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	args         TEXT NOT NULL DEFAULT '{}',  -- JSON (command.Args)
	targets      TEXT NOT NULL,               -- all | w1,w2,group:g
	recipients   TEXT NOT NULL DEFAULT '[]',  -- JSON list of ward ids
	sender       TEXT NOT NULL DEFAULT '',
	issued       INTEGER NOT NULL,
	expires      INTEGER NOT NULL,
	envelope     BLOB NOT NULL,
	published_at INTEGER                      -- NULL: not yet taken by JetStream
) STRICT;

CREATE TABLE command_acks (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	command     TEXT NOT NULL,
	ward        TEXT NOT NULL,
	verified    INTEGER NOT NULL,
	state       TEXT NOT NULL,                -- done | failed | refused
	reason      TEXT NOT NULL DEFAULT '',
	at          INTEGER NOT NULL,
	detail      TEXT NOT NULL DEFAULT '{}',   -- JSON: level_dbfs, volume_db
	signed      INTEGER NOT NULL DEFAULT 0,
	stream_seq  INTEGER NOT NULL DEFAULT 0,
	received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX command_acks_command ON command_acks(command);
CREATE INDEX command_acks_at ON command_acks(received_at);
