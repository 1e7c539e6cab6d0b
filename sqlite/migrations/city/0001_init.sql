-- The city station's database: wards, users, the media library, programs
-- per target and the signed manifest of every ward. Media files themselves
-- are in the content-addressed store beside it.

CREATE TABLE wards (
	id           TEXT PRIMARY KEY,              -- [a-z0-9-]+
	token_hash   BLOB NOT NULL UNIQUE,          -- sha256 of the ward's token; the token itself is never stored
	created_at   INTEGER NOT NULL,              -- unix ms
	last_seen    INTEGER,                       -- last manifest request, unix ms
	seen_version INTEGER NOT NULL DEFAULT 0     -- manifest version it had at that request
) STRICT;

-- A ward belongs to any number of groups (district, zone, ...).
CREATE TABLE ward_groups (
	ward TEXT NOT NULL REFERENCES wards(id) ON DELETE CASCADE,
	grp  TEXT NOT NULL,
	PRIMARY KEY (ward, grp)
) STRICT;
CREATE INDEX ward_groups_grp ON ward_groups(grp);

CREATE TABLE users (
	name       TEXT PRIMARY KEY,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'alerter', 'technician')),
	token_hash BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) STRICT;

-- One row per canonical file (MP3, 44.1 kHz mono CBR), keyed by its sha256.
CREATE TABLE media (
	sha256          TEXT PRIMARY KEY,
	size            INTEGER NOT NULL,
	rate            INTEGER NOT NULL,
	frames          INTEGER NOT NULL,           -- decoded length at rate
	loudness_lufs   REAL,                       -- NULL: silent (nothing passes the gate)
	true_peak_db    REAL NOT NULL,
	title           TEXT NOT NULL,
	original_name   TEXT NOT NULL,
	original_sha256 TEXT NOT NULL,              -- of the upload, to skip transcoding a re-upload
	original_size   INTEGER NOT NULL,
	added_by        TEXT NOT NULL,
	added_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX media_original ON media(original_sha256);

-- Names by which programs refer to media. A name means one item; an item
-- may have several names (the same content uploaded under two names).
CREATE TABLE media_names (
	name   TEXT PRIMARY KEY,
	sha256 TEXT NOT NULL REFERENCES media(sha256)
) STRICT;
CREATE INDEX media_names_sha ON media_names(sha256);

-- The program file loaded for a target: all, group:G or ward:ID.
CREATE TABLE programs (
	target    TEXT PRIMARY KEY,
	file      TEXT NOT NULL,                    -- the operator's file name, for messages
	body      BLOB NOT NULL,                    -- the file as loaded
	media_map TEXT NOT NULL,                    -- JSON: reference as written -> sha256, fixed at load
	loaded_by TEXT NOT NULL,
	loaded_at INTEGER NOT NULL
) STRICT;

-- The signed manifest served to each ward, rebuilt whenever its effective
-- programs change (content_hash differs), with a higher version.
CREATE TABLE manifests (
	ward          TEXT PRIMARY KEY REFERENCES wards(id) ON DELETE CASCADE,
	version       INTEGER NOT NULL,
	content_hash  TEXT NOT NULL,
	key_id        TEXT NOT NULL,
	etag          TEXT NOT NULL,
	envelope      BLOB NOT NULL,                -- JSON signing.Envelope
	envelope_gzip BLOB NOT NULL,
	issued_at     INTEGER NOT NULL
) STRICT;

-- The media a ward may fetch: those of its current manifest.
CREATE TABLE manifest_media (
	ward   TEXT NOT NULL REFERENCES wards(id) ON DELETE CASCADE,
	sha256 TEXT NOT NULL,
	PRIMARY KEY (ward, sha256)
) WITHOUT ROWID, STRICT;

-- Resumable uploads in progress; the bytes are in the store's tmp folder.
CREATE TABLE uploads (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	title      TEXT NOT NULL,
	size       INTEGER NOT NULL,                -- announced total, -1 if unknown
	replace    INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
