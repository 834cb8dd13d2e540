-- The deadline an event set (a stage, step or level started; a deadline
-- agreed), so each stage's deadline stays on the record after the case
-- moves on. Part of the event's hash when present; earlier events have none
-- and their hashes are unchanged.
ALTER TABLE events ADD COLUMN due_at timestamptz;
