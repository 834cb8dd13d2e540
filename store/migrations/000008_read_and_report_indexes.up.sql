-- Indexes the list and report queries need (EXPLAIN in store/plan_test.go):
-- a manager's list matches either agency; the report counts the deadlines
-- missed in a period by event type and time, and the highest stage each
-- case reached; it selects a policy's cases by when they were raised.
CREATE INDEX cases_raiser_agency ON cases (raiser_agency);
CREATE INDEX cases_respondent_agency ON cases (respondent_agency);
CREATE INDEX cases_policy_created ON cases (policy, created_at);
CREATE INDEX events_type_at ON events (type, at);
CREATE INDEX events_ref_type_stage ON events (ref, type, stage);
