-- Scoped roles: an operator, alerter or technician may be limited to some
-- wards and groups (a commune's official sees and changes only her
-- commune's clusters). A user without rows here is city-wide; an admin
-- never has rows (city/accounts refuses to scope one).
CREATE TABLE user_scope (
	user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('ward', 'group')),
	name TEXT NOT NULL,
	PRIMARY KEY (user, kind, name)
) STRICT;
