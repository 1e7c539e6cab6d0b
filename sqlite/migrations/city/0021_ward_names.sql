-- A ward's name as people write it ("Phường Bến Nghé", with its
-- diacritics) beside its ASCII id, and where its station is, for maps.
ALTER TABLE wards ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE wards ADD COLUMN lat REAL;   -- degrees north; NULL: not known
ALTER TABLE wards ADD COLUMN lon REAL;   -- degrees east
