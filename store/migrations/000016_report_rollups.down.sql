DROP INDEX IF EXISTS cases_open_policy_due;
CREATE INDEX cases_open_policy_due ON cases (policy, due_at) WHERE closed_at IS NULL;
DROP INDEX IF EXISTS cases_resolved_policy_created;
DROP TRIGGER IF EXISTS report_deadline_passed ON events;
DROP TRIGGER IF EXISTS report_event_recorded ON events;
DROP TRIGGER IF EXISTS report_case_policy_changed ON cases;
DROP TRIGGER IF EXISTS report_cases_updated ON cases;
DROP TRIGGER IF EXISTS report_cases_inserted ON cases;
DROP FUNCTION IF EXISTS report_rebuild();
DROP FUNCTION IF EXISTS report_deadline_passed();
DROP FUNCTION IF EXISTS report_event_recorded();
DROP FUNCTION IF EXISTS report_case_policy_changed();
DROP FUNCTION IF EXISTS report_cases_changed();
DROP FUNCTION IF EXISTS report_rebuilding();
DROP FUNCTION IF EXISTS report_lock(text);
DROP TABLE IF EXISTS report_deadlines;
DROP TABLE IF EXISTS report_raised;
DROP FUNCTION IF EXISTS report_raised_keys(text, text, text, text, text, integer, text);
DROP FUNCTION IF EXISTS report_day(timestamptz);
ALTER TABLE cases
    DROP COLUMN IF EXISTS highest_stage,
    DROP COLUMN IF EXISTS max_to_stage,
    DROP COLUMN IF EXISTS resolved_seq,
    DROP COLUMN IF EXISTS resolved_stage,
    DROP COLUMN IF EXISTS resolved_at;
