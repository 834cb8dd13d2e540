-- The record is sealed with keys PostgreSQL does not hold (RECORD_KEY), so
-- that whoever can change the database, even its superuser, cannot change
-- the record without verification finding it: a plain hash chain they can
-- simply recompute.
--
-- key_id: the record key whose HMAC-SHA256 is in hash; NULL for events
-- recorded before this, whose hash is the plain SHA-256 (verification names
-- them as unkeyed).
ALTER TABLE events ADD COLUMN key_id text;

-- The case row's seal, written with every step: an HMAC over the row's
-- columns, its snapshot as PostgreSQL prints it, and where its record ends
-- (how many events, the last one's seq and seal), so an edited status,
-- parties or summary, or events removed from the end, are found.
ALTER TABLE cases ADD COLUMN seal bytea;
ALTER TABLE cases ADD COLUMN seal_key_id text;
