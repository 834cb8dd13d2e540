-- Going down loses the events' structured fields. Events written since
-- 000013 are sealed with them (seal version 2): without the columns they
-- no longer verify. Go down only on a database written by nothing since.
DROP INDEX IF EXISTS events_ref_to_stage;
ALTER TABLE events
    DROP COLUMN IF EXISTS from_stage,
    DROP COLUMN IF EXISTS to_stage,
    DROP COLUMN IF EXISTS move,
    DROP COLUMN IF EXISTS step,
    DROP COLUMN IF EXISTS level,
    DROP COLUMN IF EXISTS agreed,
    DROP COLUMN IF EXISTS resolved,
    DROP COLUMN IF EXISTS closed_status,
    DROP COLUMN IF EXISTS seal_version;
