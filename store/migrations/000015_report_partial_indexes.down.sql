DROP INDEX IF EXISTS cases_learning;
DROP INDEX IF EXISTS cases_open_policy_due;
