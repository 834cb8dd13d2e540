-- The written record cannot be altered: every event carries a SHA-256 hash
-- chained to the previous event of the same case, the table refuses UPDATE,
-- DELETE and TRUNCATE, and the application's role may only read and add.

ALTER TABLE events ADD COLUMN prev_hash bytea;
ALTER TABLE events ADD COLUMN hash bytea;

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the case record is append-only: % on events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- The role the application acts as (SET ROLE on every connection).
-- Roles are cluster-wide: another database's migration may create it at
-- the same moment.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'escalate_app') THEN
        CREATE ROLE escalate_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO escalate_app;
GRANT SELECT, INSERT, UPDATE ON cases, case_numbers, notifications, tokens, idempotency_keys TO escalate_app;
GRANT SELECT, INSERT ON events TO escalate_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO escalate_app;
