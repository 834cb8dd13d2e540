REVOKE ALL ON events, cases, case_numbers, notifications, tokens, idempotency_keys FROM escalate_app;
REVOKE USAGE ON ALL SEQUENCES IN SCHEMA public FROM escalate_app;
REVOKE USAGE ON SCHEMA public FROM escalate_app;
DROP TRIGGER events_no_truncate ON events;
DROP TRIGGER events_no_update_delete ON events;
DROP FUNCTION events_are_append_only();
ALTER TABLE events DROP COLUMN hash;
ALTER TABLE events DROP COLUMN prev_hash;
