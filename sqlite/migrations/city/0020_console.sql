-- The web console: people log in with a password (argon2id, PHC string),
-- accounts can be disabled, browsers hold sessions, and every change is
-- written to the audit log.
ALTER TABLE users ADD COLUMN password_hash TEXT;            -- NULL: no console log-in (API token only)
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0; -- a one-time password: change it at the first log-in
ALTER TABLE users ADD COLUMN disabled_at INTEGER;           -- unix ms; a disabled user neither logs in nor uses a token

CREATE TABLE sessions (
	id_hash    TEXT PRIMARY KEY,     -- sha256 of the cookie's value; the value itself is never stored
	user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	created_at INTEGER NOT NULL,     -- unix ms
	expires_at INTEGER NOT NULL,     -- unix ms
	address    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions(user);

-- Who changed what, when, from where. Rows are only ever added.
CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,        -- unix ms
	actor   TEXT NOT NULL,           -- user name, "ward:ID" or "loa-city" (the command line)
	action  TEXT NOT NULL,           -- e.g. user.add, media.upload, programs.put, alert.send
	target  TEXT NOT NULL DEFAULT '',
	detail  TEXT NOT NULL DEFAULT '',
	address TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_actor ON audit(actor, at);
