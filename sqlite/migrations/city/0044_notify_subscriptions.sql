-- Notifications (city/notify): where each user is told when a ward in
-- their scope goes wrong, and of what. One row per user; rules is a
-- comma-separated list (offline,silent,out_of_sync,clock,disk,alert_late).
CREATE TABLE notify_subscriptions (
	user       TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
	email      TEXT NOT NULL DEFAULT '',
	telegram   TEXT NOT NULL DEFAULT '',
	webhook    TEXT NOT NULL DEFAULT '',
	rules      TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL
) STRICT;
