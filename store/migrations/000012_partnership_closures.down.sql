DROP INDEX cases_open_policy;
DROP TABLE partnership_closures;
