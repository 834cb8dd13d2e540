DROP TABLE IF EXISTS partnership_meetings;
DROP INDEX IF EXISTS cases_policy_respondent_agency_id;
DROP INDEX IF EXISTS cases_policy_raiser_agency_id;
ALTER TABLE cases DROP COLUMN IF EXISTS respondent_agency_id, DROP COLUMN IF EXISTS raiser_agency_id;
