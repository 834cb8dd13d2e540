DROP TABLE case_policies;
