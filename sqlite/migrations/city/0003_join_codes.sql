-- One-time join codes (loa-city ward add / ward code; POST /api/v1/join):
-- only their HMAC is kept.
CREATE TABLE IF NOT EXISTS join_codes (
	code_hash  BLOB PRIMARY KEY,
	ward       TEXT NOT NULL REFERENCES wards(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,  -- unix ms
	expires_at INTEGER NOT NULL,  -- unix ms
	used_at    INTEGER,           -- unix ms; NULL while unused
	used_from  TEXT
) STRICT;
