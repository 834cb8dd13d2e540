-- The API and the worker log in as escalate_app itself (or as a role the
-- deployer grants it), never as a superuser that merely SET ROLEs to it:
-- RESET ROLE would take such a session back to the superuser, who can
-- switch the record's triggers off. store.Open refuses a privileged login.
--
-- Roles are cluster-wide: another database's migration may alter it at the
-- same moment ("tuple concurrently updated"); then it is done already.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'escalate_app' AND rolcanlogin) THEN
        ALTER ROLE escalate_app WITH LOGIN;
    END IF;
EXCEPTION WHEN internal_error THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'escalate_app' AND rolcanlogin) THEN
        RAISE;
    END IF;
END
$$;
