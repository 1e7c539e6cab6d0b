-- Every CAP message the city received (POST /api/v1/cap or a polled
-- feed) with what came of it: played, updated, cancelled, or refused
-- and why; the alert it became. sender and identifier are how CAP
-- references a message.
CREATE TABLE cap_messages (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	received_at INTEGER NOT NULL,
	via         TEXT NOT NULL,               -- user:NAME or feed:URL
	sender      TEXT NOT NULL DEFAULT '',
	identifier  TEXT NOT NULL DEFAULT '',
	sent        TEXT NOT NULL DEFAULT '',
	msg_type    TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL DEFAULT '',
	signer      TEXT NOT NULL DEFAULT '',    -- certificate subject, if signed
	outcome     TEXT NOT NULL,               -- played | updated | cancelled | refused
	reason      TEXT NOT NULL DEFAULT '',
	alert       TEXT NOT NULL DEFAULT '',    -- loa alert id it became or stopped
	headline    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX cap_messages_key ON cap_messages(sender, identifier);
