-- Dropping the column loses the deadlines recorded on events.
ALTER TABLE events DROP COLUMN due_at;
