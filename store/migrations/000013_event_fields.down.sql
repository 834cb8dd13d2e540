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
