DROP INDEX events_ref_type_stage;
DROP INDEX events_type_at;
DROP INDEX cases_policy_created;
DROP INDEX cases_respondent_agency;
DROP INDEX cases_raiser_agency;
