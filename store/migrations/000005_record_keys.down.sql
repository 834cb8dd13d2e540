-- Dropping the columns loses the seals: the record then reads as unkeyed
-- at best, and events sealed with a key no longer verify at all.
ALTER TABLE cases DROP COLUMN seal_key_id;
ALTER TABLE cases DROP COLUMN seal;
ALTER TABLE events DROP COLUMN key_id;
